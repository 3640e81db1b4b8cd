"""Post pages: upload, edit, delete, and the photos themselves. A post's own page, with its
comments and similar posts, is app/main's (it gathers social and search too)."""
from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from app.auth.tokens import cookie_user_id, defers_viewer, login_required, page_viewer
from app.auth.verification import refuse_unverified
from app.core.db import get_db, get_fs
from app.core.errors import GlimpseError
from app.core.jobs.worker import wake_workers
from app.media.serving import send_stored_file
from app.posts import services
from app.posts.mentions import with_mention_links
from app.posts.photo_files import photo_file
from app.posts.requests import upload_limits, uploaded_photos

bp = Blueprint("posts", __name__)
bp.add_app_template_filter(with_mention_links, "with_mentions")


@bp.route("/upload", methods=["GET", "POST"])
@login_required
def upload() -> ResponseReturnValue:
    if request.method == "GET":
        return render_template("posts/upload.html")
    db = get_db()
    try:
        refuse_unverified(g.user)
        post = services.publish_photos(db, get_fs(), author=g.user, uploads=uploaded_photos(),
                                       caption=request.form.get("caption", ""), limits=upload_limits())
    except GlimpseError as error:
        return render_template("posts/upload.html", error=error.message, caption=request.form.get("caption", "")), error.status
    wake_workers()
    return redirect(url_for("main.post", post_id=post["_id"]))


@bp.post("/p/<post_id>/edit")
@login_required
def edit(post_id: str) -> ResponseReturnValue:
    db = get_db()
    post = services.get_visible_post(db, post_id, g.user)
    changes: dict[str, str | list[str]] = {name: request.form[name] for name in ("caption", "alt_text") if name in request.form}
    if request.form.getlist("remove_tags"):
        changes["remove_tags"] = request.form.getlist("remove_tags")
    try:
        services.update_post(db, post, g.user, changes)
    except GlimpseError as error:
        flash(error.message, "error")
    else:
        flash("Post updated.", "success")
    return redirect(url_for("main.post", post_id=post_id))


@bp.post("/p/<post_id>/delete")
@login_required
def delete(post_id: str) -> ResponseReturnValue:
    db = get_db()
    services.delete_post(db, services.get_visible_post(db, post_id, g.user), g.user)
    flash("Post deleted.", "success")
    return redirect(url_for("main.profile", username=g.user["username"]))


@bp.get("/photos/<post_id>/<int:index>/<any(original, large, thumb):rendition>")
@defers_viewer
def photo(post_id: str, index: int, rendition: str) -> ResponseReturnValue:
    config = current_app.config
    file_id, shared = photo_file(get_db(), post_id, index, rendition, cookie_user_id(), page_viewer,
                                 config["PHOTO_LOOKUP_SECONDS"], config["NSFW_HOLD_THRESHOLD"])
    return send_stored_file(get_fs(), file_id, public_seconds=config["PHOTO_CACHE_SECONDS"] if shared else 0)
