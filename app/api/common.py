"""Small helpers every JSON route shares."""
from flask import request

from app.core.errors import ValidationError


def json_body(*required: str) -> dict:
    """The request's JSON object with the `required` string fields present."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValidationError("Send a JSON object with Content-Type: application/json.")
    missing = {name: "Required." for name in required if not isinstance(body.get(name), str)}
    if missing:
        raise ValidationError(f"Missing or non-string fields: {', '.join(missing)}.", fields=missing)
    return body
