"""Every write to a post, and post documents held by each process while their revision holds.

Posts are written only through `change_post`, `change_post_and_read` and `change_posts`
(tests/test_post_revisions.py finds any other write to `posts`). Each moves the post's `revision`
on and then notes the change where every process looks for changes (app/posts/changes.py).

A page may ask the database only for the ids, sort keys and revisions of its posts (explore, and
home feed pages remembered by app/feeds/first_pages.py), and take each post from memory when the
revision held is the one just read. So a page shows what a full read would have shown at that
moment: a like, an edit, a rename is seen on the next request, in every process, and a hidden or
deleted post drops out because the page's own query no longer finds it. Nothing here decides who
may see a post; the query does.
"""
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.collection import Collection
from pymongo.results import UpdateResult

from app.core.clock import utc_now
from app.core.db import Document, MongoDatabase
from app.core.recent import Recent
from app.posts.changes import note_changed

REVISION = "revision"
# On the user document: moved on by each of their own writes a feed shows them (a like, a save, a
# comment, a post, an edit, a deletion), so what a process remembers for them is not used after it.
ACTIVITY = "activity"
ACTIVITY_AT = "activity_at"  # when it last moved on
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
    fields = [*changes, ACTIVITY_AT]
    updated = db.users.find_one_and_update({"_id": user["_id"]}, {"$inc": changes, "$set": {ACTIVITY_AT: utc_now()}},
                                           projection=dict.fromkeys(fields, 1), return_document=ReturnDocument.AFTER)
    if updated is not None:
        for field in fields:
            user[field] = updated[field]


def activity_of(user: dict) -> int:
    return user.get(ACTIVITY, 0)


def revision_of(post: dict) -> int:
    return post.get(REVISION, 0)  # posts written before revisions existed


class StoredPost(dict):
    """A post document exactly as stored at its revision (not changed in memory since it was read):
    what is derived from it may be kept by (id, revision)."""


# Post documents by id. A revision newer than the one asked for is as much a miss as none.
_held: Recent[ObjectId, dict] = Recent(HELD_POSTS)


def _held_at(post_id: ObjectId, revision: int) -> dict | None:
    post = _held.get(post_id)
    return post if post is not None and revision_of(post) == revision else None


def _hold(post: dict) -> None:
    held = _held.get(post["_id"])
    if held is None or revision_of(held) <= revision_of(post):  # not a slower reader's older copy
        _held.put(post["_id"], post)


def stored_posts(posts: list[dict]) -> list[dict]:
    """Posts just read whole, held for the pages that will ask for them by revision."""
    for post in posts:
        _hold(post)
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
    found = {stub["_id"]: _held_at(stub["_id"], revision_of(stub)) for stub in stubs}
    missing = [post_id for post_id, post in found.items() if post is None]
    if missing:
        for read in posts.find({"$and": [query, {"_id": {"$in": missing}}]}):
            _hold(read)
            found[read["_id"]] = read
    # Shallow copies: a caller adding a key must not change what others are handed.
    return [StoredPost(post) for stub in stubs if (post := found[stub["_id"]]) is not None]
