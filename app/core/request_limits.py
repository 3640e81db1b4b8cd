"""What a request may carry before any view reads it.

Routes anyone may call without an account (signing in or up, password resets) read small bodies
only, so nobody can make the server parse megabytes for free. A JSON body sent to the API must be
one JSON object, nested at most MAX_JSON_DEPTH deep. Breaking either answers 413, 400 or 422 with
the usual error body, before any view (or validation layer) sees the request.
"""
from collections.abc import Iterable
from typing import Any

from flask import Flask, Request, current_app, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import BadRequest

from app.core.errors import GlimpseError, ValidationError

SMALL_BODY_BYTES = 64 * 1024
# Deeper than any body the API reads; deep enough nesting would otherwise exhaust the parser's
# (or a later walker's) recursion and end in a 500.
MAX_JSON_DEPTH = 32
NOT_A_JSON_OBJECT = "Send a JSON object with Content-Type: application/json."


class LimitedRequest(Request):
    @property
    def max_content_length(self) -> int | None:
        if self._max_content_length is None and current_app and self.path.startswith(
                current_app.extensions["small_body_paths"]):
            return SMALL_BODY_BYTES
        return super().max_content_length

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value


class DepthLimitedJSONProvider(DefaultJSONProvider):
    """JSON that nests too deeply fails to parse like malformed JSON does (a ValueError)."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            value = super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("the JSON is nested too deeply") from None
        if _depth_over(value, MAX_JSON_DEPTH):
            raise ValueError(f"the JSON is nested deeper than {MAX_JSON_DEPTH} levels")
        return value


def _depth_over(value: object, limit: int) -> bool:
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        for child in children:
            if isinstance(child, dict | list):
                if depth >= limit:
                    return True
                pending.append((child, depth + 1))
    return False


def init_app(app: Flask, small_body_paths: Iterable[str]) -> None:
    """`small_body_paths`: path prefixes of the routes that take SMALL_BODY_BYTES at most."""
    app.request_class = LimitedRequest
    app.json = DepthLimitedJSONProvider(app)
    app.extensions["small_body_paths"] = tuple(small_body_paths)

    @app.before_request
    def api_bodies_are_json_objects() -> None:
        if not (request.path.startswith("/api/") and request.is_json and request.get_data(cache=True)):
            return
        try:
            body = request.get_json()
        except BadRequest:
            raise GlimpseError(f"The body is not valid JSON (or nests deeper than {MAX_JSON_DEPTH} levels).") from None
        if not isinstance(body, dict):
            raise ValidationError(NOT_A_JSON_OBJECT)
