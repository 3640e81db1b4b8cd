"""Enqueue, claim, finish and retry jobs: plain functions over the `jobs` collection."""
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Flask
from pymongo import ReturnDocument

from app.core.clock import utc_now
from app.core.db import Document, MongoDatabase

DEFAULT_LEASE_SECONDS = 60
DEFAULT_MAX_ATTEMPTS = 5


class PermanentJobError(Exception):
    """Raised by a handler when retrying cannot help (the input itself is bad)."""


def _nothing(payload: dict, error: str) -> None:
    pass


@dataclass(frozen=True)
class JobHandler:
    """`run(payload)` does a job; raising means "retry later", raising PermanentJobError means
    "fail now". `give_up(payload, error)` runs when the job fails for good. `private_fields` of
    the payload (secrets, say) are dropped from the job once it is done or has failed for good."""
    run: Callable[[dict], None]
    give_up: Callable[[dict, str], None] = _nothing
    private_fields: tuple[str, ...] = ()


def register_handlers(app: Flask, handlers: dict[str, JobHandler]) -> None:
    """The app's one table of job kinds (create_app): its workers claim only these kinds."""
    app.extensions["glimpse_job_handlers"] = dict(handlers)


def handlers_of(app: Flask) -> dict[str, JobHandler]:
    return app.extensions["glimpse_job_handlers"]


def enqueue(db: MongoDatabase, kind: str, payload: dict, *, max_attempts: int = DEFAULT_MAX_ATTEMPTS,
            run_at: datetime | None = None) -> object:
    """Queue a job to run now, or not before `run_at` (a clean-up when something expires)."""
    now = utc_now()
    return db.jobs.insert_one({
        "kind": kind, "payload": payload, "status": "queued", "attempts": 0,
        "max_attempts": max_attempts, "run_at": run_at or now, "lease_until": None,
        "last_error": None, "created_at": now, "updated_at": now,
    }).inserted_id


def claim(db: MongoDatabase, worker_id: str, kinds: list[str], lease_seconds: int = DEFAULT_LEASE_SECONDS) -> dict | None:
    """Take one due job (or one whose worker's lease ran out) for this worker, atomically."""
    now = utc_now()
    return db.jobs.find_one_and_update(
        {
            "kind": {"$in": kinds},
            "$or": [
                {"status": "queued", "run_at": {"$lte": now}},
                {"status": "running", "lease_until": {"$lt": now}},
            ],
        },
        {
            "$set": {"status": "running", "worker": worker_id, "updated_at": now,
                     "lease_until": now + timedelta(seconds=lease_seconds)},
            "$inc": {"attempts": 1},
        },
        sort=[("run_at", 1)],
        return_document=ReturnDocument.AFTER,
    )


def _forget(private_fields: tuple[str, ...]) -> dict:
    return {f"payload.{name}": "" for name in private_fields}


def complete(db: MongoDatabase, job: dict, private_fields: tuple[str, ...] = ()) -> None:
    update = {"$set": {"status": "done", "lease_until": None, "updated_at": utc_now()}}
    if private := _forget(private_fields):
        update["$unset"] = private
    db.jobs.update_one({"_id": job["_id"], "worker": job["worker"]}, update)


def hand_back(db: MongoDatabase, job: dict) -> None:
    """Return an unfinished job to the queue, due at once, its attempt not counted: its worker is
    stopping. A job that finished meanwhile stays finished."""
    now = utc_now()
    db.jobs.update_one(
        {"_id": job["_id"], "worker": job["worker"], "status": "running"},
        {"$set": {"status": "queued", "run_at": now, "worker": None, "lease_until": None, "updated_at": now},
         "$inc": {"attempts": -1}},
    )


def fail(db: MongoDatabase, job: dict, error: BaseException, backoff_seconds: float = 2.0,
         private_fields: tuple[str, ...] = ()) -> str:
    """Record a failed attempt: back to the queue with backoff, or `failed` when out of attempts."""
    now = utc_now()
    message = "".join(traceback.format_exception_only(error)).strip()[:2000]
    if job["attempts"] >= job["max_attempts"] or isinstance(error, PermanentJobError):
        update: Document = {"status": "failed"}
    else:
        delay = backoff_seconds * 2 ** (job["attempts"] - 1)
        update = {"status": "queued", "run_at": now + timedelta(seconds=delay)}
    change = {"$set": {**update, "lease_until": None, "last_error": message, "updated_at": now}}
    if update["status"] == "failed" and (private := _forget(private_fields)):
        change["$unset"] = private
    db.jobs.update_one({"_id": job["_id"], "worker": job["worker"]}, change)
    return update["status"]
