"""Users, follows, notifications and avatars."""
from flask import current_app, request, url_for
from flask.typing import ResponseReturnValue
from flask_jwt_extended import current_user

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
    EmailChangeBody,
    ExportSchema,
    MeSchema,
    MessageSchema,
    NotificationListSchema,
    PageQuery,
    PostListSchema,
    PrivacyBody,
    PrivacySchema,
    ProfileSchema,
    RelatedProfileSchema,
    UserListSchema,
)
from app.auth import verification
from app.auth.services import get_active_user, private_user, public_user
from app.auth.tokens import access_token_required
from app.core.db import get_db, get_fs
from app.core.jobs.worker import wake_workers
from app.core.pagination import page_size
from app.core.statuses import UserStatus
from app.feeds import services as feeds
from app.posts.presenter import avatar_url
from app.posts.requests import photo_bytes, upload_limits
from app.social import blocks, privacy, profiles
from app.social import services as social

NO_SUCH_USER = "No such user"


def profile_json(user: dict, viewer: dict | None) -> dict:
    return {**public_user(user), "avatar_url": avatar_url(user),
            "follower_count": user.get("follower_count", 0), "following_count": user.get("following_count", 0),
            "followed_by_me": social.is_following(get_db(), viewer, user)}


@bp.get("/me")
@access_token_required
@bp.token_required
@bp.response(200, MeSchema)
def me() -> ResponseReturnValue:
    """The signed-in account, with its unread notification count"""
    return {**private_user(current_user), **profile_json(current_user, None),
            "unread_notifications": social.unread_count(current_user)}


@bp.patch("/me")
@access_token_required
@bp.token_required
@bp.arguments(BioBody)
@bp.response(200, MeSchema)
def update_me(changes: dict) -> ResponseReturnValue:
    """Change the bio"""
    user = profiles.update_bio(get_db(), current_user, changes["bio"])
    return {**private_user(user), **profile_json(user, None)}


@bp.delete("/me")
@access_token_required
@bp.token_required
@bp.arguments(AccountDeletionBody)
@bp.fails(422, "Wrong password")
@bp.fails(429, "Too many wrong passwords: try again later")
@bp.response(202, AccountDeletionSchema)
def delete_me(body: dict) -> ResponseReturnValue:
    """Delete the account: every token stops working and its profile and posts are gone at once; a
    background job then removes all of it (posts, photos, comments, likes, follows...)"""
    begin_deletion(get_db(), current_user, body["password"], client_address=request.remote_addr,
                   rounds=current_app.config["BCRYPT_ROUNDS"])
    wake_workers()
    return {"status": UserStatus.DELETING}


def export_json(found: dict | None) -> dict:
    return export.present_export(found, lambda ready: url_for("api.download_export", export_id=ready["_id"],
                                                              _external=True))


@bp.post("/me/export")
@access_token_required
@bp.token_required
@bp.response(202, ExportSchema)
def request_export() -> ResponseReturnValue:
    """Ask for a zip of the account's data (profile, posts, comments, original photos); it is mailed
    as a link when ready, and deleted a day later. Asking while one is being prepared answers that one"""
    found = export.request_export(get_db(), current_user)
    wake_workers()
    return export_json(found)


@bp.get("/me/export")
@access_token_required
@bp.token_required
@bp.response(200, ExportSchema)
def export_state() -> ResponseReturnValue:
    """The account's data export: its state, progress and, when ready, where to download it"""
    return export_json(export.current_export(get_db(), current_user))


@bp.get("/me/exports/<export_id>")
@access_token_required
@bp.token_required
@bp.fails(404, export.NO_SUCH_EXPORT)
@bp.response(200, description="The zip (application/zip)", content_type="application/zip")
def download_export(export_id: str) -> ResponseReturnValue:
    """Download the account's data export (only its owner can)"""
    return send_export(export.downloadable_export(get_db(), current_user, export_id))
