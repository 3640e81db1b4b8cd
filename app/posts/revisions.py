"""Every write to a post, and post documents held by each process while their revision holds.

Posts are written only through `change_post`, `change_post_and_read` and `change_posts`
(tests/test_post_revisions.py finds any other write to `posts`). Each moves the post's `revision`
on and then notes the change where every process looks for changes (app/posts/changes.py).

A feed asks the database only for the ids, sort keys and revisions of its page, which costs the
server a fraction of sending whole posts, and takes each post from memory when the revision it
holds is the one just read. So a page shows what a full read would have shown at that moment: a
like, an edit, a rename is seen on the next request, in every process, and a hidden or deleted
post drops out because the page's own query no longer finds it. Nothing here decides who may see
a post; the query does.
"""
import threading
from collections import OrderedDict
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.collection import Collection
from pymongo.results import UpdateResult

from app.core.db import Document, MongoDatabase
from app.posts.changes import note_changed

REVISION = "revision"
# On the user document: moved on by each of their own writes a feed shows them (a like, a save, a
# comment, a post, an edit, a deletion), so what a process remembers for them is not used after it.
ACTIVITY = "activity"
HELD_POSTS = 10_000  # ~2 kB each: about 20 MB a process at most


def _revised(update: dict | list) -> dict | list:
    """`update` (update operators, or a pipeline) that also moves the revision on."""
    if isinstance(update, list):
        return [*update, {"$set": {REVISION: {"$add": [{"$ifNull": [f"${REVISION}", 0]}, 1]}}}]
    return {**update, "$inc": {**update.get("$inc", {}), REVISION: 1}}


def change_post(db: MongoDatabase, query: dict, update: dict | list, **options: Any) -> UpdateResult:
    """update_one on the post `query["_id"]` names."""
    result = db.posts.update_one(query, _revised(update), **options)
    if result.modified_count:
        note_changed(db, [query["_id"]])
    return result


def change_post_and_read(db: MongoDatabase, query: dict, update: dict | list, **options: Any) -> dict | None:
    """find_one_and_update on the post `query["_id"]` names."""
    found = db.posts.find_one_and_update(query, _revised(update), **options)
    if found is not None:
        note_changed(db, [query["_id"]])
    return found


def change_posts(db: MongoDatabase, query: dict, update: dict | list) -> None:
    """update_many: the posts it will change are read first, to note them."""
    ids = db.posts.distinct("_id", query)
    if ids:
        db.posts.update_many({"$and": [query, {"_id": {"$in": ids}}]}, _revised(update))
        note_changed(db, ids)


def mark_activity(db: MongoDatabase, user: dict, counts: dict[str, int] | None = None) -> None:
    """After the write itself: whoever reads the new activity finds what it did. `counts` are kept
    on the user in the same update. The request's own copy of the user takes the new values too, so
    what it shows after the write is not taken from what was remembered before it."""
    changes = {ACTIVITY: 1, **(counts or {})}
    updated = db.users.find_one_and_update({"_id": user["_id"]}, {"$inc": changes},
                                           projection=dict.fromkeys(changes, 1), return_document=ReturnDocument.AFTER)
    if updated is not None:
        for field in changes:
            user[field] = updated[field]


def activity_of(user: dict) -> int:
    return user.get(ACTIVITY, 0)


def revision_of(post: dict) -> int:
    return post.get(REVISION, 0)  # posts written before revisions existed


class StoredPost(dict):
    """A post document exactly as stored at its revision (not changed in memory since it was read):
    what is derived from it may be kept by (id, revision)."""


class _HeldPosts:
    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: OrderedDict[ObjectId, dict] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, post_id: ObjectId, revision: int) -> dict | None:
        with self._lock:
            post = self._entries.get(post_id)
            if post is None or revision_of(post) != revision:
                return None
            self._entries.move_to_end(post_id)
            return post

    def put(self, post: dict) -> None:
        with self._lock:
            held = self._entries.get(post["_id"])
            if held is not None and revision_of(held) > revision_of(post):
                return  # a slower reader's older copy
            self._entries[post["_id"]] = post
            self._entries.move_to_end(post["_id"])
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)


_held = _HeldPosts(HELD_POSTS)


def stored_posts(posts: list[dict]) -> list[dict]:
    """Posts just read whole, held for the pages that will ask for them by revision."""
    for post in posts:
        _held.put(post)
    return [StoredPost(post) for post in posts]


def page_fields(sort_field: str) -> dict:
    """What a page's query reads of each post: enough to order it, page on and find it in memory."""
    return {"_id": 1, sort_field: 1, REVISION: 1}


def stubs_of(posts: list[dict], sort_field: str) -> list[dict]:
    """What a query with `page_fields` would have read of these posts."""
    return [{"_id": post["_id"], sort_field: post[sort_field], REVISION: revision_of(post)} for post in posts]


def whole_posts(posts: Collection[Document], query: dict, stubs: list[dict]) -> list[dict]:
    """The posts `stubs` (read with `page_fields`) name, in their order, at the revisions read.
    Those not held at that revision are read in one query that repeats the page's `query`, so a
    post that stopped matching in between is left out rather than shown."""
    found: dict[ObjectId, dict | None] = {stub["_id"]: _held.get(stub["_id"], revision_of(stub)) for stub in stubs}
    missing = [post_id for post_id, post in found.items() if post is None]
    if missing:
        for read in posts.find({"$and": [query, {"_id": {"$in": missing}}]}):
            _held.put(read)
            found[read["_id"]] = read
    # Shallow copies: a caller adding a key must not change what others are handed.
    return [StoredPost(post) for stub in stubs if (post := found[stub["_id"]]) is not None]
