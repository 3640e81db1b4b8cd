"""Posts, feeds, likes, comments and saves in the JSON API."""
from flask import current_app, jsonify, request
from flask_jwt_extended import current_user, jwt_required, verify_jwt_in_request

from app.api import bp
from app.api.common import json_body
from app.auth.permissions import is_staff
from app.core.db import get_db, get_fs
from app.core.jobs.worker import wake_workers
from app.core.pagination import page_size
from app.feeds import services as feeds
from app.posts import services as posts
from app.posts.presenter import present_comments, present_post
from app.posts.requests import upload_limits, uploaded_photos
from app.social import services as social
from app.social.presenter import present_posts


def optional_viewer() -> dict | None:
    verify_jwt_in_request(optional=True)
    return current_user if current_user else None


def post_list(db, documents: list[dict], next_cursor: str | None, viewer: dict | None):
    return jsonify({"results": present_posts(db, documents, viewer), "next_cursor": next_cursor})


def one_post(db, post: dict, viewer: dict | None, status: int = 200):
    return jsonify(present_posts(db, [post], viewer)[0]), status


@bp.post("/posts")
@jwt_required()
def create_post():
    db = get_db()
    post = posts.publish_photos(db, get_fs(), author=current_user, uploads=uploaded_photos(),
                                caption=request.form.get("caption", ""), limits=upload_limits())
    wake_workers(current_app._get_current_object())
    # Nobody has liked or saved a new post yet, and it keeps its author: nothing to look up.
    return jsonify(present_post(post)), 201


@bp.get("/posts/<post_id>")
def get_post(post_id):
    db, viewer = get_db(), optional_viewer()
    return one_post(db, posts.get_visible_post(db, post_id, viewer), viewer)


@bp.patch("/posts/<post_id>")
@jwt_required()
def update_post(post_id):
    db = get_db()
    post = posts.get_visible_post(db, post_id, current_user)
    return one_post(db, posts.update_post(db, post, current_user, json_body()), current_user)


@bp.delete("/posts/<post_id>")
@jwt_required()
def delete_post(post_id):
    db = get_db()
    posts.delete_post(db, posts.get_visible_post(db, post_id, current_user), current_user)
    return "", 204


@bp.get("/feed")
@jwt_required()
def home_feed():
    db = get_db()
    documents, next_cursor = feeds.home_feed(db, current_user, request.args.get("cursor"), page_size(request.args.get("limit")))
    return post_list(db, documents, next_cursor, current_user)


@bp.get("/explore")
def explore():
    db, viewer = get_db(), optional_viewer()
    documents, next_cursor = feeds.explore_feed(db, request.args.get("cursor"), page_size(request.args.get("limit")))
    return post_list(db, documents, next_cursor, viewer)


@bp.route("/posts/<post_id>/like", methods=["PUT", "DELETE"])
@jwt_required()
def like(post_id):
    """PUT likes, DELETE unlikes; both idempotent, both answer the post as it now is."""
    db = get_db()
    post = posts.get_visible_post(db, post_id, current_user)
    (social.like if request.method == "PUT" else social.unlike)(db, current_user, post)
    return one_post(db, posts.get_post(db, post["_id"]), current_user)


@bp.get("/posts/<post_id>/comments")
def list_comments(post_id):
    db = get_db()
    viewer = optional_viewer()
    post = posts.get_visible_post(db, post_id, viewer)
    comments, next_cursor = social.list_comments(db, post, request.args.get("cursor"), page_size(request.args.get("limit")),
                                                 include_hidden=is_staff(viewer))
    return jsonify({"results": present_comments(db, comments), "next_cursor": next_cursor})


@bp.post("/posts/<post_id>/comments")
@jwt_required()
def add_comment(post_id):
    db = get_db()
    post = posts.get_visible_post(db, post_id, current_user)
    comment = social.add_comment(db, current_user, post, json_body("text")["text"])
    return jsonify(present_comments(db, [comment])[0]), 201


@bp.delete("/comments/<comment_id>")
@jwt_required()
def delete_comment(comment_id):
    social.delete_comment(get_db(), current_user, comment_id)
    return "", 204


@bp.put("/posts/<post_id>/save")
@jwt_required()
def save(post_id):
    db = get_db()
    body = request.get_json(silent=True) or {}
    social.save(db, current_user, posts.get_visible_post(db, post_id, current_user), body.get("collection"))
    return jsonify({"saved": True})


@bp.delete("/posts/<post_id>/save")
@jwt_required()
def unsave(post_id):
    db = get_db()
    social.unsave(db, current_user, posts.get_visible_post(db, post_id, current_user), request.args.get("collection"))
    return jsonify({"saved": False})


@bp.get("/me/collections")
@jwt_required()
def collections():
    return jsonify({"results": social.saved_collections(get_db(), current_user)})


@bp.get("/me/collections/<name>")
@jwt_required()
def collection(name):
    db = get_db()
    documents, next_cursor = social.saved_posts(db, current_user, name, request.args.get("cursor"), page_size(request.args.get("limit")))
    return post_list(db, documents, next_cursor, current_user)
