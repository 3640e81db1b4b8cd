"""The API's schemas at work (flask-smorest): they validate requests, shape answers and write the
OpenAPI document that app/api/reference.py serves."""
from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any, NoReturn, cast

import flask_smorest
import flask_swagger_ui
from flask import Blueprint, Flask, Request, request
from flask_smorest.spec.plugins import FlaskPlugin
from marshmallow import Schema, missing
from marshmallow import ValidationError as MarshmallowValidationError
from webargs.flaskparser import FlaskParser
from werkzeug.datastructures import CombinedMultiDict
from werkzeug.routing import Rule

from app.api.schemas import ErrorSchema
from app.core.errors import ValidationError
from app.core.request_limits import NOT_A_JSON_OBJECT

API_PREFIX = "/api/v1"
BEARER: list[dict[str, list[str]]] = [{"bearer": []}]
type View = Callable[..., Any]
type Decorator = Callable[[View], View]
SWAGGER_UI_FILES = Path(flask_swagger_ui.__file__).parent / "dist"


def field_messages(messages: dict, prefix: str = "") -> dict[str, str]:
    """marshmallow's nested {field: [messages]} as one flat {"field" or "field.0": "messages"}."""
    flat: dict[str, str] = {}
    for name, value in messages.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict):
            flat |= field_messages(value, f"{key}.")
        else:
            flat[key] = " ".join(value) if isinstance(value, list) else str(value)
    return flat


class RequestParser(FlaskParser):
    """webargs' parser, reading bodies through Flask and failing the way every API error does."""

    __location_map__ = {**FlaskParser.__location_map__, "multipart": "load_multipart"}

    def _raw_load_json(self, req: Request) -> Any:
        # Flask's get_json, so that request-wide guards on JSON loading apply here too. No body at
        # all reads as {}: routes whose fields are all optional may be called without one.
        if not req.get_data(cache=True):
            return missing
        body = req.get_json(silent=True)
        if body is None:
            raise ValidationError(NOT_A_JSON_OBJECT)
        return body

    def load_multipart(self, req: Request, schema: Schema) -> Any:
        """Files and text fields of a multipart/form-data body, read as one object."""
        return self._makeproxy(CombinedMultiDict([req.files, req.form]), schema)

    def handle_error(self, error: MarshmallowValidationError, req: Request, schema: Schema, *,
                     error_status_code: int | None, error_headers: Mapping[str, str] | None) -> NoReturn:
        fields: dict[str, str] = {}
        for location_messages in cast(dict, error.messages).values():  # webargs: {location: messages}
            fields |= field_messages(location_messages if isinstance(location_messages, dict)
                                     else {"_schema": location_messages})
        if "_schema" in fields:  # not an object at all (a list, a number...)
            raise ValidationError(NOT_A_JSON_OBJECT if request.is_json else fields["_schema"])
        raise ValidationError(f"Check these fields: {', '.join(fields)}.", fields=fields)


class ApiBlueprint(flask_smorest.Blueprint):
    """Routes documented from their schemas, each tagged with the module that holds it."""

    ARGUMENTS_PARSER = RequestParser()
    DEFAULT_LOCATION_CONTENT_TYPE_MAPPING = {**flask_smorest.Blueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING,
                                             "multipart": "multipart/form-data"}

    def route(self, rule: str, *, parameters: list | None = None, tags: list[str] | None = None,
              **options: Any) -> Decorator:
        register = super().route

        def decorator(view: View) -> View:
            return register(rule, parameters=parameters, tags=tags or [view.__module__.rsplit(".", 1)[-1]],
                            **options)(view)
        return decorator

    def fails(self, status: int, description: str) -> Decorator:
        """Documents an error answer of a route: {"error": {"code", "message", "fields"?}}."""
        return self.alt_response(status, schema=ErrorSchema, description=description)

    def no_content(self, description: str) -> Decorator:
        """Documents a 204 answer (the view returns it itself: there is no body to shape)."""
        return self.alt_response(204, success=True, description=description)

    def token_required(self, view: View) -> View:
        """Documents that the route wants a bearer access token (tests check that it does)."""
        return self.doc(security=BEARER)(self.fails(401, "Not signed in: missing, expired or revoked token")(view))

    def token_optional(self, view: View) -> View:
        """Documents that a bearer token is welcome but not needed (it adds liked_by_me and the like)."""
        return self.doc(security=[{}, *BEARER])(view)

    def staff_only(self, view: View) -> View:
        return self.token_required(self.fails(403, "Signed in, but not allowed (moderators or admins only)")(view))


class VersionedPaths(FlaskPlugin):
    """Paths relative to the document's server URL, /api/v1, as clients of version 1 read them."""

    def path_helper(self, rule: Rule, operations: dict, parameters: list, **kwargs: Any) -> str:
        return super().path_helper(rule, operations, parameters, **kwargs).removeprefix(API_PREFIX)


class Api(flask_smorest.Api):
    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self) -> None:
        """None: errors keep the app's own handlers (app/core/errors.py) and their one shape."""

    def register_blueprint(self, blp: flask_smorest.Blueprint, **options: Any) -> None:
        """flask-smorest's, less the tag it names after the blueprint: routes are tagged by module."""
        self._app.extensions["flask-smorest"]["blp_name_to_api"][blp.name] = self
        self._app.register_blueprint(blp, **options)
        blp.register_views_in_doc(self, self._app, self.spec, name=blp.name, parameters=None)


def init_app(app: Flask, bp: ApiBlueprint, modules: tuple[ModuleType, ...]) -> None:
    """Registers the API's routes and builds their document; each of `modules` holds routes and
    describes their tag in its docstring."""
    api = Api(app, spec_kwargs={
        "title": "Glimpse API", "version": "1.0.0", "openapi_version": "3.1.0",
        "flask_plugin": VersionedPaths(), "servers": [{"url": API_PREFIX}],
        "info": {"description": "Photo sharing. Errors always answer "
                                "{\"error\": {\"code\", \"message\", \"fields\"?}}; `fields` names each bad field. "
                                "A successful GET carries a weak ETag: sent back in If-None-Match, an unchanged "
                                "answer is a 304 without a body."},
    })
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    api.register_blueprint(bp)
    for module in modules:
        api.spec.tag({"name": module.__name__.rsplit(".", 1)[-1], "description": (module.__doc__ or "").strip()})
    app.register_blueprint(Blueprint("swagger_ui", __name__, static_folder=SWAGGER_UI_FILES,
                                     static_url_path="/static/swagger-ui"))
