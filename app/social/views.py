"""Social pages and form actions: follow, like, comment, save, notifications, profile settings."""
from bson import ObjectId
from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response as WerkzeugResponse

from app.auth.services import get_active_user
from app.auth.tokens import login_required
from app.auth.verification import refuse_unverified
from app.core.db import get_db, get_fs
from app.core.errors import GlimpseError, NotFoundError
from app.core.urls import safe_next
from app.media.serving import send_stored_file
from app.posts import services as posts
from app.posts.requests import upload_limits, uploaded_photos
from app.social import blocks, privacy, profiles
from app.social import services as social
from app.social.presenter import present_posts

bp = Blueprint("social", __name__)


@bp.app_context_processor
def unread_notifications() -> dict[str, int]:
    return {"unread_notifications": social.unread_count(g.user) if g.get("user") else 0}


def back(default: str) -> WerkzeugResponse:
    return redirect(safe_next(request.form.get("next"), default))


@bp.post("/u/<username>/follow")
@login_required
def follow(username: str) -> ResponseReturnValue:
    refuse_unverified(g.user)
    privacy.follow_or_request(get_db(), g.user, blocks.get_visible_user(get_db(), username, g.user))
    return back(url_for("main.profile", username=username))


@bp.post("/u/<username>/unfollow")
@login_required
def unfollow(username: str) -> ResponseReturnValue:
    privacy.unfollow_or_withdraw(get_db(), g.user, blocks.get_visible_user(get_db(), username, g.user))
    return back(url_for("main.profile", username=username))


@bp.get("/u/<username>/<any(followers, following):direction>")
def follow_list(username: str, direction: str) -> ResponseReturnValue:
    user = blocks.get_visible_user(get_db(), username, g.user)
    users, next_cursor = social.follow_list(get_db(), user, direction, request.args.get("cursor"), 50)
    return render_template("social/follow_list.html", profile=user, direction=direction, users=users, next_cursor=next_cursor)


RELATION_CHANGES = {"block": (blocks.block, "Blocked @{}."), "unblock": (blocks.unblock, "Unblocked @{}."),
                    "mute": (blocks.mute, "Muted @{}."), "unmute": (blocks.unmute, "Unmuted @{}.")}


@bp.post("/u/<username>/<any(block, unblock, mute, unmute):change>")
@login_required
def relation(username: str, change: str) -> ResponseReturnValue:
    change_relation, message = RELATION_CHANGES[change]
    change_relation(get_db(), g.user, blocks.get_visible_user(get_db(), username, g.user))
    flash(message.format(username), "success")
    return back(url_for("main.profile", username=username))


LISTED_MAX = 500  # on the settings page; the API pages through any number


@bp.get("/settings/blocked")
@login_required
def blocked_and_muted() -> ResponseReturnValue:
    db = get_db()
    blocked, _ = blocks.related_users(db, blocks.BLOCK, g.user, None, LISTED_MAX)
    muted, _ = blocks.related_users(db, blocks.MUTE, g.user, None, LISTED_MAX)
    return render_template("social/blocked.html", blocked=blocked, muted=muted)


@bp.route("/settings/privacy", methods=["GET", "POST"])
@login_required
def privacy_settings() -> ResponseReturnValue:
    db = get_db()
    if request.method == "POST":
        private = request.form.get("private") == "on"
        privacy.set_private(db, g.user, private)
        flash("Your account is now private." if private else "Your account is now public.", "success")
        return redirect(url_for("social.privacy_settings"))
    requests, _ = privacy.follow_requests(db, g.user, None, LISTED_MAX)
    return render_template("social/privacy.html", requests=requests)


@bp.post("/settings/follow-requests/<username>/<any(approve, decline):answer>")
@login_required
def answer_follow_request(username: str, answer: str) -> ResponseReturnValue:
    (privacy.approve if answer == "approve" else privacy.decline)(get_db(), g.user, get_active_user(get_db(), username))
    flash(f"{'Approved' if answer == 'approve' else 'Declined'} @{username}.", "success")
    return redirect(url_for("social.privacy_settings"))


@bp.post("/p/<post_id>/like")
@login_required
def like(post_id: str) -> ResponseReturnValue:
    db = get_db()
    post = posts.get_visible_post(db, post_id, g.user)
    if request.form.get("action") == "unlike":
        social.unlike(db, g.user, post)
    else:
        refuse_unverified(g.user)
        social.like(db, g.user, post)
    return back(url_for("main.post", post_id=post_id))


@bp.post("/p/<post_id>/comments")
@login_required
def comment(post_id: str) -> ResponseReturnValue:
    db = get_db()
    try:
        refuse_unverified(g.user)
        social.add_comment(db, g.user, posts.get_visible_post(db, post_id, g.user), request.form.get("text", ""))
    except GlimpseError as error:
        flash(error.message, "error")
    return redirect(url_for("main.post", post_id=post_id) + "#comments")


@bp.post("/comments/<comment_id>/delete")
@login_required
def delete_comment(comment_id: str) -> ResponseReturnValue:
    social.delete_comment(get_db(), g.user, comment_id)
    flash("Comment deleted.", "success")
    return back(url_for("main.index"))


@bp.post("/p/<post_id>/save")
@login_required
def save(post_id: str) -> ResponseReturnValue:
    db = get_db()
    post = posts.get_visible_post(db, post_id, g.user)
    if request.form.get("action") == "unsave":
        social.unsave(db, g.user, post)
    else:
        social.save(db, g.user, post, request.form.get("collection"))
    return back(url_for("main.post", post_id=post_id))


@bp.get("/saved")
@bp.get("/saved/<name>")
@login_required
def saved(name: str = social.DEFAULT_COLLECTION) -> ResponseReturnValue:
    db = get_db()
    documents, next_cursor = social.saved_posts(db, g.user, name, request.args.get("cursor"), 24)
    return render_template("social/saved.html", collections=social.saved_collections(db, g.user), name=name,
                           posts=present_posts(db, documents, g.user), next_cursor=next_cursor)


@bp.get("/notifications")
@login_required
def notifications() -> ResponseReturnValue:
    db = get_db()
    rows, next_cursor = social.notifications(db, g.user, request.args.get("cursor"), 50)
    items = profiles.present_notifications(db, rows)
    social.mark_all_read(db, g.user)
    return render_template("social/notifications.html", notifications=items, next_cursor=next_cursor)


@bp.route("/settings/profile", methods=["GET", "POST"])
@login_required
def settings() -> ResponseReturnValue:
    if request.method == "POST":
        db, photos = get_db(), uploaded_photos()
        try:
            user = profiles.update_bio(db, g.user, request.form.get("bio", ""))
            if photos:
                profiles.set_avatar(db, get_fs(), user, photos, upload_limits())
        except GlimpseError as error:
            return render_template("social/settings.html", error=error.message), error.status
        flash("Profile saved.", "success")
        return redirect(url_for("main.profile", username=g.user["username"]))
    return render_template("social/settings.html")


@bp.get("/avatars/<file_id>")
def avatar(file_id: str) -> ResponseReturnValue:
    # Only avatars: this route must never hand out a post's photo by its file id.
    if not ObjectId.is_valid(file_id) or not get_db().fs.files.find_one(
            {"_id": ObjectId(file_id), "metadata.kind": "avatar"}, {"_id": 1}):
        raise NotFoundError("No such avatar.")
    # Anyone may see an avatar, and its owner may replace it (a new URL) or lose it with their
    # account: caches keep it as briefly as a published photo.
    return send_stored_file(get_fs(), ObjectId(file_id), public_seconds=current_app.config["PHOTO_CACHE_SECONDS"])
