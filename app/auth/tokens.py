"""JWTs: bearer tokens for the JSON API, HttpOnly cookies for pages, one revocation check for both.

A token is refused when its jti is among its account's ended tokens (logout), when the account's
session_version moved on since it was issued (password reset, suspension) or when the account is
not active. All three live on the user document, which every authenticated request reads anyway:
one database round trip, not two.
"""
from datetime import UTC, datetime, timedelta
from functools import wraps

from flask import Flask, current_app, g, redirect, request, url_for
from flask_jwt_extended import (
    create_access_token,
    create_refresh_token,
    current_user,
    decode_token,
    get_jwt,
    set_access_cookies,
    unset_jwt_cookies,
    verify_jwt_in_request,
)
from flask_jwt_extended.exceptions import JWTExtendedException
from jwt.exceptions import PyJWTError

from app.auth.services import find_user_by_id
from app.core.clock import utc_now
from app.core.db import get_db
from app.core.errors import error_response
from app.core.extensions import jwt

API_ACCESS_MINUTES = 15
API_REFRESH_DAYS = 30


def init_app(app: Flask) -> None:
    app.config.update(
        JWT_SECRET_KEY=app.config["SECRET_KEY"],
        JWT_TOKEN_LOCATION=["headers", "cookies"],
        JWT_ACCESS_TOKEN_EXPIRES=timedelta(minutes=API_ACCESS_MINUTES),
        JWT_REFRESH_TOKEN_EXPIRES=timedelta(days=API_REFRESH_DAYS),
        JWT_COOKIE_SECURE=app.config["COOKIE_SECURE"],
        JWT_COOKIE_SAMESITE="Lax",
        # CSRF is checked by app.core.csrf for every cookie request, pages and API alike.
        JWT_COOKIE_CSRF_PROTECT=False,
        JWT_SESSION_COOKIE=False,
    )
    jwt.init_app(app)
    jwt.user_identity_loader(lambda user: str(user["_id"]))
    jwt.additional_claims_loader(lambda user: {"sv": user.get("session_version", 0)})
    jwt.token_in_blocklist_loader(_token_revoked)
    jwt.user_lookup_loader(lambda _header, payload: g.pop("token_user", None) or find_user_by_id(get_db(), payload["sub"]))
    for loader in (jwt.unauthorized_loader, jwt.invalid_token_loader):
        loader(lambda reason: _unauthorized(f"Sign in first ({reason})."))
    jwt.expired_token_loader(lambda _h, _p: _unauthorized("Your session has expired. Sign in again."))
    jwt.revoked_token_loader(lambda _h, _p: _unauthorized("This session has ended. Sign in again."))
    jwt.user_lookup_error_loader(lambda _h, _p: _unauthorized("This account no longer exists."))
    jwt.needs_fresh_token_loader(lambda _h, _p: _unauthorized("Sign in again."))
    app.before_request(_load_page_user)
    app.after_request(_clear_dead_session_cookie)


def _token_revoked(_header: dict, payload: dict) -> bool:
    user = find_user_by_id(get_db(), payload["sub"])
    if (user is None or user["status"] != "active" or user.get("session_version", 0) != payload.get("sv")
            or payload["jti"] in user.get("ended_tokens", {})):
        return True
    g.token_user = user  # spare the user lookup that comes next
    return False


def _unauthorized(message: str):
    return error_response(401, "unauthorized", message)


def issue_api_tokens(user: dict) -> dict:
    return {
        "access_token": create_access_token(identity=user),
        "refresh_token": create_refresh_token(identity=user),
        "token_type": "Bearer",  # nosec B105
        "expires_in": API_ACCESS_MINUTES * 60,
    }


def start_web_session(response, user: dict):
    days = current_app.config["WEB_SESSION_DAYS"]
    token = create_access_token(identity=user, expires_delta=timedelta(days=days))
    set_access_cookies(response, token, max_age=days * 86400)
    return response


def end_web_session(response):
    unset_jwt_cookies(response)
    return response


def revoke(payload: dict, user: dict) -> None:
    """End one of `user`'s tokens: its jti joins the user's ended tokens (jti -> when the token would
    have expired anyway); those already past that time are dropped in the same write."""
    now = utc_now()
    update = {"$set": {f"ended_tokens.{payload['jti']}": datetime.fromtimestamp(payload["exp"], UTC)}}
    expired = [jti for jti, expires_at in user.get("ended_tokens", {}).items() if expires_at <= now]
    if expired:
        update["$unset"] = {f"ended_tokens.{jti}": "" for jti in expired}
    get_db().users.update_one({"_id": user["_id"]}, update)


def revoke_encoded(encoded_token: str, *, of_user: dict) -> None:
    """Revoke a token handed to us in a body (a refresh token at logout), if it is the user's."""
    try:
        payload = decode_token(encoded_token, allow_expired=True)
    except (JWTExtendedException, PyJWTError):
        return
    if payload.get("sub") == str(of_user["_id"]):
        revoke(payload, of_user)


def revoke_current() -> None:
    revoke(get_jwt(), current_user)


def _load_page_user() -> None:
    """Pages know their visitor from the cookie only; a bearer header never signs a page in."""
    g.user = None
    if request.path.startswith(("/api/", "/static/")) or "access_token_cookie" not in request.cookies:
        return
    try:
        verify_jwt_in_request(locations=["cookies"])
    except (JWTExtendedException, PyJWTError):
        g.clear_session_cookie = True
        return
    g.user = current_user._get_current_object()


def _clear_dead_session_cookie(response):
    if g.get("clear_session_cookie"):
        unset_jwt_cookies(response)
    return response


def login_required(view):
    """For pages: send visitors without a session to the sign-in page, then back."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        if g.user is None:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)
    return wrapper
