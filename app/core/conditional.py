"""Conditional GETs for pages and API answers: an unchanged answer is a 304 without a body.

Each page or JSON answer carries a weak ETag, a digest of what it says, and `private, no-cache`:
the browser or app may keep it, must ask again before each use, and a shared cache keeps nothing.
A request whose If-None-Match names the answer's ETag gets a 304 instead. The answer is still
computed (its digest is the tag), so what a 304 saves is the transfer and the client's work, never
freshness: a like, a deletion or a block changes the answer, so the tag, at once.

What answers a browser holding a session cookie stays `no-store`, as before: a signed-in person's
pages must not be kept on the disk of a shared computer, nor come back from history after they
signed out. Bearer-token clients (apps) and signed-out visitors revalidate.
"""
import hashlib

from flask import Flask, Request, Response, request
from werkzeug.wrappers import Response as WerkzeugResponse

REVALIDATE = "private, no-cache"
PERSONAL = "no-store"
TAGGED_TYPES = ("text/html", "application/json")


def weak_etag(body: bytes) -> str:
    return hashlib.blake2b(body, digest_size=16).hexdigest()


def _taggable(response: Response, asked: Request) -> bool:
    return (asked.method in ("GET", "HEAD") and response.status_code == 200 and response.mimetype in TAGGED_TYPES
            and not (response.direct_passthrough or response.is_streamed) and "Cache-Control" not in response.headers)


def init_app(app: Flask) -> None:
    session_cookie = app.config.get("JWT_ACCESS_COOKIE_NAME", "access_token_cookie")

    @app.after_request
    def answer_conditionally(response: Response) -> WerkzeugResponse:
        if not _taggable(response, request):
            return response
        if session_cookie in request.cookies:
            response.headers["Cache-Control"] = PERSONAL
            return response
        response.set_etag(weak_etag(response.get_data()), weak=True)
        response.headers["Cache-Control"] = REVALIDATE
        return response.make_conditional(request)
