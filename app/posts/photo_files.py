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

Who asks matters only for some photos. A published post of a public account is everyone's but
those on either side of a block with its author: for it the viewer is not loaded, only whether a
block joins the author and whom the session cookie names is asked (one lookup in `blocks`, the
truth that the users' id arrays copy), at every request, remembered post or not, so a block holds
from the next request on in every process. Only when there is one (or the post is not yet
published, held, or a private account's) is the viewer loaded and the full rule applied. A shared
cache, though, may hand a public photo to anyone, as it would to a signed-out visitor.
"""
import time
from collections.abc import Callable

from bson import ObjectId

from app.auth.visibility import hidden_by_block
from app.core.db import MongoDatabase
from app.core.errors import NotFoundError
from app.core.recent import Recent
from app.core.statuses import PostStatus
from app.posts.services import can_see, get_post

REMEMBERED_POSTS = 10_000  # ~1 kB each

FilesByPhoto = dict[tuple[int, str], ObjectId]
# A remembered post: its files, and its author (blocks still apply to every viewer).
Remembered = tuple[FilesByPhoto, ObjectId | None]


# By post id: until when it is remembered, and what.
_recent: Recent[str, tuple[float, Remembered]] = Recent(REMEMBERED_POSTS)


def _remembered(post_id: str) -> Remembered | None:
    entry = _recent.get(post_id)
    return entry[1] if entry is not None and entry[0] >= time.monotonic() else None


def may_be_shared(post: dict, hold_threshold: float) -> bool:
    """Whether shared caches may keep the post's photos (see the module's docstring)."""
    if post["status"] != PostStatus.PUBLISHED or post.get("enrichment") != "done" or post.get("author_private"):
        return False
    return post.get("reviewed_at") is not None or (post.get("nsfw") is not None and post["nsfw"] <= hold_threshold)


def open_to_everyone(post: dict) -> bool:
    """Whether only a block can keep someone from seeing the post (see can_see)."""
    return post["status"] == PostStatus.PUBLISHED and not post.get("author_private")


def blocked_between(db: MongoDatabase, user_id: ObjectId, other_id: ObjectId) -> bool:
    """Whether either of the two blocked the other."""
    either = [user_id, other_id]
    return db.blocks.find_one({"blocker_id": {"$in": either}, "blocked_id": {"$in": either}}, {"_id": 1}) is not None


def photo_file(db: MongoDatabase, post_id: str, index: int, rendition: str, viewer_id: ObjectId | None,
               load_viewer: Callable[[], dict | None], remember_seconds: float,
               hold_threshold: float) -> tuple[ObjectId, bool]:
    """(stored file id, whether shared caches may keep it) for this viewer; NotFoundError when they
    may not see it. `viewer_id` is whom the request's session cookie names, `load_viewer` gives the
    signed-in viewer (None when signed out) and is called only when the answer depends on them."""
    remembered = _remembered(post_id) if remember_seconds > 0 else None
    if remembered is not None:
        (files, author_id), shared = remembered, True  # only shareable posts, open to everyone, are remembered
    else:
        post = get_post(db, post_id)
        files = {(photo["index"], name): file_id for photo in post["photos"] for name, file_id in photo["files"].items()}
        author_id = post.get("author_id")
        shared = may_be_shared(post, hold_threshold)
        if shared and remember_seconds > 0:
            _recent.put(post_id, (time.monotonic() + remember_seconds, (files, author_id)))
        if not open_to_everyone(post):
            # Not yet published, held, or a private account's: who asks decides (blocks included).
            if post["status"] in (PostStatus.REJECTED, PostStatus.DELETING) or not can_see(post, load_viewer()):
                raise NotFoundError("No such post.")
            return _named_file(files, index, rendition), shared
    # Everyone's: only a block between the viewer and the author hides it (staff see past blocks).
    if (viewer_id is not None and author_id is not None and blocked_between(db, viewer_id, author_id)
            and hidden_by_block(load_viewer(), author_id)):
        raise NotFoundError("No such post.")
    return _named_file(files, index, rendition), shared


def _named_file(files: FilesByPhoto, index: int, rendition: str) -> ObjectId:
    file_id = files.get((index, rendition))
    if file_id is None:
        raise NotFoundError("No such photo.")
    return file_id
