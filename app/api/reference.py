"""This API's own description: the OpenAPI document and an interactive page to read and try it."""
from flask import render_template, url_for

from app.api import bp


@bp.get("/docs")
@bp.alt_response(200, success=True, content_type="text/html", description="An HTML page (Swagger UI)")
def docs_page():
    """The interactive API reference: every route, its fields and answers, and a way to try them"""
    return render_template("api/docs.html", spec_url=url_for("api.openapi"))
