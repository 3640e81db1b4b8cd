"""What each process remembers of posts, and of whom each viewer blocked, until it hears of a change.

Entries go when app/posts/changes.py hands on a note that names them (at once for this process's own
writes, within about a second for others'), and all of them when the process lost track of the
notes. What was read while a change was handed on is not kept (`generation`): it may predate it.

A change no note was left for (a process that died between a write and its note, an edit made by
hand in the database) is bounded by the caller's `remember_seconds`: each post entry is re-checked
before it lapses against the post as stored now, in one query for all the entries coming due (at
most every POLL_SECONDS), not one lookup per request; one whose post changed in any way, or went,
is dropped. An entry is used only until it lapses, so a re-check that did not happen (a quiet
process) means a lookup, never a stale answer.

- photo files of shareable posts, for photo URLs (app/posts/photo_files.py);
- whole posts open to everyone, for post pages (`shown_post`);
- per viewer, whom they blocked or were blocked by (any block or unblock clears them all: they are
  rare, and a note naming no one outlives no deleted account); these simply lapse.
"""
import hashlib
import heapq
import random
import threading
import time
from datetime import timedelta
from typing import Any

import bson
from bson import ObjectId
from pymongo.errors import PyMongoError

from app.auth.visibility import blocked_either_way
from app.core.clock import utc_now
from app.core.db import MongoDatabase
from app.core.recent import Recent
from app.posts.changes import POLL_SECONDS, PostChanges
from app.posts.revisions import ACTIVITY_AT, HELD_POSTS, StoredPost
from app.posts.services import get_post, open_to_everyone, parse_object_id, visible_to

REMEMBERED_PHOTOS = 50_000  # ~0.5 kB each
REMEMBERED_VIEWERS = 10_000
BLOCK_FIELDS = {"blocked_ids": 1, "blocked_by_ids": 1}
# A viewer's own write reaches every process's memory within POLL_SECONDS of its note: until well
# after it, what they see is read afresh (a like they just gave counted, a comment just written shown).
OWN_WRITE_SETTLES = timedelta(seconds=5)
RECHECK_AHEAD_SECONDS = 30  # entries lapsing this soon are re-checked (at most every POLL_SECONDS)
RECHECKED_AT_MOST = 1000  # posts a re-check asks for in one query

FilesByPhoto = dict[tuple[int, str], ObjectId]
# A post's photo files, and its author (blocks still apply to every viewer).
PhotoFiles = tuple[FilesByPhoto, ObjectId | None]
# (monotonic time it lapses, the digest of the post it was made from, what is remembered)
type Entry[V] = tuple[float, bytes, V]


