"""Which posts changed lately, as each process learns it.

Every write to a post (app/posts/revisions.py) and every deletion notes the post's id in the
`post_changes` document of the second it happened (the bucket pattern: one small document a
second, kept an hour). At most every POLL_SECONDS a process reads the buckets of the last
OVERLAP_SECONDS by `_id` and hands on each id it had not read there yet: a write noted by a clock
a little behind, or committed after a later one, is still caught. Reading buckets by key is a
primary-key lookup on any MongoDB; a range over the posts themselves would be a scan on the
embedded server.
"""
import time
from dataclasses import dataclass
from datetime import datetime

from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from app.core.clock import utc_now
from app.core.db import MongoDatabase
from app.core.statuses import PostStatus

POLL_SECONDS = 0.5
OVERLAP_SECONDS = 5
CHANGE_FIELDS = {"author_id": 1, "status": 1, "created_at": 1}


@dataclass(frozen=True)
class PostChange:
    post_id: ObjectId
    author_id: ObjectId | None  # None once deleted (and for anonymous posts)
    created_at: datetime | None
    published: bool  # False once hidden, held or deleted


def note_changed(db: MongoDatabase, post_ids: list[ObjectId]) -> None:
    """After the write: whoever reads the note finds what was written."""
    key, bucket = _bucket_key(int(time.time())), {"$push": {"ids": {"$each": post_ids}}, "$setOnInsert": {"at": utc_now()}}
    try:
        db.post_changes.update_one({"_id": key}, bucket, upsert=True)
    except DuplicateKeyError:  # two first notes of one second raced: the other inserted it
        db.post_changes.update_one({"_id": key}, bucket, upsert=True)


def _bucket_key(second: int) -> str:
    # A string: the embedded server mistook later queries of other collections once one held an int _id.
    return str(second)


class PostChanges:
    """One reader of the changes; not thread-safe: callers hold their own lock around `catch_up`."""

    def __init__(self) -> None:
        self._asked_at: float | None = None  # monotonic
        self._read: dict[str, int] = {}  # bucket -> how many of its ids were handed on

    def catch_up(self, db: MongoDatabase) -> list[PostChange]:
        """The changes not handed on yet (none when asked again within POLL_SECONDS)."""
        if self._asked_at is not None and time.monotonic() - self._asked_at < POLL_SECONDS:
            return []
        asked_at, now = time.monotonic(), int(time.time())
        # And a second ahead, for clocks ahead of ours.
        keys = [_bucket_key(second) for second in range(now - OVERLAP_SECONDS, now + 2)]
        read, changed = {}, []
        for bucket in db.post_changes.find({"_id": {"$in": keys}}):
            ids = bucket.get("ids", [])
            changed += ids[self._read.get(bucket["_id"], 0):]
            read[bucket["_id"]] = len(ids)
        posts = {post["_id"]: post for post in db.posts.find({"_id": {"$in": list(set(changed))}}, CHANGE_FIELDS)} \
            if changed else {}
        self._asked_at, self._read = asked_at, read
        return [_change(post_id, posts.get(post_id)) for post_id in dict.fromkeys(changed)]


def _change(post_id: ObjectId, post: dict | None) -> PostChange:
    if post is None:
        return PostChange(post_id, None, None, False)
    return PostChange(post_id, post.get("author_id"), post.get("created_at"), post["status"] == PostStatus.PUBLISHED)
