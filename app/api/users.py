"""Users, follows, notifications and avatars."""
from flask import request
from flask_jwt_extended import current_user, jwt_required

from app.api import bp
from app.api.posts import optional_viewer, post_list
from app.api.schemas import (
    AvatarUpload,
    BioBody,
    EmailChangeBody,
    MeSchema,
    MessageSchema,
    NotificationListSchema,
    PageQuery,
    PostListSchema,
    ProfileSchema,
    UserListSchema,
)
from app.auth import verification
from app.auth.services import get_active_user, private_user, public_user
from app.core.db import get_db, get_fs
from app.core.pagination import page_size
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


@bp.post("/me/verification")
@jwt_required()
@bp.token_required
@bp.fails(409, "Already verified")
@bp.fails(429, "Too many links asked for; see the Retry-After header")
@bp.response(202, MessageSchema, description="A new link is on its way")
def send_verification_again():
    """Mail the link that verifies the account's address (or its pending new one) again"""
    user = verification.send_again(current_user)
    return {"message": f"A new link is on its way to {user['email_verification']['email']}."}, 202


@bp.put("/me/email")
@jwt_required()
@bp.token_required
@bp.fails(409, "That email is already taken")
@bp.fails(422, "Invalid address, wrong password, or the current address")
@bp.fails(429, "Too many links asked for; see the Retry-After header")
@bp.arguments(EmailChangeBody)
@bp.response(202, MeSchema, description="The account, its new address pending")
def change_email(body: dict):
    """Change the email address: the new one takes effect once the link mailed to it is opened; the
    current one is told"""
    user = verification.change_email(current_user, body["email"], body["password"])
    return {**private_user(user), **profile_json(user, None)}, 202


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
@bp.fails(403, verification.UNVERIFIED_DOC)
@bp.fails(422, "You cannot follow yourself")
@bp.response(200, ProfileSchema, description="The profile as it now is")
def follow(username: str):
    """Follow (PUT) or unfollow (DELETE); following needs a verified address"""
    if request.method == "PUT":
        verification.refuse_unverified(current_user)
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
