"""Which stored file a photo URL (/photos/<post>/<index>/<rendition>) names, and whether shared
caches may keep it.

Only what nothing automatic will take back may sit in shared caches: a published post whose NSFW
score is in and under the hold threshold (or that a moderator approved). Reports and moderators
can still hide it, so caches keep it PHOTO_CACHE_SECONDS at most, then revalidate. Every other
photo a viewer may see (not yet scored, or seen by staff only) is private to the browser.

A published post's photos never change (edits touch its words, not its files). So each process
remembers a shareable post's files for a few seconds: without it every image request paid a post
lookup, 3x the cost of a static file. Deleting or hiding a post therefore reaches an image URL
within PHOTO_LOOKUP_SECONDS in every process (kept no longer than PHOTO_CACHE_SECONDS), and leaves
shared caches within the sum of the two. Other posts are looked up on every request.

Blocks hold for remembered posts too: the author is remembered with the files, and a viewer the
author blocked (or who blocked the author) gets 404. A shared cache, though, may hand a public
photo to anyone, as it would to a signed-out visitor.
"""
import threading
import time
from collections import OrderedDict

from bson import ObjectId

from app.auth.visibility import hidden_by_block
from app.core.db import MongoDatabase
from app.core.errors import NotFoundError
from app.core.statuses import PostStatus
from app.posts.services import get_visible_post

REMEMBERED_POSTS = 10_000  # ~1 kB each

FilesByPhoto = dict[tuple[int, str], ObjectId]
# A remembered post: its files, and its author (blocks still apply to every viewer).
Remembered = tuple[FilesByPhoto, ObjectId | None]


class _RecentlyPublished:
    def __init__(self) -> None:
        self._entries: OrderedDict[str, tuple[float, Remembered]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, post_id: str) -> Remembered | None:
        with self._lock:
            entry = self._entries.get(post_id)
            if entry is None or entry[0] < time.monotonic():
                return None
            return entry[1]

    def put(self, post_id: str, remembered: Remembered, seconds: float) -> None:
        with self._lock:
            self._entries[post_id] = (time.monotonic() + seconds, remembered)
            self._entries.move_to_end(post_id)
            while len(self._entries) > REMEMBERED_POSTS:
                self._entries.popitem(last=False)


_recent = _RecentlyPublished()


def may_be_shared(post: dict, hold_threshold: float) -> bool:
    """Whether shared caches may keep the post's photos (see the module's docstring)."""
    if post["status"] != PostStatus.PUBLISHED or post.get("enrichment") != "done" or post.get("author_private"):
        return False
    return post.get("reviewed_at") is not None or (post.get("nsfw") is not None and post["nsfw"] <= hold_threshold)


def photo_file(db: MongoDatabase, post_id: str, index: int, rendition: str, viewer: dict | None,
               remember_seconds: float, hold_threshold: float) -> tuple[ObjectId, bool]:
    """(stored file id, whether shared caches may keep it) for this viewer; NotFoundError when they
    may not see it."""
    remembered = _recent.get(post_id) if remember_seconds > 0 else None
    shared = True  # only shareable posts are remembered
    if remembered is None:
        post = get_visible_post(db, post_id, viewer)
        files = {(photo["index"], name): file_id for photo in post["photos"] for name, file_id in photo["files"].items()}
        shared = may_be_shared(post, hold_threshold)
        if shared and remember_seconds > 0:
            _recent.put(post_id, (files, post.get("author_id")), remember_seconds)
    else:
        files, author_id = remembered
        if hidden_by_block(viewer, author_id):
            raise NotFoundError("No such post.")
    file_id = files.get((index, rendition))
    if file_id is None:
        raise NotFoundError("No such photo.")
    return file_id, shared
