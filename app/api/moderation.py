"""Anonymous posts, reports, the review queue and admin actions."""
from flask import current_app, request, url_for
from flask.typing import ResponseReturnValue
from flask_jwt_extended import current_user

from app.admin import services as admin
from app.api import bp
from app.api.schemas import (
    AccountListSchema,
    AccountQuery,
    AccountSchema,
    AnonymousPostSchema,
    AnonymousStatusSchema,
    AuditListSchema,
    AuditQuery,
    DecisionSchema,
    OptionalReasonBody,
    PhotoUpload,
    QueueQuery,
    QueueSchema,
    ReasonBody,
    ReportCountSchema,
)
from app.auth.permissions import STAFF, api_roles
from app.auth.services import private_user
from app.auth.tokens import access_token_required
from app.core.db import get_db, get_fs
from app.core.jobs.worker import wake_workers
from app.core.pagination import page_size
from app.moderation import audit, services
from app.moderation.anonymous import present_status, publish_anonymous_upload
from app.moderation.presenter import present_queue
from app.posts.presenter import present_post
from app.posts.requests import photo_bytes

NO_SUCH_ANONYMOUS_POST = "No such post: the link is wrong, or the post was withdrawn"
NO_SUCH_ITEM = "No such item"
NO_SUCH_ACCOUNT = "No such account"


@bp.post("/anonymous/posts")
@bp.fails(404, "Anonymous posting is turned off here")
@bp.fails(429, "Too many anonymous posts from this address; see the Retry-After header")
@bp.arguments(PhotoUpload, location="multipart")
@bp.response(201, AnonymousPostSchema, description="The post, waiting for review, and its secret status token")
def anonymous_post(upload: dict) -> ResponseReturnValue:
    """Share without an account: the post waits for review"""
    db = get_db()
    post, token = publish_anonymous_upload(db, get_fs(), photo_bytes(upload["photos"]), upload["caption"])
    wake_workers()
    return {"post": present_post(post), "status_token": token,
            "status_url": url_for("moderation.anonymous_status", token=token, _external=False)}


@bp.get("/anonymous/posts/<token>")
@bp.fails(404, NO_SUCH_ANONYMOUS_POST)
@bp.response(200, AnonymousStatusSchema)
def anonymous_status(token: str) -> ResponseReturnValue:
    """Review status of an anonymous post"""
    return present_status(services.anonymous_post_for_token(get_db(), token))


@bp.delete("/anonymous/posts/<token>")
@bp.fails(404, NO_SUCH_ANONYMOUS_POST)
@bp.no_content("Withdrawn")
def anonymous_withdraw(token: str) -> ResponseReturnValue:
    """Withdraw (delete) an anonymous post"""
    services.withdraw_anonymous_post(get_db(), token)
    return "", 204


@bp.post("/<any(posts, comments):kind>/<target_id>/report")
@access_token_required
@bp.token_required
@bp.fails(404, NO_SUCH_ITEM)
@bp.fails(409, "Already reported by you")
@bp.arguments(ReasonBody)
@bp.response(201, ReportCountSchema)
def report(body: dict, kind: str, target_id: str) -> ResponseReturnValue:
    """Report a post or a comment; enough independent reports hide it until reviewed"""
    return services.report(get_db(), current_user, kind.rstrip("s"), target_id, body["reason"],
                           current_app.config["REPORTS_TO_HIDE"])


@bp.get("/moderation/queue")
@api_roles(*STAFF)
@bp.staff_only
@bp.arguments(QueueQuery, location="query")
@bp.response(200, QueueSchema)
def moderation_queue(query: dict) -> ResponseReturnValue:
    """Posts awaiting review and reported comments, with photo, caption, tags, NSFW score and reports"""
    sort = query["sort"]
    return {"results": present_queue(get_db(), services.review_queue(get_db(), sort)), "sort": sort}


@bp.post("/moderation/<any(posts, comments):kind>/<target_id>/<any(approve, reject):decision>")
@api_roles(*STAFF)
@bp.staff_only
@bp.fails(404, NO_SUCH_ITEM)
@bp.arguments(OptionalReasonBody, required=False)
@bp.response(200, DecisionSchema)
def moderation_decide(body: dict, kind: str, target_id: str, decision: str) -> ResponseReturnValue:
    """Approve or reject a post or a comment (a rejection needs a reason; it deletes the photos and
    leaves a tombstone)"""
    decide_item = services.decide_post if kind == "posts" else services.decide_comment
    decide_item(get_db(), current_user, target_id, decision, body.get("reason", ""))
    return {"decision": decision}


@bp.get("/admin/users")
@api_roles("admin")
@bp.staff_only
@bp.arguments(AccountQuery, location="query")
@bp.response(200, AccountListSchema)
def admin_users(query: dict) -> ResponseReturnValue:
    """Accounts (admins only)"""
    accounts, next_cursor = admin.list_users(get_db(), query["q"], query.get("cursor"), page_size(query.get("limit")))
    return {"results": [{**private_user(user), "status": user["status"]} for user in accounts],
            "next_cursor": next_cursor}


@bp.route("/admin/users/<username>/moderator", methods=["PUT", "DELETE"])
@api_roles("admin")
@bp.staff_only
@bp.fails(404, NO_SUCH_ACCOUNT)
@bp.fails(422, "The account is an admin: admins' roles change only from the command line")
@bp.response(200, AccountSchema)
def admin_moderator(username: str) -> ResponseReturnValue:
    """Grant (PUT) or revoke (DELETE) the moderator role (admins only)"""
    user = admin.set_moderator(get_db(), current_user, username, grant=request.method == "PUT")
    return {**private_user(user), "status": user["status"]}


@bp.route("/admin/users/<username>/suspension", methods=["PUT", "DELETE"])
@api_roles("admin")
@bp.staff_only
@bp.fails(404, NO_SUCH_ACCOUNT)
@bp.arguments(OptionalReasonBody, required=False)
@bp.response(200, AccountSchema)
def admin_suspension(body: dict, username: str) -> ResponseReturnValue:
    """Suspend (PUT; a reason is required): no sign-in, and every token stops at once; or reinstate
    (DELETE) (admins only)"""
    user = admin.set_suspended(get_db(), current_user, username, suspended=request.method == "PUT",
                               reason=body.get("reason", ""))
    return {**private_user(user), "status": user["status"]}


@bp.get("/admin/audit")
@api_roles("admin")
@bp.staff_only
@bp.arguments(AuditQuery, location="query")
@bp.response(200, AuditListSchema)
def admin_audit(query: dict) -> ResponseReturnValue:
    """The audit log, newest first (admins only)"""
    entries, next_cursor = audit.entries(get_db(), action=query.get("action") or None,
                                         actor=query.get("actor") or None, cursor=query.get("cursor"),
                                         limit=page_size(query.get("limit")))
    return {"results": [audit.present_entry(entry) for entry in entries], "next_cursor": next_cursor}
