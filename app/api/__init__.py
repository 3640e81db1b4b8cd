"""The JSON API, version 1: every route under /api/v1, described in /api/v1/openapi.json."""
from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from app.api import (  # noqa: E402,F401  (routes register on import)
    auth,
    docs,
    moderation,
    posts,
    search,
    users,
)
