"""Signed double-submit CSRF protection for every state-changing request made with cookies.

The token lives in a readable cookie and must come back in a form field or X-CSRF-Token header;
its HMAC ties it to our secret so a cookie planted by a sibling domain is useless. API requests
that authenticate with a bearer header, or carry no cookies of ours, are exempt: a browser never
attaches an Authorization header on its own, and a cross-site page cannot add one (we answer
no CORS preflight).
"""
import hashlib
import hmac
import secrets

from flask import Flask, current_app, g, request

from app.core.errors import GlimpseError

COOKIE_NAME = "glimpse_csrf"
FORM_FIELD = "csrf_token"
HEADER_NAME = "X-CSRF-Token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}


class CSRFError(GlimpseError):
    status = 403
    code = "csrf_failed"


def _sign(nonce: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, nonce.encode(), hashlib.sha256).hexdigest()[:32]


def _valid(token: str | None) -> bool:
    if not token or "." not in token:
        return False
    nonce, signature = token.rsplit(".", 1)
    return hmac.compare_digest(signature, _sign(nonce))


def csrf_token() -> str:
    """The token for this browser (made on first use); templates put it in every form."""
    token = request.cookies.get(COOKIE_NAME)
    if not _valid(token):
        token = g.get("new_csrf_token")
        if token is None:
            nonce = secrets.token_urlsafe(24)
            token = g.new_csrf_token = f"{nonce}.{_sign(nonce)}"
    return token


def _uses_cookies() -> bool:
    return any(name in request.cookies for name in ("access_token_cookie", COOKIE_NAME))


def _needs_check() -> bool:
    if request.method in SAFE_METHODS:
        return False
    if request.path.startswith("/api/") and (request.authorization is not None or not _uses_cookies()):
        return False
    return True


def init_app(app: Flask) -> None:
    app.jinja_env.globals["csrf_token"] = csrf_token

    @app.before_request
    def verify_csrf():
        if not _needs_check():
            return
        cookie = request.cookies.get(COOKIE_NAME)
        sent = request.headers.get(HEADER_NAME) or request.form.get(FORM_FIELD)
        if not (_valid(cookie) and sent and hmac.compare_digest(cookie, sent)):
            raise CSRFError("This form has expired or did not come from Glimpse. Reload the page and try again.")

    @app.after_request
    def set_csrf_cookie(response):
        token = g.get("new_csrf_token")
        if token:
            response.set_cookie(COOKIE_NAME, token, samesite="Lax", httponly=False,
                                secure=app.config["COOKIE_SECURE"], max_age=60 * 60 * 24 * 365)
        return response
