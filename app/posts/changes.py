"""Which posts changed lately, and whose blocks, as each process learns it.

Every write to a post (app/posts/revisions.py) and every deletion notes the post's id in the
`post_changes` document of the second it happened (the bucket pattern: one small document a
second, kept an hour); a block or unblock is counted there too (not whose: a note outlives an
account's deletion, and blocks are rare enough that readers forget every viewer's). At most every
POLL_SECONDS a process reads the buckets from OVERLAP_SECONDS before its last read up to now, by
`_id`, and hands on each id it had not read there yet: a write noted by a clock a little behind,
or committed after a later one, is still caught, however long the process went without asking.
After a gap longer than MAX_GAP_SECONDS it says it lost track instead, and its readers forget
what they remembered. A process that noted something itself reads at once: what it wrote shows on
its very next request. Reading buckets by key is a primary-key lookup on any MongoDB; a range over
the posts themselves would be a scan on the embedded server.
"""
import itertools
import time
from dataclasses import dataclass, field
from datetime import datetime

from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from app.core.clock import utc_now
from app.core.db import MongoDatabase
from app.core.statuses import PostStatus

POLL_SECONDS = 0.5
OVERLAP_SECONDS = 5
# Well inside the buckets' hour; a gap longer than this is read as lost track (a few hundred keys at most).
MAX_GAP_SECONDS = 300
CHANGE_FIELDS = {"author_id": 1, "status": 1, "created_at": 1}


class _OwnNotes:
    """How many notes this process wrote: a reader that has not read since reads at once."""
    counter = itertools.count(1)
    written = 0


def notes_written_here() -> int:
    return _OwnNotes.written


@dataclass(frozen=True)
class PostChange:
    post_id: ObjectId
    author_id: ObjectId | None  # None once deleted (and for anonymous posts)
    created_at: datetime | None
    published: bool  # False once hidden, held or deleted


@dataclass(frozen=True)
class Changes:
    """What a reader had not been handed yet. Not `complete`: notes may have been missed, so
    nothing remembered can be trusted."""
    posts: list[PostChange] = field(default_factory=list)
    blocks_changed: bool = False  # someone blocked or unblocked someone
    complete: bool = True


def note_changed(db: MongoDatabase, post_ids: list[ObjectId]) -> None:
    """After the write: whoever reads the note finds what was written."""
    _note(db, {"$push": {"ids": {"$each": post_ids}}})


def note_blocks_changed(db: MongoDatabase) -> None:
    """After a block or unblock is written, on both users' documents too."""
    _note(db, {"$inc": {"blocks": 1}})


def _note(db: MongoDatabase, change: dict) -> None:
    key, bucket = _bucket_key(int(time.time())), {**change, "$setOnInsert": {"at": utc_now()}}
    try:
        db.post_changes.update_one({"_id": key}, bucket, upsert=True)
    except DuplicateKeyError:  # two first notes of one second raced: the other inserted it
        db.post_changes.update_one({"_id": key}, bucket, upsert=True)
    _OwnNotes.written = next(_OwnNotes.counter)


def _bucket_key(second: int) -> str:
    # A string: the embedded server mistook later queries of other collections once one held an int _id.
    return str(second)


class PostChanges:
    """One reader of the changes; not thread-safe: callers hold their own lock around `catch_up`."""

    def __init__(self) -> None:
        self._asked_at: float | None = None  # monotonic
        self._asked_second = 0  # wall clock
        self._noted_when_asked = 0
        self._read: dict[str, tuple[int, int]] = {}  # bucket -> how many of its post ids and blocks were handed on

    def own_note_unread(self) -> bool:
        """Whether this process wrote a note since this reader last read: it must read before it answers."""
        return notes_written_here() != self._noted_when_asked

    def catch_up(self, db: MongoDatabase) -> Changes:
        """The changes not handed on yet (none when asked again within POLL_SECONDS, unless this
        process noted one since)."""
        if (self._asked_at is not None and time.monotonic() - self._asked_at < POLL_SECONDS
                and not self.own_note_unread()):
            return Changes()
        noted_here = notes_written_here()  # before the read: a note written during it is read next time
        asked_at, now = time.monotonic(), int(time.time())
        complete = self._asked_at is None or now - self._asked_second <= MAX_GAP_SECONDS
        since = (self._asked_second if complete and self._asked_at is not None else now) - OVERLAP_SECONDS
        # And a second ahead, for clocks ahead of ours.
        keys = [_bucket_key(second) for second in range(since, now + 2)]
        read, changed, blocks_changed = {}, [], False
        for bucket in db.post_changes.find({"_id": {"$in": keys}}):
            post_ids, blocks = bucket.get("ids", []), bucket.get("blocks", 0)
            posts_read, blocks_read = self._read.get(bucket["_id"], (0, 0))
            changed += post_ids[posts_read:]
            blocks_changed |= blocks > blocks_read
            read[bucket["_id"]] = (len(post_ids), blocks)
        posts = {post["_id"]: post for post in db.posts.find({"_id": {"$in": list(set(changed))}}, CHANGE_FIELDS)} \
            if changed else {}
        self._asked_at, self._asked_second, self._noted_when_asked, self._read = asked_at, now, noted_here, read
        return Changes([_change(post_id, posts.get(post_id)) for post_id in dict.fromkeys(changed)], blocks_changed,
                       complete)


def _change(post_id: ObjectId, post: dict | None) -> PostChange:
    if post is None:
        return PostChange(post_id, None, None, False)
    return PostChange(post_id, post.get("author_id"), post.get("created_at"), post["status"] == PostStatus.PUBLISHED)
