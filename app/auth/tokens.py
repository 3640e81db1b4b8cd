"""JWTs: bearer tokens for the JSON API, HttpOnly cookies for pages, one session check for both.

Each token names the session (app/auth/sessions.py) of the sign-in that issued it; it is refused when
its account is not active or that session has ended or expired. A web sign-in gives one cookie token
that lasts as long as its session; an API sign-in gives a short access token and a refresh token that
is traded, once, for the next pair.
"""
from collections.abc import Callable
from datetime import timedelta
from functools import wraps

from bson import ObjectId
from flask import Flask, Response, current_app, g, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_jwt_extended import (
    create_access_token,
    create_refresh_token,
    current_user,
    decode_token,
    get_current_user,
    get_jwt,
    jwt_required,
    set_access_cookies,
    unset_jwt_cookies,
    verify_jwt_in_request,
)
from flask_jwt_extended.exceptions import JWTExtendedException
from jwt.exceptions import PyJWTError
from werkzeug.wrappers import Response as WerkzeugResponse

from app.auth import sessions
from app.auth.services import find_user_by_id
from app.core import csrf
from app.core.db import get_db
from app.core.errors import AuthenticationError, error_response
from app.core.extensions import jwt
from app.core.statuses import UserStatus

API_ACCESS_MINUTES = 15
API_REFRESH_DAYS = 30
SESSION_ENDED = "This session has ended. Sign in again."


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
    jwt.token_in_blocklist_loader(lambda _header, payload: _token_user(payload) is None)
    jwt.user_lookup_loader(lambda _header, payload: _token_user(payload))
    for loader in (jwt.unauthorized_loader, jwt.invalid_token_loader):
        loader(lambda reason: _unauthorized(f"Sign in first ({reason})."))
    jwt.expired_token_loader(lambda _h, _p: _unauthorized("Your session has expired. Sign in again."))
    jwt.revoked_token_loader(lambda _h, _p: _unauthorized(SESSION_ENDED))
    jwt.user_lookup_error_loader(lambda _h, _p: _unauthorized("This account no longer exists."))
    jwt.needs_fresh_token_loader(lambda _h, _p: _unauthorized("Sign in again."))
    app.before_request(_authenticate_request)
    app.after_request(_clear_dead_session_cookie)


def _token_user(payload: dict) -> dict | None:
    """The active user whose live session issued the token, or None. Checked once per request and
    token: flask-jwt-extended asks twice (revoked? whose?), and a view verifies what the request
    hook already did."""
    checked = g.get("checked_token")
    if checked is None or checked[0] != payload["jti"]:
        checked = g.checked_token = (payload["jti"], _session_user(payload))
    return checked[1]


def _session_user(payload: dict) -> dict | None:
    db = get_db()
    user = find_user_by_id(db, payload["sub"])
    if user is None or user["status"] != UserStatus.ACTIVE:
        return None
    refresh_jti = payload["jti"] if payload["type"] == "refresh" else None
    return user if sessions.check_session(db, user, payload.get("sid"), refresh_jti=refresh_jti) else None


def _unauthorized(message: str) -> Response:
    return error_response(401, "unauthorized", message)


def _client() -> dict:
    return {"user_agent": request.user_agent.string, "ip": request.remote_addr or ""}


def _api_tokens(user: dict, sid: str, refresh_jti: str) -> dict:
    return {
        "access_token": create_access_token(identity=user, additional_claims={"sid": sid}),
        "refresh_token": create_refresh_token(identity=user, additional_claims={"sid": sid, "jti": refresh_jti}),
        "token_type": "Bearer",  # nosec B105
        "expires_in": API_ACCESS_MINUTES * 60,
    }


def issue_api_tokens(user: dict) -> dict:
    """An API sign-in: a new session and its first pair of tokens."""
    session = sessions.start_session(get_db(), user, "api", lifetime=timedelta(days=API_REFRESH_DAYS), **_client())
    return _api_tokens(user, session["id"], session["refresh_jti"])


def refresh_api_tokens() -> dict:
    """Trade the request's refresh token for the session's next pair; the one traded is spent."""
    claims = get_jwt()
    refresh_jti = sessions.rotate_refresh_token(get_db(), current_user["_id"], claims["sid"], claims["jti"],
                                                lifetime=timedelta(days=API_REFRESH_DAYS))
    if refresh_jti is None:
        raise AuthenticationError(SESSION_ENDED)
    return _api_tokens(current_user, claims["sid"], refresh_jti)


def end_current_session() -> None:
    """Sign out: the session of the request's token ends, and with it every token of that sign-in."""
    sessions.end_session(get_db(), current_user["_id"], get_jwt()["sid"])


