"""Signed double-submit CSRF protection, bound to the session, for every state-changing request
made with cookies.

The token lives in a readable cookie and must come back in a form field or X-CSRF-Token header. It
is `nonce.HMAC(secret, session id + nonce)`: our secret makes a cookie planted by a sibling domain
useless, and the session id makes a token taken from another session (or from a signed-out visit)
useless next to the victim's session cookie. The auth layer names the request's session through
`bind_session` (core does not know how sessions are made). API requests authenticated by a header
(`skip_for_header_authenticated_request`), or carrying no cookies of ours, are exempt: a browser
never attaches an Authorization header on its own, and a cross-site page cannot add one (we answer
no CORS preflight).
"""
import hashlib
import hmac
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeIs

from flask import Flask, Response, current_app, g, request

from app.core.errors import GlimpseError

COOKIE_NAME = "glimpse_csrf"
FORM_FIELD = "csrf_token"
HEADER_NAME = "X-CSRF-Token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}
_PLACEHOLDER = secrets.token_hex(16)


class CSRFError(GlimpseError):
    status = 403
    code = "csrf_failed"


def _session_id() -> str:
    return g.get("csrf_session_id", "")


def _sign(session_id: str, nonce: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    # Neither part holds a '.', so no other pair of parts gives the same message.
    return hmac.new(key, f"{session_id}.{nonce}".encode(), hashlib.sha256).hexdigest()[:32]


def _valid(token: str | None) -> TypeIs[str]:
    if not token or "." not in token:
        return False
    nonce, signature = token.rsplit(".", 1)
    return hmac.compare_digest(signature, _sign(_session_id(), nonce))


def csrf_token() -> str:
    """The token for this browser and session (made on first use); templates put it in every form."""
    if (placeholder := g.get("csrf_placeholder")) is not None:
        return placeholder
    token = g.get("new_csrf_token") or request.cookies.get(COOKIE_NAME)
    # A page puts it in each of its forms (a feed: two a post); checked once per request and session.
    if token is None or (g.get("checked_csrf_token") != (token, _session_id()) and not _valid(token)):
        nonce = secrets.token_urlsafe(24)
        token = g.new_csrf_token = f"{nonce}.{_sign(_session_id(), nonce)}"
    g.checked_csrf_token = (token, _session_id())
    return token


@contextmanager
def token_placeholder() -> Iterator[str]:
    """Within it, csrf_token() gives a string of this process's own instead of the token, for HTML
    kept for any viewer and given each one's token later. Random: no text a visitor wrote holds it."""
    g.csrf_placeholder = _PLACEHOLDER
    try:
        yield _PLACEHOLDER
    finally:
        g.csrf_placeholder = None


def bind_session(session_id: str) -> None:
    """Tokens of this request belong to `session_id` ('' for a signed-out visitor). Called when the
    visitor is known, and again when the request signs in or out: then the response hands the browser
    a token for its new session, so its next form works."""
    changed = g.get("csrf_session_id", session_id) != session_id
    g.csrf_session_id = session_id
    if changed:
        csrf_token()


def skip_for_header_authenticated_request() -> None:
    """A valid bearer header authenticated this request, and the cookie is not used: no CSRF check."""
    g.csrf_not_needed = True


def _uses_cookies() -> bool:
    return any(name in request.cookies for name in ("access_token_cookie", COOKIE_NAME))


def _needs_check() -> bool:
    if request.method in SAFE_METHODS or g.get("csrf_not_needed"):
        return False
    # An API call without cookies of ours carries no ambient credential a forged request could use.
    return _uses_cookies() or not request.path.startswith("/api/")


def init_app(app: Flask) -> None:
    app.jinja_env.globals["csrf_token"] = csrf_token

    @app.before_request
    def verify_csrf() -> None:
        if not _needs_check():
            return
        cookie = request.cookies.get(COOKIE_NAME)
        sent = request.headers.get(HEADER_NAME) or request.form.get(FORM_FIELD)
        if not (_valid(cookie) and sent and hmac.compare_digest(cookie, sent)):
            raise CSRFError("This form has expired or did not come from Glimpse. Reload the page and try again.")

    @app.after_request
    def set_csrf_cookie(response: Response) -> Response:
        token = g.get("new_csrf_token")
        if token:
            response.set_cookie(COOKIE_NAME, token, samesite="Lax", httponly=False,
                                secure=app.config["COOKIE_SECURE"], max_age=60 * 60 * 24 * 365)
        return response
