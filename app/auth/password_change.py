"""Changing the password while signed in: the current one first (counted as a sign-in), then the
new one; every other session ends and the owner is told by mail, with a way back if it was not them."""
from app.auth import limits, services
from app.core.db import MongoDatabase
from app.core.mail import queue_mail


def change_password(db: MongoDatabase, user: dict, current_password: str, new_password: str, *, session_id: str,
                    client_address: str | None, rounds: int, base_url: str) -> None:
    limits.confirm_password(db, user, current_password, field="current_password", client_address=client_address, rounds=rounds)
    services.set_password(db, user, new_password, rounds=rounds, keep_session=session_id)
    queue_mail(user["email"], *services.password_changed_mail(user, f"{base_url}/forgot"))
