"""Outgoing mail, always sent by a background job so a slow or down SMTP server never fails
(or slows) the request that wanted the mail; the job retries until the server is back.

With the development mail viewer on (DEV_MAIL_VIEWER, `make run`), mail is caught in the
`dev_mail` collection (kept a day) and shown at /dev/mail, so a reset can be finished on
`make run` alone. A sent mail's job keeps no text: reset links are live secrets.
"""

from flask import current_app
from flask_mail import Message

from app.core.clock import utc_now
from app.core.db import get_db
from app.core.extensions import mail
from app.core.jobs import enqueue
from app.core.jobs.queue import PermanentJobError
from app.core.jobs.worker import wake_workers

SEND_MAIL_JOB = "send_mail"
MAIL_BODY_FIELDS = ("text", "html")  # what a reset mail's link is in


def queue_mail(to: str, subject: str, text: str, html: str | None = None) -> None:
    enqueue(get_db(), SEND_MAIL_JOB, {"to": to, "subject": subject, "text": text, "html": html})
    wake_workers()


def deliver_mail(payload: dict) -> None:
    config = current_app.config
    if config["DEV_MAIL_VIEWER"]:
        get_db().dev_mail.insert_one({**payload, "sent_at": utc_now()})
        return
    if not config["MAIL_SERVER"]:
        raise PermanentJobError("No MAIL_SERVER is configured, so mail cannot be sent "
                                "(for local development, DEV_MAIL_VIEWER=1 shows it at /dev/mail).")
    message = Message(subject=payload["subject"], recipients=[payload["to"]],
                      body=payload["text"], html=payload.get("html"))
    mail.send(message)
