"""Role checks for pages (the cookie session) and for the API (the bearer token)."""
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import g
from flask.typing import ResponseReturnValue
from flask_jwt_extended import current_user

from app.auth.tokens import access_token_required, login_required
from app.core.errors import ForbiddenError

type View = Callable[..., ResponseReturnValue]

STAFF = ("moderator", "admin")


def is_staff(user: dict | None) -> bool:
    return user is not None and user["role"] in STAFF


def require_staff(user: dict | None) -> None:
    if not is_staff(user):
        raise ForbiddenError("Only moderators can do this.")


def _check(user: dict, roles: tuple[str, ...]) -> None:
    if user["role"] not in roles:
        raise ForbiddenError("You do not have permission to do this.")


def page_roles(*roles: str) -> Callable[[View], View]:
    def decorate(view: View) -> View:
        @wraps(view)
        @login_required
        def wrapper(*args: Any, **kwargs: Any) -> ResponseReturnValue:
            _check(g.user, roles)
            return view(*args, **kwargs)
        return wrapper
    return decorate


def api_roles(*roles: str) -> Callable[[View], View]:
    def decorate(view: View) -> View:
        @wraps(view)
        @access_token_required
        def wrapper(*args: Any, **kwargs: Any) -> ResponseReturnValue:
            _check(current_user, roles)
            return view(*args, **kwargs)
        return wrapper
    return decorate
