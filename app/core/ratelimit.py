"""Fixed-window rate limits counted in MongoDB, so every process of the app shares the counts."""
import hashlib
import time
from datetime import UTC, datetime

from flask import current_app
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from app.core.db import get_db
from app.core.errors import RateLimitedError


def hit(scope: str, subject: str, *, limit: int, window_seconds: int) -> None:
    """Count one attempt of `scope` by `subject` (an IP, an account); raise when over `limit`."""
    if not current_app.config["RATELIMIT_ENABLED"]:
        return
    now = time.time()
    window = int(now // window_seconds)
    # Hash the subject: IPs and emails need not sit in the database in clear.
    digest = hashlib.sha256(subject.lower().encode()).hexdigest()[:32]
    key = f"{scope}:{digest}:{window}"
    expires_at = datetime.fromtimestamp((window + 1) * window_seconds, UTC)
    for _ in range(2):  # two first hits racing on the upsert: the loser retries as an update
        try:
            counter = get_db().rate_limits.find_one_and_update(
                {"_id": key}, {"$inc": {"count": 1}, "$setOnInsert": {"expires_at": expires_at}},
                upsert=True, return_document=ReturnDocument.AFTER,
            )
            break
        except DuplicateKeyError:
            continue
    else:
        raise RateLimitedError("Too many attempts at once. Please try again.", retry_after=1)
    if counter["count"] > limit:
        retry_after = max(1, int((window + 1) * window_seconds - now))
        raise RateLimitedError("Too many attempts. Please wait a little and try again.", retry_after=retry_after)
