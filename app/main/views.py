"""Home, profiles and the health check."""
from flask import abort, jsonify, render_template
from pymongo.errors import PyMongoError

from app.auth.services import find_user_by_username
from app.core.db import forget_connection, get_db, ping
from app.main import bp


@bp.get("/")
def index():
    return render_template("main/index.html")


@bp.get("/u/<username>")
def profile(username: str):
    user = find_user_by_username(get_db(), username)
    if user is None or user["status"] != "active":
        abort(404, "No such user.")
    return render_template("main/profile.html", profile=user)


@bp.get("/healthz")
def healthz():
    try:
        ping()
    except PyMongoError as error:
        forget_connection()
        return jsonify({"status": "unavailable", "database": "unreachable", "detail": type(error).__name__}), 503
    return jsonify({"status": "ok", "database": "ok"})
