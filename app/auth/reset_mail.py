"""Reset mail is looked up and sent by a background job, so asking for it does the same work, and
takes as long, whether or not the address belongs to an account (no enumeration by timing)."""
from flask import current_app

from app.auth import services
from app.core.db import get_db
from app.core.jobs import enqueue
from app.core.jobs.worker import wake_workers
from app.core.mail import queue_mail

RESET_MAIL_JOB = "password_reset_mail"


def request_password_reset(email: str) -> None:
    enqueue(get_db(), RESET_MAIL_JOB, {"email": email})
    wake_workers()


def send_reset_mail(payload: dict) -> None:
    services.send_password_reset(get_db(), payload["email"], secret=current_app.config["SECRET_KEY"],
                                 base_url=current_app.config["BASE_URL"], send=queue_mail)

