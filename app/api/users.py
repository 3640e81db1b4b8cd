"""User routes of the JSON API."""
from flask import jsonify
from flask_jwt_extended import current_user, jwt_required

from app.api import bp
from app.auth.services import find_user_by_username, private_user, public_user
from app.core.db import get_db
from app.core.errors import NotFoundError


@bp.get("/me")
@jwt_required()
def me():
    return jsonify(private_user(current_user))


@bp.get("/users/<username>")
def user_profile(username: str):
    user = find_user_by_username(get_db(), username)
    if user is None or user["status"] != "active":
        raise NotFoundError("No such user.")
    return jsonify(public_user(user))
