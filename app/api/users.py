"""Users, follows, notifications and avatars in the JSON API."""
from flask import jsonify, request
from flask_jwt_extended import current_user, jwt_required

from app.api import bp
from app.api.common import json_body
from app.api.posts import optional_viewer, post_list
from app.auth.services import get_active_user, private_user, public_user
from app.core.db import get_db, get_fs
from app.core.pagination import page_size
from app.feeds import services as feeds
from app.posts.presenter import avatar_url
from app.posts.requests import upload_limits, uploaded_photos
from app.social import profiles
from app.social import services as social


def profile_json(user: dict, viewer: dict | None) -> dict:
    return {**public_user(user), "avatar_url": avatar_url(user),
            "follower_count": user.get("follower_count", 0), "following_count": user.get("following_count", 0),
            "followed_by_me": social.is_following(get_db(), viewer, user)}


@bp.get("/me")
@jwt_required()
def me():
    return jsonify({**private_user(current_user), **profile_json(current_user, None),
                    "unread_notifications": social.unread_count(get_db(), current_user)})


@bp.patch("/me")
@jwt_required()
def update_me():
    user = profiles.update_bio(get_db(), current_user, json_body("bio")["bio"])
    return jsonify({**private_user(user), **profile_json(user, None)})


@bp.put("/me/avatar")
@jwt_required()
def set_avatar():
    user = profiles.set_avatar(get_db(), get_fs(), current_user, uploaded_photos(), upload_limits())
    return jsonify(profile_json(user, None))


@bp.get("/users/<username>")
def user_profile(username: str):
    return jsonify(profile_json(get_active_user(get_db(), username), optional_viewer()))


@bp.get("/users/<username>/posts")
def user_posts(username: str):
    db, viewer = get_db(), optional_viewer()
    documents, next_cursor = feeds.profile_posts(db, get_active_user(db, username), request.args.get("cursor"),
                                                 page_size(request.args.get("limit")))
    return jsonify(post_list(db, documents, next_cursor, viewer))


@bp.route("/users/<username>/follow", methods=["PUT", "DELETE"])
@jwt_required()
def follow(username: str):
    change = social.follow if request.method == "PUT" else social.unfollow
    change(get_db(), current_user, get_active_user(get_db(), username))
    return jsonify(profile_json(get_active_user(get_db(), username), current_user))


@bp.get("/users/<username>/<any(followers, following):direction>")
def follow_list(username: str, direction: str):
    users, next_cursor = social.follow_list(get_db(), get_active_user(get_db(), username), direction,
                                            request.args.get("cursor"), page_size(request.args.get("limit")))
    return jsonify({"results": [public_user(user) for user in users], "next_cursor": next_cursor})


@bp.get("/notifications")
@jwt_required()
def notifications():
    db = get_db()
    rows, next_cursor = social.notifications(db, current_user, request.args.get("cursor"), page_size(request.args.get("limit")))
    return jsonify({"results": profiles.present_notifications(db, rows), "next_cursor": next_cursor,
                    "unread": social.unread_count(db, current_user)})


@bp.post("/notifications/read")
@jwt_required()
def read_notifications():
    social.mark_all_read(get_db(), current_user)
    return "", 204
