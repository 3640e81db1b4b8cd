from flask import Blueprint

bp = Blueprint("posts", __name__)

from app.posts import views  # noqa: E402,F401  (routes register on import)
