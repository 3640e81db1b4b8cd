"""The `delete_account` background job (create_app puts it in the job table)."""
from bson import ObjectId

from app.accounts.deletion import delete_account
from app.core.db import get_db

# The user id is the last trace of the account once it is gone: the finished job drops it.
DELETION_PRIVATE_FIELDS = ("user_id",)


def run_delete_account(payload: dict) -> None:
    delete_account(get_db(), ObjectId(payload["user_id"]))
