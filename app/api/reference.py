"""This API's own description: the OpenAPI document and an interactive page to read and try it."""
import json

from flask import current_app, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_smorest import current_api

from app.api import bp


@bp.get("/openapi.json")
@bp.response(200, description="This document (OpenAPI 3.1), written from the schemas the routes use")
def openapi() -> ResponseReturnValue:
    """This document"""
    # Not jsonify: it sorts keys, and the document reads best in the order the routes are declared.
    return current_app.response_class(json.dumps(current_api.spec.to_dict()), mimetype="application/json")


@bp.get("/docs")
@bp.alt_response(200, success=True, content_type="text/html", description="An HTML page (Swagger UI)")
def docs_page() -> ResponseReturnValue:
    """The interactive API reference: every route, its fields and answers, and a way to try them"""
    return render_template("api/docs.html", spec_url=url_for("api.openapi"))
