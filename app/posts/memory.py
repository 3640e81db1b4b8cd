"""What each process remembers of posts, and of whom each viewer blocked, until it hears of a change.

Entries go when app/posts/changes.py hands on a note that names them (at once for this process's own
writes, within about a second for others'), all of them when the process lost track of the notes,
and each at the latest after the caller's `remember_seconds`: the bound on a change no note was
left for. What was read while a change was handed on is not kept (`generation`): it may predate it.

- photo files of shareable posts, for photo URLs (app/posts/photo_files.py);
- whole posts open to everyone, for post pages (`shown_post`);
- per viewer, whom they blocked or were blocked by (any block or unblock clears them all: they are
  rare, and a note naming no one outlives no deleted account).
"""
import random
import threading
import time
from datetime import timedelta

from bson import ObjectId

from app.auth.visibility import blocked_either_way
from app.core.clock import utc_now
from app.core.db import MongoDatabase
from app.core.recent import Recent
from app.posts.changes import Changes, PostChanges
from app.posts.revisions import ACTIVITY_AT, HELD_POSTS, StoredPost
from app.posts.services import get_post, open_to_everyone, parse_object_id, visible_to

REMEMBERED_PHOTOS = 50_000  # ~0.5 kB each
REMEMBERED_VIEWERS = 10_000
BLOCK_FIELDS = {"blocked_ids": 1, "blocked_by_ids": 1}
# A viewer's own write reaches every process's memory within POLL_SECONDS of its note: until well
# after it, what they see is read afresh (a like they just gave counted, a comment just written shown).
OWN_WRITE_SETTLES = timedelta(seconds=5)

FilesByPhoto = dict[tuple[int, str], ObjectId]
# A post's photo files, and its author (blocks still apply to every viewer).
PhotoFiles = tuple[FilesByPhoto, ObjectId | None]


class _Memory:
    """Each entry with the monotonic time it lapses."""

    def __init__(self) -> None:
        self.photos: Recent[ObjectId, tuple[float, PhotoFiles]] = Recent(REMEMBERED_PHOTOS)
        self.posts: Recent[ObjectId, tuple[float, dict]] = Recent(HELD_POSTS)
        self.blocks: Recent[ObjectId, tuple[float, frozenset[ObjectId]]] = Recent(REMEMBERED_VIEWERS)
        self._changes = PostChanges()
        self._lock = threading.Lock()
        # Moves on at every change handed on: what was read while it moved may predate the change.
        self.generation = 0

    def catch_up(self, db: MongoDatabase) -> None:
        # While one request reads the notes, the others go on with what is remembered (half a second
        # and one read behind at most) instead of queueing behind its round trip: that wait was most
        # of a photo's tail. Only a request that must see this process's own write waits for it.
        if not self._lock.acquire(blocking=self._changes.own_note_unread()):
            return
        try:
            self._hand_on(self._changes.catch_up(db))
        finally:
            self._lock.release()

    def _hand_on(self, changes: Changes) -> None:
        if not changes.complete:
            self.photos.clear()
            self.posts.clear()
            self.blocks.clear()
        for change in changes.posts:
            self.photos.discard(change.post_id)
            self.posts.discard(change.post_id)
        if changes.blocks_changed:
            self.blocks.clear()
        if changes.posts or changes.blocks_changed or not changes.complete:
            self.generation += 1

    def keep[K, V](self, entries: Recent[K, tuple[float, V]], key: K, value: V, remember_seconds: float,
                   read_at_generation: int) -> None:
        """Remember what was read when `generation` was `read_at_generation`, unless a change was
        handed on since: the read may predate it."""
        if read_at_generation == self.generation:
            entries.put(key, (_lapses_after(remember_seconds), value))


memory = _Memory()


def _lapses_after(remember_seconds: float) -> float:
    """When an entry made now lapses: between half and all of `remember_seconds`, spread so that
    entries made together (after a restart, or a bench's warm-up) are not all looked up again at once."""
    return time.monotonic() + remember_seconds * random.uniform(0.5, 1)  # nosec B311  # spreads, guards nothing


def fresh[K, V](entries: Recent[K, tuple[float, V]], key: K) -> V | None:
    entry = entries.get(key)
    return entry[1] if entry is not None and entry[0] >= time.monotonic() else None


def blocked_with(db: MongoDatabase, viewer_id: ObjectId, remember_seconds: float) -> frozenset[ObjectId]:
    """Everyone the viewer blocked or was blocked by."""
    remembered = fresh(memory.blocks, viewer_id) if remember_seconds > 0 else None
    if remembered is not None:
        return remembered
    generation = memory.generation
    viewer = db.users.find_one({"_id": viewer_id}, BLOCK_FIELDS)
    blocked = frozenset(blocked_either_way(viewer) if viewer is not None else ())
    if remember_seconds > 0:
        memory.keep(memory.blocks, viewer_id, blocked, remember_seconds, generation)
    return blocked


def shown_post(db: MongoDatabase, post_id: str, viewer: dict | None, remember_seconds: float) -> dict:
    """The post as a post page shows it to `viewer` (get_visible_post's answer, a StoredPost), from
    memory when it is open to everyone and the viewer wrote nothing lately. Whether the viewer may
    see it is decided afresh each time: a block they make counts at once."""
    acted_at = viewer.get(ACTIVITY_AT) if viewer is not None else None
    may_remember = remember_seconds > 0 and (acted_at is None or utc_now() - acted_at > OWN_WRITE_SETTLES)
    key, post = parse_object_id(post_id), None
    if may_remember:
        memory.catch_up(db)
        post = fresh(memory.posts, key)
    if post is None:
        generation = memory.generation
        post = get_post(db, key)
        if may_remember and open_to_everyone(post):
            memory.keep(memory.posts, key, post, remember_seconds, generation)
    return visible_to(StoredPost(post), viewer)  # a copy: a caller adding a key must not change what others are handed
