from flask import Blueprint

bp = Blueprint("social", __name__)

from app.social import views  # noqa: E402,F401  (routes register on import)