@bp.post("/me/verification")
@access_token_required
@bp.token_required
@bp.fails(409, "Already verified")
@bp.fails(429, "Too many links asked for; see the Retry-After header")
@bp.response(202, MessageSchema, description="A new link is on its way")
def send_verification_again() -> ResponseReturnValue:
    """Mail the link that verifies the account's address (or its pending new one) again"""
    user = verification.send_again(current_user)
    return {"message": f"A new link is on its way to {user['email_verification']['email']}."}, 202


@bp.put("/me/email")
@access_token_required
@bp.token_required
@bp.fails(409, "That email is already taken")
@bp.fails(422, "Invalid address, wrong password, or the current address")
@bp.fails(429, "Too many links asked for; see the Retry-After header")
@bp.arguments(EmailChangeBody)
@bp.response(202, MeSchema, description="The account, its new address pending")
def change_email(body: dict) -> ResponseReturnValue:
    """Change the email address: the new one takes effect once the link mailed to it is opened; the
    current one is told"""
    user = verification.change_email(current_user, body["email"], body["password"])
    return {**private_user(user), **profile_json(user, None)}, 202


@bp.put("/me/avatar")
@access_token_required
@bp.token_required
@bp.arguments(AvatarUpload, location="multipart")
@bp.response(200, ProfileSchema)
def set_avatar(upload: dict) -> ResponseReturnValue:
    """Set the avatar (one photo)"""
    user = profiles.set_avatar(get_db(), get_fs(), current_user, photo_bytes(upload["photos"]), upload_limits())
    return profile_json(user, None)


def related_profile_json(user: dict, viewer: dict | None) -> dict:
    return {**profile_json(user, viewer), **blocks.relation(viewer, user), "private": bool(user.get("private")),
            "requested_by_me": privacy.is_requested(get_db(), viewer, user)}


@bp.get("/users/<username>")
@bp.token_optional
@bp.fails(404, NO_SUCH_USER)
@bp.response(200, RelatedProfileSchema)
def user_profile(username: str) -> ResponseReturnValue:
    """A user's public profile (none for a user who blocked you)"""
    viewer = optional_viewer()
    return related_profile_json(blocks.get_visible_user(get_db(), username, viewer), viewer)


@bp.get("/users/<username>/posts")
@bp.token_optional
@bp.fails(404, NO_SUCH_USER)
@bp.arguments(PageQuery, location="query")
@bp.response(200, PostListSchema)
def user_posts(page: dict, username: str) -> ResponseReturnValue:
    """A user's posts, newest first"""
    db, viewer = get_db(), optional_viewer()
    documents, next_cursor = feeds.profile_posts(db, blocks.get_visible_user(db, username, viewer), viewer,
                                                 page.get("cursor"), page_size(page.get("limit")))
    return post_list(db, documents, next_cursor, viewer)


@bp.route("/users/<username>/follow", methods=["PUT", "DELETE"])
@access_token_required
@bp.token_required
@bp.fails(404, NO_SUCH_USER)
@bp.fails(403, verification.UNVERIFIED_DOC)
@bp.fails(422, "You cannot follow yourself")
@bp.response(200, RelatedProfileSchema, description="The profile as it now is")
def follow(username: str) -> ResponseReturnValue:
    """Follow (PUT; needs a verified address) or unfollow (DELETE); a private account gets a follow
    request (PUT) it approves or declines, which DELETE withdraws"""
    if request.method == "PUT":
        verification.refuse_unverified(current_user)
    change = privacy.follow_or_request if request.method == "PUT" else privacy.unfollow_or_withdraw
    change(get_db(), current_user, blocks.get_visible_user(get_db(), username, current_user))
    return related_profile_json(get_active_user(get_db(), username), current_user)


@bp.get("/users/<username>/<any(followers, following):direction>")
@bp.token_optional
@bp.fails(404, NO_SUCH_USER)
@bp.arguments(PageQuery, location="query")
@bp.response(200, UserListSchema)
def follow_list(page: dict, username: str, direction: str) -> ResponseReturnValue:
    """Who follows the user (followers), or whom the user follows (following)"""
    users, next_cursor = social.follow_list(get_db(), blocks.get_visible_user(get_db(), username, optional_viewer()),
                                            direction, page.get("cursor"), page_size(page.get("limit")))
    return user_list(users, next_cursor)


