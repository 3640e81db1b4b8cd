"""Pages: sharing without an account, its status link, reports, and the moderators' queue."""
from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from app.auth.permissions import STAFF, page_roles
from app.auth.tokens import login_required
from app.core.db import get_db, get_fs
from app.core.errors import GlimpseError, NotFoundError
from app.core.urls import safe_next
from app.moderation import services
from app.moderation.anonymous import present_status, publish_anonymous_upload
from app.moderation.presenter import present_queue
from app.posts.requests import uploaded_photos

bp = Blueprint("moderation", __name__)


@bp.route("/share", methods=["GET", "POST"])
def share_anonymously() -> ResponseReturnValue:
    if not current_app.config["ANONYMOUS_POSTS"]:
        return render_template("errors/error.html", status=404, message="Anonymous posting is turned off here."), 404
    if request.method == "GET":
        return render_template("moderation/share.html")
    try:
        _, token = publish_anonymous_upload(get_db(), get_fs(), uploaded_photos(), request.form.get("caption", ""))
    except GlimpseError as error:
        return render_template("moderation/share.html", error=error.message, caption=request.form.get("caption", "")), error.status
    return redirect(url_for("moderation.anonymous_status", token=token, new=1))


@bp.get("/status/<token>")
def anonymous_status(token: str) -> ResponseReturnValue:
    post = services.anonymous_post_for_token(get_db(), token)
    return render_template("moderation/status.html", status=present_status(post), token=token,
                           just_shared=bool(request.args.get("new")))


@bp.post("/status/<token>/withdraw")
def withdraw(token: str) -> ResponseReturnValue:
    services.withdraw_anonymous_post(get_db(), token)
    flash("Your post is withdrawn and deleted.", "success")
    return redirect(url_for("main.index"))


@bp.post("/<any(p, comments):kind>/<target_id>/report")
@login_required
def report(kind: str, target_id: str) -> ResponseReturnValue:
    target_type = "post" if kind == "p" else "comment"
    try:
        services.report(get_db(), g.user, target_type, target_id, request.form.get("reason", ""),
                        current_app.config["REPORTS_TO_HIDE"])
        flash("Thanks, a moderator will look at it.", "success")
    except NotFoundError:
        raise  # nothing to go back to: the 404 page, as for any post this person cannot see
    except GlimpseError as error:
        flash(error.message, "error")
    return redirect(safe_next(request.form.get("next"), url_for("main.index")))


@bp.get("/moderation")
@page_roles(*STAFF)
def queue() -> ResponseReturnValue:
    sort = "nsfw" if request.args.get("sort") == "nsfw" else "age"
    return render_template("moderation/queue.html", items=present_queue(get_db(), services.review_queue(get_db(), sort)),
                           sort=sort)


@bp.post("/moderation/<any(posts, comments):kind>/<target_id>/<any(approve, reject):decision>")
@page_roles(*STAFF)
def decide(kind: str, target_id: str, decision: str) -> ResponseReturnValue:
    decide_item = services.decide_post if kind == "posts" else services.decide_comment
    try:
        decide_item(get_db(), g.user, target_id, decision, request.form.get("reason", ""))
        flash(f"{'Approved' if decision == 'approve' else 'Rejected'}.", "success")
    except GlimpseError as error:
        flash(error.message, "error")
    return redirect(url_for("moderation.queue", sort=request.form.get("sort", "age")))
