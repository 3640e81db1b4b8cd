"""The development mail viewer: mail caught instead of sent, shown at /dev/mail to this machine.

Off unless DEV_MAIL_VIEWER turns it on (`make run` does on a bare local start); the app refuses to
start with it on beside a MAIL_SERVER or with a BASE_URL off this machine (app/config.py).
"""
from flask import Blueprint, abort, current_app, render_template, request
from flask.typing import ResponseReturnValue

from app.core.db import get_db
from app.core.errors import NotFoundError

bp = Blueprint("dev", __name__, url_prefix="/dev")

LOOPBACK = {"127.0.0.1", "::1"}


@bp.before_request
def only_when_turned_on_and_local() -> None:
    if not current_app.config["DEV_MAIL_VIEWER"]:
        raise NotFoundError("The development mail viewer is off. For local development, start Glimpse with "
                            "DEV_MAIL_VIEWER=1 and no MAIL_SERVER (make run does this when neither MAIL_SERVER "
                            "nor BASE_URL is set) and caught mail shows here.")
    # Caught mail holds reset links: only for this machine, even on a development setup.
    if request.remote_addr not in LOOPBACK:
        abort(404)


@bp.get("/mail")
def mail_outbox() -> ResponseReturnValue:
    messages = list(get_db().dev_mail.find().sort("sent_at", -1).limit(50))
    return render_template("dev/mail.html", messages=messages)