def user_list(users: list[dict], next_cursor: str | None) -> dict:
    return {"results": [public_user(user) for user in users], "next_cursor": next_cursor}


CHANGES = {("block", "PUT"): blocks.block, ("block", "DELETE"): blocks.unblock,
           ("mute", "PUT"): blocks.mute, ("mute", "DELETE"): blocks.unmute}


@bp.route("/users/<username>/<any(block, mute):change>", methods=["PUT", "DELETE"])
@access_token_required
@bp.token_required
@bp.fails(404, NO_SUCH_USER)
@bp.fails(422, "You cannot block or mute yourself")
@bp.response(200, RelatedProfileSchema, description="The profile as it now is")
def block_or_mute(username: str, change: str) -> ResponseReturnValue:
    """Block or mute (PUT), unblock or unmute (DELETE); idempotent. A block removes follows both
    ways and hides each from the other; a mute keeps their posts and notifications from your feeds"""
    db = get_db()
    CHANGES[change, request.method](db, current_user, blocks.get_visible_user(db, username, current_user))
    return related_profile_json(get_active_user(db, username), db.users.find_one({"_id": current_user["_id"]}))


@bp.get("/me/<any(blocked, muted):listing>")
@access_token_required
@bp.token_required
@bp.arguments(PageQuery, location="query")
@bp.response(200, UserListSchema)
def blocked_or_muted(page: dict, listing: str) -> ResponseReturnValue:
    """Whom you blocked (blocked) or muted (muted), latest first"""
    found = blocks.BLOCK if listing == "blocked" else blocks.MUTE
    return user_list(*blocks.related_users(get_db(), found, current_user, page.get("cursor"),
                                           page_size(page.get("limit"))))


@bp.put("/me/privacy")
@access_token_required
@bp.token_required
@bp.arguments(PrivacyBody)
@bp.response(200, PrivacySchema)
def set_privacy(body: dict) -> ResponseReturnValue:
    """Make the account private (its posts for approved followers only) or public again (which
    approves every pending follow request)"""
    return {"private": privacy.set_private(get_db(), current_user, body["private"])["private"]}


@bp.get("/me/follow-requests")
@access_token_required
@bp.token_required
@bp.arguments(PageQuery, location="query")
@bp.response(200, UserListSchema)
def follow_requests(page: dict) -> ResponseReturnValue:
    """Who asked to follow your private account, latest first"""
    return user_list(*privacy.follow_requests(get_db(), current_user, page.get("cursor"), page_size(page.get("limit"))))


@bp.route("/me/follow-requests/<username>", methods=["PUT", "DELETE"])
@access_token_required
@bp.token_required
@bp.fails(404, "No such follow request")
@bp.no_content("Approved (PUT) or declined (DELETE)")
def answer_follow_request(username: str) -> ResponseReturnValue:
    """Approve (PUT) or decline (DELETE) a follow request"""
    answer = privacy.approve if request.method == "PUT" else privacy.decline
    answer(get_db(), current_user, get_active_user(get_db(), username))
    return "", 204


@bp.get("/notifications")
@access_token_required
@bp.token_required
@bp.arguments(PageQuery, location="query")
@bp.response(200, NotificationListSchema)
def notifications(page: dict) -> ResponseReturnValue:
    """Notifications (follow, like, comment), newest first, with the unread count"""
    db = get_db()
    rows, next_cursor = social.notifications(db, current_user, page.get("cursor"), page_size(page.get("limit")))
    return {"results": profiles.present_notifications(db, rows), "next_cursor": next_cursor,
            "unread": social.recount_unread(db, current_user["_id"])}


@bp.post("/notifications/read")
@access_token_required
@bp.token_required
@bp.no_content("Done")
def read_notifications() -> ResponseReturnValue:
    """Mark every notification read"""
    social.mark_all_read(get_db(), current_user)
    return "", 204
