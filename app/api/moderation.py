"""Anonymous posts, reports, the review queue and admin actions in the JSON API."""
from flask import current_app, jsonify, request, url_for
from flask_jwt_extended import current_user, jwt_required

from app.admin import services as admin
from app.api import bp
from app.api.common import json_body
from app.auth.permissions import STAFF, api_roles
from app.auth.services import private_user
from app.core.db import get_db, get_fs
from app.core.jobs.worker import wake_workers
from app.core.pagination import page_size
from app.moderation import audit, services
from app.moderation.anonymous import present_status, publish_anonymous_upload
from app.moderation.presenter import present_queue
from app.posts.presenter import present_post


@bp.post("/anonymous/posts")
def anonymous_post():
    db = get_db()
    post, token = publish_anonymous_upload(db, get_fs())
    wake_workers(current_app._get_current_object())
    return jsonify({"post": present_post(post), "status_token": token,
                    "status_url": url_for("moderation.anonymous_status", token=token, _external=False)}), 201


@bp.get("/anonymous/posts/<token>")
def anonymous_status(token):
    return jsonify(present_status(services.anonymous_post_for_token(get_db(), token)))


@bp.delete("/anonymous/posts/<token>")
def anonymous_withdraw(token):
    services.withdraw_anonymous_post(get_db(), token)
    return "", 204


@bp.post("/<any(posts, comments):kind>/<target_id>/report")
@jwt_required()
def report(kind, target_id):
    counts = services.report(get_db(), current_user, kind.rstrip("s"), target_id, json_body("reason")["reason"],
                             current_app.config["REPORTS_TO_HIDE"])
    return jsonify(counts), 201


@bp.get("/moderation/queue")
@api_roles(*STAFF)
def moderation_queue():
    sort = "nsfw" if request.args.get("sort") == "nsfw" else "age"
    return jsonify({"results": present_queue(get_db(), services.review_queue(get_db(), sort)), "sort": sort})


@bp.post("/moderation/<any(posts, comments):kind>/<target_id>/<any(approve, reject):decision>")
@api_roles(*STAFF)
def moderation_decide(kind, target_id, decision):
    body = request.get_json(silent=True) or {}
    decide_item = services.decide_post if kind == "posts" else services.decide_comment
    decide_item(get_db(), current_user, target_id, decision, body.get("reason", ""))
    return jsonify({"decision": decision})


@bp.get("/admin/users")
@api_roles("admin")
def admin_users():
    accounts, next_cursor = admin.list_users(get_db(), request.args.get("q", ""), request.args.get("cursor"),
                                             page_size(request.args.get("limit")))
    return jsonify({"results": [{**private_user(user), "status": user["status"]} for user in accounts],
                    "next_cursor": next_cursor})


@bp.route("/admin/users/<username>/moderator", methods=["PUT", "DELETE"])
@api_roles("admin")
def admin_moderator(username):
    user = admin.set_moderator(get_db(), current_user, username, grant=request.method == "PUT")
    return jsonify({**private_user(user), "status": user["status"]})


@bp.route("/admin/users/<username>/suspension", methods=["PUT", "DELETE"])
@api_roles("admin")
def admin_suspension(username):
    body = request.get_json(silent=True) or {}
    user = admin.set_suspended(get_db(), current_user, username, suspended=request.method == "PUT",
                               reason=body.get("reason", ""))
    return jsonify({**private_user(user), "status": user["status"]})


@bp.get("/admin/audit")
@api_roles("admin")
def admin_audit():
    entries, next_cursor = audit.entries(get_db(), action=request.args.get("action") or None,
                                         actor=request.args.get("actor") or None, cursor=request.args.get("cursor"),
                                         limit=page_size(request.args.get("limit")))
    return jsonify({"results": [audit.present_entry(entry) for entry in entries], "next_cursor": next_cursor})
