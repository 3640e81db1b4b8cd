"""Outgoing mail, always sent by a background job so a slow or down SMTP server never fails
(or slows) the request that wanted the mail; the job retries until the server is back.

With no MAIL_SERVER configured (development), mail is caught in the `dev_mail` collection and
shown at /dev/mail, so a reset can be finished on `make run` alone.
"""

from flask import current_app
from flask_mail import Message

from app.core.clock import utc_now
from app.core.db import get_db
from app.core.extensions import mail
from app.core.jobs import enqueue
from app.core.jobs.worker import wake_workers

SEND_MAIL_JOB = "send_mail"


def mail_is_caught(config) -> bool:
    return not config["MAIL_SERVER"]


def queue_mail(to: str, subject: str, text: str, html: str | None = None) -> None:
    enqueue(get_db(), SEND_MAIL_JOB, {"to": to, "subject": subject, "text": text, "html": html})
    wake_workers(current_app._get_current_object())


def deliver_mail(payload: dict) -> None:
    if mail_is_caught(current_app.config):
        get_db().dev_mail.insert_one({**payload, "sent_at": utc_now()})
        return
    message = Message(subject=payload["subject"], recipients=[payload["to"]],
                      body=payload["text"], html=payload.get("html"))
    mail.send(message)

