"""Domain errors raised by services, and the handlers that turn them into answers.

JSON routes (under /api/) always answer {"error": {"code", "message"}}; pages get an HTML page.
"""
from flask import Flask, Response, jsonify, make_response, render_template, request
from pymongo.errors import ConnectionFailure
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from app.core.db import forget_connection


class GlimpseError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, fields: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class ValidationError(GlimpseError):
    status = 422
    code = "validation_error"


class ConflictError(GlimpseError):
    status = 409
    code = "conflict"


class NotFoundError(GlimpseError):
    status = 404
    code = "not_found"


class ForbiddenError(GlimpseError):
    status = 403
    code = "forbidden"


class AuthenticationError(GlimpseError):
    status = 401
    code = "unauthorized"


class InvalidTokenError(GlimpseError):
    status = 400
    code = "invalid_token"


class RateLimitedError(GlimpseError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


def wants_json() -> bool:
    return request.path.startswith("/api/")


def error_response(status: int, code: str, message: str, fields: dict | None = None,
                   headers: dict[str, str] | None = None) -> Response:
    if wants_json():
        body: dict[str, dict[str, object]] = {"error": {"code": code, "message": message}}
        if fields:
            body["error"]["fields"] = fields
        response = jsonify(body)
    else:
        response = make_response(render_template("errors/error.html", status=status, message=message))
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(GlimpseError)
    def handle_domain_error(error: GlimpseError) -> Response:
        headers = {"Retry-After": str(error.retry_after)} if isinstance(error, RateLimitedError) else None
        return error_response(error.status, error.code, error.message, error.fields, headers)

    @app.errorhandler(HTTPException)
    def handle_http_error(error: HTTPException) -> Response:
        return error_response(error.code or 500, _code_of(error), error.description or error.name)

    @app.errorhandler(RequestEntityTooLarge)
    def handle_too_large(error: RequestEntityTooLarge) -> Response:
        # Werkzeug's text names no limit; people (and clients) need the one this address applies.
        limit = request.max_content_length
        message = f"This request is too large: this address takes at most {_readable_size(limit)}." if limit \
            else "This request is too large."
        return error_response(413, _code_of(error), message)

    @app.errorhandler(ConnectionFailure)
    def handle_database_down(error: ConnectionFailure) -> Response:
        app.logger.warning("database unavailable: %s", error)
        forget_connection()
        return error_response(503, "database_unavailable",
                              "The database is not answering right now. Please try again in a moment.",
                              headers={"Retry-After": "5"})


def _code_of(error: HTTPException) -> str:
    return (error.name or "error").lower().replace(" ", "_")


def _readable_size(size: int) -> str:
    return f"{size // (1024 * 1024)} MB" if size >= 1024 * 1024 else f"{size // 1024} KB"
