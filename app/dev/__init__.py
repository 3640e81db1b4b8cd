"""Development helpers, only there while mail is caught (no MAIL_SERVER configured)."""
from flask import Blueprint, abort, current_app, render_template, request

from app.core.db import get_db
from app.core.mail import mail_is_caught

bp = Blueprint("dev", __name__, url_prefix="/dev")

LOOPBACK = {"127.0.0.1", "::1"}


@bp.before_request
def only_while_mail_is_caught_and_local():
    # Caught mail holds reset links: show it only on a development setup, and only to this machine.
    if not mail_is_caught(current_app.config) or request.remote_addr not in LOOPBACK:
        abort(404)


@bp.get("/mail")
def mail_outbox():
    messages = list(get_db().dev_mail.find().sort("sent_at", -1).limit(50))
    return render_template("dev/mail.html", messages=messages)
