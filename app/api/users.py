"""Users, follows, notifications and avatars."""
from flask import current_app, request, url_for
from flask_jwt_extended import current_user, jwt_required

from app.accounts import export
from app.accounts.deletion import begin_deletion
from app.accounts.views import send_export
from app.api import bp
from app.api.posts import optional_viewer, post_list
from app.api.schemas import (
    AccountDeletionBody,
    AccountDeletionSchema,
    AvatarUpload,
    BioBody,
    ExportSchema,
    MeSchema,
    NotificationListSchema,
    PageQuery,
    PostListSchema,
    ProfileSchema,
    UserListSchema,
)
from app.auth.services import get_active_user, private_user, public_user
from app.core.db import get_db, get_fs
from app.core.jobs.worker import wake_workers
from app.core.pagination import page_size
from app.core.statuses import UserStatus
from app.feeds import services as feeds
from app.posts.presenter import avatar_url
from app.posts.requests import photo_bytes, upload_limits
from app.social import profiles
from app.social import services as social

NO_SUCH_USER = "No such user"


def profile_json(user: dict, viewer: dict | None) -> dict:
    return {**public_user(user), "avatar_url": avatar_url(user),
            "follower_count": user.get("follower_count", 0), "following_count": user.get("following_count", 0),
            "followed_by_me": social.is_following(get_db(), viewer, user)}


@bp.get("/me")
@jwt_required()
@bp.token_required
@bp.response(200, MeSchema)
def me():
    """The signed-in account, with its unread notification count"""
    return {**private_user(current_user), **profile_json(current_user, None),
            "unread_notifications": social.unread_count(get_db(), current_user)}


@bp.patch("/me")
@jwt_required()
@bp.token_required
@bp.arguments(BioBody)
@bp.response(200, MeSchema)
def update_me(changes: dict):
    """Change the bio"""
    user = profiles.update_bio(get_db(), current_user, changes["bio"])
    return {**private_user(user), **profile_json(user, None)}


@bp.delete("/me")
@jwt_required()
@bp.token_required
@bp.arguments(AccountDeletionBody)
@bp.fails(422, "Wrong password")
@bp.fails(429, "Too many wrong passwords: try again later")
@bp.response(202, AccountDeletionSchema)
def delete_me(body: dict):
    """Delete the account: every token stops working and its profile and posts are gone at once; a
    background job then removes all of it (posts, photos, comments, likes, follows...)"""
    begin_deletion(get_db(), current_user, body["password"], client_address=request.remote_addr,
                   rounds=current_app.config["BCRYPT_ROUNDS"])
    wake_workers(current_app._get_current_object())
    return {"status": UserStatus.DELETING}


def export_json(found: dict | None) -> dict:
    return export.present_export(found, lambda ready: url_for("api.download_export", export_id=ready["_id"],
                                                              _external=True))


@bp.post("/me/export")
@jwt_required()
@bp.token_required
@bp.response(202, ExportSchema)
def request_export():
    """Ask for a zip of the account's data (profile, posts, comments, original photos); it is mailed
    as a link when ready, and deleted a day later. Asking while one is being prepared answers that one"""
    found = export.request_export(get_db(), current_user)
    wake_workers(current_app._get_current_object())
    return export_json(found)


@bp.get("/me/export")
@jwt_required()
@bp.token_required
@bp.response(200, ExportSchema)
def export_state():
    """The account's data export: its state, progress and, when ready, where to download it"""
    return export_json(export.current_export(get_db(), current_user))


@bp.get("/me/exports/<export_id>")
@jwt_required()
@bp.token_required
@bp.fails(404, export.NO_SUCH_EXPORT)
@bp.response(200, description="The zip (application/zip)", content_type="application/zip")
def download_export(export_id: str):
    """Download the account's data export (only its owner can)"""
    return send_export(export.downloadable_export(get_db(), current_user, export_id))


@bp.put("/me/avatar")
@jwt_required()
@bp.token_required
@bp.arguments(AvatarUpload, location="multipart")
@bp.response(200, ProfileSchema)
def set_avatar(upload: dict):
    """Set the avatar (one photo)"""
    user = profiles.set_avatar(get_db(), get_fs(), current_user, photo_bytes(upload["photos"]), upload_limits())
    return profile_json(user, None)


@bp.get("/users/<username>")
@bp.token_optional
@bp.fails(404, NO_SUCH_USER)
@bp.response(200, ProfileSchema)
def user_profile(username: str):
    """A user's public profile"""
    return profile_json(get_active_user(get_db(), username), optional_viewer())


@bp.get("/users/<username>/posts")
@bp.token_optional
@bp.fails(404, NO_SUCH_USER)
@bp.arguments(PageQuery, location="query")
@bp.response(200, PostListSchema)
def user_posts(page: dict, username: str):
    """A user's posts, newest first"""
    db, viewer = get_db(), optional_viewer()
    documents, next_cursor = feeds.profile_posts(db, get_active_user(db, username), page.get("cursor"),
                                                 page_size(page.get("limit")))
    return post_list(db, documents, next_cursor, viewer)


@bp.route("/users/<username>/follow", methods=["PUT", "DELETE"])
@jwt_required()
@bp.token_required
@bp.fails(404, NO_SUCH_USER)
@bp.fails(422, "You cannot follow yourself")
@bp.response(200, ProfileSchema, description="The profile as it now is")
def follow(username: str):
    """Follow (PUT) or unfollow (DELETE)"""
    change = social.follow if request.method == "PUT" else social.unfollow
    change(get_db(), current_user, get_active_user(get_db(), username))
    return profile_json(get_active_user(get_db(), username), current_user)


@bp.get("/users/<username>/<any(followers, following):direction>")
@bp.fails(404, NO_SUCH_USER)
@bp.arguments(PageQuery, location="query")
@bp.response(200, UserListSchema)
def follow_list(page: dict, username: str, direction: str):
    """Who follows the user (followers), or whom the user follows (following)"""
    users, next_cursor = social.follow_list(get_db(), get_active_user(get_db(), username), direction,
                                            page.get("cursor"), page_size(page.get("limit")))
    return {"results": [public_user(user) for user in users], "next_cursor": next_cursor}


@bp.get("/notifications")
@jwt_required()
@bp.token_required
@bp.arguments(PageQuery, location="query")
@bp.response(200, NotificationListSchema)
def notifications(page: dict):
    """Notifications (follow, like, comment), newest first, with the unread count"""
    db = get_db()
    rows, next_cursor = social.notifications(db, current_user, page.get("cursor"), page_size(page.get("limit")))
    return {"results": profiles.present_notifications(db, rows), "next_cursor": next_cursor,
            "unread": social.unread_count(db, current_user)}


@bp.post("/notifications/read")
@jwt_required()
@bp.token_required
@bp.no_content("Done")
def read_notifications():
    """Mark every notification read"""
    social.mark_all_read(get_db(), current_user)
    return "", 204
