"""The JSON API, version 1: every route under /api/v1, described in /api/v1/openapi.json."""
from flask import Flask

from app.api import openapi

bp = openapi.ApiBlueprint("api", __name__, url_prefix=openapi.API_PREFIX)

from app.api import (  # noqa: E402,F401  (routes register on import)
    auth,
    moderation,
    posts,
    reference,
    search,
    users,
)

ROUTE_MODULES = (auth, posts, users, search, moderation, reference)


def init_app(app: Flask) -> None:
    openapi.init_app(app, bp, ROUTE_MODULES)
