"""Which stored file a photo URL (/photos/<post>/<index>/<rendition>) names, and whether shared
caches may keep it.

Only what nothing automatic will take back may sit in shared caches: a published post whose NSFW
score is in and under the hold threshold (or that a moderator approved). Reports and moderators
can still hide it, so caches keep it PHOTO_CACHE_SECONDS at most, then revalidate. Every other
photo a viewer may see (not yet scored, or seen by staff only) is private to the browser.

A published post's photos never change (edits touch its words, not its files). So each process
remembers a shareable post's files until it hears the post changed (app/posts/memory.py: at once
for its own writes, within about a second for others'), or for PHOTO_LOOKUP_SECONDS at most, the
bound on a change no note was left for: without it every image request paid a post lookup, 3x the
cost of a static file. Deleting or hiding a post therefore reaches its image URLs within about a
second in every process, and leaves shared caches within PHOTO_CACHE_SECONDS more. Other posts
are looked up on every request.

Who asks matters only for some photos. A published post of a public account is everyone's but
those on either side of a block with its author: for it the viewer is not loaded, only whom the
session cookie names and whom they blocked or were blocked by, which each process remembers per
viewer until a block or unblock is noted (anyone's: they are rare; the same bounds). Only when a block joins the
two (or the post is not yet published, held, or a private account's) is the viewer loaded and the
full rule applied. A shared cache, though, may hand a public photo to anyone, as it would to a
signed-out visitor.
"""
from collections.abc import Callable

from bson import ObjectId

from app.auth.visibility import hidden_by_block
from app.core.db import MongoDatabase
from app.core.errors import NotFoundError
from app.core.statuses import PostStatus
from app.posts.memory import FilesByPhoto, blocked_with, fresh, memory
from app.posts.services import can_see, get_post, open_to_everyone, parse_object_id


def may_be_shared(post: dict, hold_threshold: float) -> bool:
    """Whether shared caches may keep the post's photos (see the module's docstring)."""
    if post["status"] != PostStatus.PUBLISHED or post.get("enrichment") != "done" or post.get("author_private"):
        return False
    return post.get("reviewed_at") is not None or (post.get("nsfw") is not None and post["nsfw"] <= hold_threshold)


def photo_file(db: MongoDatabase, post_id: str, index: int, rendition: str, viewer_id: ObjectId | None,
               load_viewer: Callable[[], dict | None], remember_seconds: float,
               hold_threshold: float) -> tuple[ObjectId, bool]:
    """(stored file id, whether shared caches may keep it) for this viewer; NotFoundError when they
    may not see it. `viewer_id` is whom the request's session cookie names, `load_viewer` gives the
    signed-in viewer (None when signed out) and is called only when the answer depends on them."""
    key = parse_object_id(post_id)
    if remember_seconds > 0:
        memory.catch_up(db)
    remembered = fresh(memory.photos, key) if remember_seconds > 0 else None
    if remembered is not None:
        (files, author_id), shared = remembered, True  # only shareable posts, open to everyone, are remembered
    else:
        generation = memory.generation
        post = get_post(db, key)
        files = {(photo["index"], name): file_id for photo in post["photos"] for name, file_id in photo["files"].items()}
        author_id = post.get("author_id")
        shared = may_be_shared(post, hold_threshold)
        if shared and remember_seconds > 0:
            memory.keep(memory.photos, key, (files, author_id), remember_seconds, generation)
        if not open_to_everyone(post):
            # Not yet published, held, or a private account's: who asks decides (blocks included).
            if post["status"] in (PostStatus.REJECTED, PostStatus.DELETING) or not can_see(post, load_viewer()):
                raise NotFoundError("No such post.")
            return _named_file(files, index, rendition), shared
    # Everyone's: only a block between the viewer and the author hides it (staff see past blocks).
    if (viewer_id is not None and author_id is not None and author_id in blocked_with(db, viewer_id, remember_seconds)
            and hidden_by_block(load_viewer(), author_id)):
        raise NotFoundError("No such post.")
    return _named_file(files, index, rendition), shared


def _named_file(files: FilesByPhoto, index: int, rendition: str) -> ObjectId:
    file_id = files.get((index, rendition))
    if file_id is None:
        raise NotFoundError("No such photo.")
    return file_id