def start_web_session[R: WerkzeugResponse](response: R, user: dict) -> R:
    """A page sign-in: the cookie names a new session, which replaces the one this browser had."""
    if g.user is not None:
        end_current_session()
    days = current_app.config["WEB_SESSION_DAYS"]
    session = sessions.start_session(get_db(), user, "web", lifetime=timedelta(days=days), **_client())
    token = create_access_token(identity=user, expires_delta=timedelta(days=days), additional_claims={"sid": session["id"]})
    set_access_cookies(response, token,  # type: ignore[arg-type]  # it only sets cookies: any werkzeug Response can
                       max_age=days * 86400)
    csrf.bind_session(session["id"])
    return response


def end_web_session[R: WerkzeugResponse](response: R) -> R:
    if g.user is not None:
        end_current_session()
    unset_jwt_cookies(response)  # type: ignore[arg-type]  # as above
    csrf.bind_session("")
    return response


def _authenticate_request() -> None:
    """Know who is calling before any view (or the CSRF check) runs.

    An API call that carries an Authorization header is known by it alone: a valid bearer token,
    else 401, and never the cookie beside it. Everything else (pages, the API from our own pages) is
    known by the session cookie only; a bearer header never signs a page in. Views marked
    `defers_viewer` load the visitor themselves, only when their answer depends on who it is.
    """
    if current_app.view_functions.get(request.endpoint or "") in _views_deferring_viewer:
        return
    g.user = None
    # flask-jwt-extended checks no token on OPTIONS (a CORS preflight carries none).
    if request.path.startswith("/static/") or request.method == "OPTIONS":
        return
    if request.path.startswith("/api/") and "Authorization" in request.headers:
        # Access or refresh token: the view checks the type it wants. A bad header raises a 401.
        verify_jwt_in_request(locations=["headers"], verify_type=False)
        csrf.skip_for_header_authenticated_request()
        return
    _load_page_user()


def _load_page_user() -> None:
    g.user = None
    session_id = ""
    if "access_token_cookie" in request.cookies:
        try:
            verify_jwt_in_request(locations=["cookies"])
        except (JWTExtendedException, PyJWTError):
            g.clear_session_cookie = True
        else:
            g.user = current_user._get_current_object()
            session_id = get_jwt()["sid"]
    csrf.bind_session(session_id)


_views_deferring_viewer: set[Callable[..., ResponseReturnValue]] = set()


def defers_viewer[**P](view: Callable[P, ResponseReturnValue]) -> Callable[P, ResponseReturnValue]:
    """For views whose answer depends on the visitor only sometimes (a public photo is everyone's):
    the visitor is not loaded before the view, which asks `page_viewer()` when it needs them. An
    error page shows the visitor as every page does (and keeps their CSRF token), so it loads them."""
    @wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> ResponseReturnValue:
        try:
            return view(*args, **kwargs)
        except Exception:
            page_viewer()
            raise
    _views_deferring_viewer.add(wrapper)
    return wrapper


def page_viewer() -> dict | None:
    """The signed-in visitor of a page (None when signed out), loaded on first use."""
    if "user" not in g:
        _load_page_user()
    return g.user


def cookie_user_id() -> ObjectId | None:
    """Whom the session cookie names, from its signature alone (not whether that session still
    lives): enough to narrow what someone sees, never to widen it. Cheap: a token verified once is
    remembered until it expires (app/core/extensions.py)."""
    token = request.cookies.get("access_token_cookie")
    if token is None:
        return None
    try:
        claims = decode_token(token)
    except (JWTExtendedException, PyJWTError):
        return None
    return ObjectId(claims["sub"]) if ObjectId.is_valid(claims["sub"]) else None


def _clear_dead_session_cookie(response: Response) -> Response:
    if g.get("clear_session_cookie"):
        unset_jwt_cookies(response)
    return response


def access_token_required[**P](view: Callable[P, ResponseReturnValue]) -> Callable[P, ResponseReturnValue]:
    """flask-jwt-extended's jwt_required() for API views, without decoding again the access token
    the request was already known by (_authenticate_request): a second decode was 0.3 ms of every
    API call. Anything else (no token, a refresh token) goes through jwt_required() itself."""
    checked = jwt_required()(view)

    @wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> ResponseReturnValue:
        try:
            known = get_jwt().get("type") == "access" and get_current_user() is not None
        except RuntimeError:  # nothing verified yet
            known = False
        return view(*args, **kwargs) if known else checked(*args, **kwargs)
    return wrapper


def login_required[**P](view: Callable[P, ResponseReturnValue]) -> Callable[P, ResponseReturnValue]:
    """For pages: send visitors without a session to the sign-in page, then back."""
    @wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> ResponseReturnValue:
        if g.user is None:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)
    return wrapper
