from flask import Blueprint

bp = Blueprint("moderation", __name__)

from app.moderation import views  # noqa: E402,F401  (routes register on import)
