"""Posts as one viewer sees them: the shape of app/posts/presenter.py, with whether the viewer
liked and saved each (read for the whole page at once)."""
from concurrent.futures import ThreadPoolExecutor

from bson import ObjectId

from app.core.db import MongoDatabase
from app.posts.presenter import present_post
from app.social.keys import like_key
from app.social.services import SAVED_COUNT

_LOOKUPS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="post-lookups")  # threads start on first use


def present_posts(db: MongoDatabase, posts: list[dict], viewer: dict | None) -> list[dict]:
    post_ids = [post["_id"] for post in posts]
    viewer_id = viewer["_id"] if viewer is not None else None  # read here: `viewer` may be a request-bound proxy
    if viewer is None or not viewer.get(SAVED_COUNT):  # someone with no saves needs no saves lookup
        return _present(posts, _liked_post_ids(db, viewer_id, post_ids), set())
    # Independent reads: asked side by side, a page waits for the slower rather than for both.
    liked_lookup = _LOOKUPS.submit(_liked_post_ids, db, viewer_id, post_ids)
    saved = _saved_post_ids(db, viewer_id, post_ids)
    return _present(posts, liked_lookup.result(), saved)


def _present(posts: list[dict], liked: set[ObjectId], saved: set[ObjectId]) -> list[dict]:
    return [present_post(post, liked_by_me=post["_id"] in liked, saved_by_me=post["_id"] in saved) for post in posts]


def _liked_post_ids(db: MongoDatabase, viewer_id: ObjectId | None, post_ids: list[ObjectId]) -> set[ObjectId]:
    if viewer_id is None or not post_ids:
        return set()
    like_ids = [like_key(post_id, viewer_id) for post_id in post_ids]
    return {row["post_id"] for row in db.likes.find({"_id": {"$in": like_ids}}, {"post_id": 1})}


def _saved_post_ids(db: MongoDatabase, viewer_id: ObjectId | None, post_ids: list[ObjectId]) -> set[ObjectId]:
    if viewer_id is None or not post_ids:
        return set()
    return {row["post_id"] for row in db.saves.find({"user_id": viewer_id, "post_id": {"$in": post_ids}}, {"post_id": 1})}
