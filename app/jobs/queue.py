"""Enqueue, claim, finish and retry jobs: plain functions over the `jobs` collection."""
import traceback
from collections.abc import Callable
from datetime import timedelta

from pymongo import ReturnDocument

from app.core.clock import utc_now

DEFAULT_LEASE_SECONDS = 60
DEFAULT_MAX_ATTEMPTS = 5

_handlers: dict[str, Callable[[dict], None]] = {}
_give_up_handlers: dict[str, Callable[[dict, str], None]] = {}


class PermanentJobError(Exception):
    """Raised by a handler when retrying cannot help (the input itself is bad)."""


def register_handler(kind: str, handler: Callable[[dict], None],
                     on_give_up: Callable[[dict, str], None] | None = None) -> None:
    """Run `handler(payload)` for jobs of this kind; raising means "retry later", raising
    PermanentJobError means "fail now". `on_give_up(payload, error)` runs when the job fails for good."""
    _handlers[kind] = handler
    if on_give_up:
        _give_up_handlers[kind] = on_give_up


def handler_for(kind: str) -> Callable[[dict], None]:
    return _handlers[kind]


def give_up_handler_for(kind: str) -> Callable[[dict, str], None]:
    return _give_up_handlers.get(kind, lambda payload, error: None)


def registered_kinds() -> list[str]:
    return sorted(_handlers)


def enqueue(db, kind: str, payload: dict, *, max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> object:
    now = utc_now()
    return db.jobs.insert_one({
        "kind": kind, "payload": payload, "status": "queued", "attempts": 0,
        "max_attempts": max_attempts, "run_at": now, "lease_until": None,
        "last_error": None, "created_at": now, "updated_at": now,
    }).inserted_id


def claim(db, worker_id: str, kinds: list[str], lease_seconds: int = DEFAULT_LEASE_SECONDS) -> dict | None:
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


def complete(db, job: dict) -> None:
    db.jobs.update_one(
        {"_id": job["_id"], "worker": job["worker"]},
        {"$set": {"status": "done", "lease_until": None, "updated_at": utc_now()}},
    )


def fail(db, job: dict, error: BaseException, backoff_seconds: float = 2.0) -> str:
    """Record a failed attempt: back to the queue with backoff, or `failed` when out of attempts."""
    now = utc_now()
    message = "".join(traceback.format_exception_only(error)).strip()[:2000]
    if job["attempts"] >= job["max_attempts"] or isinstance(error, PermanentJobError):
        update = {"status": "failed"}
    else:
        delay = backoff_seconds * 2 ** (job["attempts"] - 1)
        update = {"status": "queued", "run_at": now + timedelta(seconds=delay)}
    db.jobs.update_one(
        {"_id": job["_id"], "worker": job["worker"]},
        {"$set": {**update, "lease_until": None, "last_error": message, "updated_at": now}},
    )
    return update["status"]