class _Memory:
    def __init__(self) -> None:
        self.photos: Recent[ObjectId, Entry[PhotoFiles]] = Recent(REMEMBERED_PHOTOS)
        self.posts: Recent[ObjectId, Entry[dict]] = Recent(HELD_POSTS)
        self.blocks: Recent[ObjectId, Entry[frozenset[ObjectId]]] = Recent(REMEMBERED_VIEWERS)
        self._changes = PostChanges()
        self._lock = threading.Lock()
        # Moves on at every change handed on: what was read while it moved may predate the change.
        self.generation = 0
        self._due: list[tuple[float, ObjectId]] = []  # heap: when each post entry put lapses
        self._rechecked_at = 0.0

    def catch_up(self, db: MongoDatabase, remember_seconds: float) -> None:
        with self._lock:
            changes = self._changes.catch_up(db)
            if not changes.complete:
                self.photos.clear()
                self.posts.clear()
                self.blocks.clear()
                self._due.clear()
            for change in changes.posts:
                self.photos.discard(change.post_id)
                self.posts.discard(change.post_id)
            if changes.blocks_changed:
                self.blocks.clear()
            if changes.posts or changes.blocks_changed or not changes.complete:
                self.generation += 1
            due = self._take_due() if time.monotonic() - self._rechecked_at >= POLL_SECONDS else {}
        if due:  # read without the lock: requests go on meanwhile
            self._recheck(db, due, remember_seconds)

    def remember_post[V](self, entries: Recent[ObjectId, Entry[V]], post: dict, value: V, remember_seconds: float) -> None:
        lapses = lapses_after(remember_seconds)
        entries.put(post["_id"], (lapses, _digest(post), value))
        with self._lock:
            heapq.heappush(self._due, (lapses, post["_id"]))
            if len(self._due) > 4 * (REMEMBERED_PHOTOS + HELD_POSTS):  # mostly entries long gone: start over
                self._due = [(entry[0], key) for entries in (self.photos, self.posts) for key in entries.keys()
                             if (entry := entries.peek(key)) is not None]
                heapq.heapify(self._due)

    def _take_due(self) -> dict[ObjectId, list[tuple[Recent[ObjectId, Entry[Any]], Entry[Any]]]]:
        """The entries about to lapse, by post, each with where it is held. Under the lock."""
        self._rechecked_at = now = time.monotonic()
        due: dict[ObjectId, list[tuple[Recent[ObjectId, Entry[Any]], Entry[Any]]]] = {}
        while self._due and self._due[0][0] <= now + RECHECK_AHEAD_SECONDS and len(due) < RECHECKED_AT_MOST:
            post_id = heapq.heappop(self._due)[1]
            held = [(entries, entry) for entries in (self.photos, self.posts)
                    if (entry := entries.peek(post_id)) is not None and entry[0] <= now + RECHECK_AHEAD_SECONDS]
            if held:  # else gone, or put again since: its own turn will come
                due.setdefault(post_id, []).extend(held)
        return due

    def _recheck(self, db: MongoDatabase, due: dict[ObjectId, list[tuple[Recent[ObjectId, Entry[Any]], Entry[Any]]]],
                 remember_seconds: float) -> None:
        """Entries whose post is still as they were made from live on; the others go."""
        try:
            digests = {post["_id"]: _digest(post) for post in db.posts.find({"_id": {"$in": list(due)}})}
        except PyMongoError:
            return  # not this request's failure: the entries lapse, and are looked up when asked for
        with self._lock:
            for post_id, held in due.items():
                for entries, entry in held:
                    if entries.peek(post_id) is not entry:
                        continue  # dropped or made again while the posts were read
                    if digests.get(post_id) == entry[1]:
                        lapses = lapses_after(remember_seconds)
                        entries.renew(post_id, (lapses, entry[1], entry[2]))
                        heapq.heappush(self._due, (lapses, post_id))
                    else:
                        entries.discard(post_id)
                        self.generation += 1


memory = _Memory()


def _digest(post: dict) -> bytes:
    """Equal for the same stored document, read twice."""
    return hashlib.blake2b(bson.encode(post), digest_size=16).digest()


def lapses_after(remember_seconds: float) -> float:
    """When an entry made now lapses: between half and all of `remember_seconds`, spread so that
    entries made together (after a restart, or a bench's warm-up) are not all looked up again at once."""
    return time.monotonic() + remember_seconds * random.uniform(0.5, 1)  # nosec B311  # spreads, guards nothing


def fresh[K, V](entries: Recent[K, Entry[V]], key: K) -> V | None:
    entry = entries.get(key)
    return entry[2] if entry is not None and entry[0] >= time.monotonic() else None


def blocked_with(db: MongoDatabase, viewer_id: ObjectId, remember_seconds: float) -> frozenset[ObjectId]:
    """Everyone the viewer blocked or was blocked by."""
    remembered = fresh(memory.blocks, viewer_id) if remember_seconds > 0 else None
    if remembered is not None:
        return remembered
    generation = memory.generation
    viewer = db.users.find_one({"_id": viewer_id}, BLOCK_FIELDS)
    blocked = frozenset(blocked_either_way(viewer) if viewer is not None else ())
    if remember_seconds > 0 and generation == memory.generation:
        memory.blocks.put(viewer_id, (lapses_after(remember_seconds), b"", blocked))
    return blocked


def shown_post(db: MongoDatabase, post_id: str, viewer: dict | None, remember_seconds: float) -> dict:
    """The post as a post page shows it to `viewer` (get_visible_post's answer, a StoredPost), from
    memory when it is open to everyone and the viewer wrote nothing lately. Whether the viewer may
    see it is decided afresh each time: a block they make counts at once."""
    acted_at = viewer.get(ACTIVITY_AT) if viewer is not None else None
    may_remember = remember_seconds > 0 and (acted_at is None or utc_now() - acted_at > OWN_WRITE_SETTLES)
    key, post = parse_object_id(post_id), None
    if may_remember:
        memory.catch_up(db, remember_seconds)
        post = fresh(memory.posts, key)
    if post is None:
        generation = memory.generation
        post = get_post(db, key)
        if may_remember and open_to_everyone(post) and generation == memory.generation:
            memory.remember_post(memory.posts, post, post, remember_seconds)
    return visible_to(StoredPost(post), viewer)  # a copy: a caller adding a key must not change what others are handed
