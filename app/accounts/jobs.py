"""The account jobs (create_app puts them in the job table): deleting an account, preparing the
download of its data, and removing that download when it expires."""
from bson import ObjectId
from flask import current_app

from app.accounts import export
from app.accounts.deletion import delete_account
from app.core.db import get_db, get_fs
from app.core.mail import queue_mail

# The user id is the last trace of the account once it is gone: the finished job drops it.
DELETION_PRIVATE_FIELDS = ("user_id",)


def run_delete_account(payload: dict) -> None:
    delete_account(get_db(), ObjectId(payload["user_id"]))


def download_link(export_id: ObjectId) -> str:
    """The page that hands the zip to its signed-in owner (the mailed link)."""
    return f"{current_app.config['BASE_URL']}/settings/export/{export_id}/download"


def run_export_account(payload: dict) -> None:
    db, export_id = get_db(), ObjectId(payload["export_id"])
    ready = export.build_export(db, get_fs(), export_id)
    if ready is None or ready["mailed"]:
        return
    user = db.users.find_one({"_id": ready["user_id"]})
    if user is None:  # deleted while its zip was built: the deletion removes the zip too
        return
    queue_mail(user["email"], *export.export_mail(user, download_link(export_id)))
    export.mark_mailed(db, export_id)


def give_up_export_account(payload: dict, error: str) -> None:
    get_db().exports.update_one({"_id": ObjectId(payload["export_id"])}, {"$set": {"state": "failed"}})


def run_expire_export(payload: dict) -> None:
    export.remove_export(get_db(), ObjectId(payload["export_id"]))
