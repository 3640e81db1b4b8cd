"""Posts as one viewer sees them: the shape of app/posts/presenter.py, with whether the viewer
liked and saved each (read for the whole page at once).

Each process remembers, per viewer, what they liked and saved of the posts it showed them, for as
long as their `activity` stays the same: only their own like, unlike, save or unsave changes those
answers, and each moves it on (app/posts/revisions.py). A page they see again asks for neither.
It also keeps the shape of each post a feed read as stored (StoredPost) by its revision, the same
for every viewer: building it (three photo URLs a photo) was a fifth of a feed page's web time."""
from concurrent.futures import ThreadPoolExecutor

from bson import ObjectId
from flask import request

from app.core.db import MongoDatabase
from app.core.recent import Recent
from app.posts.presenter import present_post
from app.posts.revisions import StoredPost, activity_of, revision_of
from app.social.keys import like_key
from app.social.services import SAVED_COUNT

_LOOKUPS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="post-lookups")  # threads start on first use
REMEMBERED_VIEWERS = 5_000
PRESENTED_POSTS = 10_000
MARKS_PER_VIEWER = 1_000  # post ids: a few pages' worth

type Marks = dict[ObjectId, tuple[bool, bool]]  # post id -> (liked, saved)


# Per viewer: the activity the marks were read at, and the marks.
_marks: Recent[ObjectId, tuple[int, Marks]] = Recent(REMEMBERED_VIEWERS)
# present_post's answer by (post, revision, script root), for no particular viewer.
_presented: Recent[tuple, dict] = Recent(PRESENTED_POSTS)


def _known_marks(viewer_id: ObjectId, activity: int, post_ids: list[ObjectId]) -> Marks:
    remembered = _marks.get(viewer_id)
    if remembered is None or remembered[0] != activity:
        return {}
    return {post_id: remembered[1][post_id] for post_id in post_ids if post_id in remembered[1]}


def _add_marks(viewer_id: ObjectId, activity: int, marks: Marks) -> None:
    remembered = _marks.get(viewer_id)
    # A new dict each time: another request may be reading the one held.
    kept = {**(remembered[1] if remembered is not None and remembered[0] == activity else {}), **marks}
    if len(kept) > MARKS_PER_VIEWER:
        kept = dict(list(kept.items())[-MARKS_PER_VIEWER:])
    _marks.put(viewer_id, (activity, kept))


def _public_shape(post: dict) -> dict:
    """present_post's answer, kept for a StoredPost; a post changed in memory (an edit's answer) is
    presented afresh."""
    if not isinstance(post, StoredPost):
        return present_post(post)
    key = (post["_id"], revision_of(post), request.script_root)
    presented = _presented.get(key)
    if presented is None:
        presented = present_post(post)
        _presented.put(key, presented)
    return presented


class PresentedPost(dict):
    """A post as present_posts gives it. `stored_as`: the (id, revision) it shows as stored, so that
    what is made from it may be kept by that key; None for a post changed in memory."""
    stored_as: tuple[ObjectId, int] | None = None


def _presented_for_viewer(post: dict, marks: tuple[bool, bool] | None) -> PresentedPost:
    presented = PresentedPost(_public_shape(post))
    if marks is not None:
        presented["liked_by_me"], presented["saved_by_me"] = marks
    if isinstance(post, StoredPost):
        presented.stored_as = (post["_id"], revision_of(post))
    return presented


def present_posts(db: MongoDatabase, posts: list[dict], viewer: dict | None) -> list[PresentedPost]:
    if viewer is None:
        return [_presented_for_viewer(post, None) for post in posts]
    viewer_id, activity = viewer["_id"], activity_of(viewer)  # read here: `viewer` may be a request-bound proxy
    post_ids = [post["_id"] for post in posts]
    marks = _known_marks(viewer_id, activity, post_ids)
    unknown = [post_id for post_id in post_ids if post_id not in marks]
    if unknown:
        found = _looked_up(db, viewer_id, unknown, has_saves=bool(viewer.get(SAVED_COUNT)))
        _add_marks(viewer_id, activity, found)
        marks |= found
    return [_presented_for_viewer(post, marks[post["_id"]]) for post in posts]


def _looked_up(db: MongoDatabase, viewer_id: ObjectId, post_ids: list[ObjectId], *, has_saves: bool) -> Marks:
    if not has_saves:  # someone with no saves needs no saves lookup
        liked, saved = _liked_post_ids(db, viewer_id, post_ids), set()
    else:
        # Independent reads: asked side by side, a page waits for the slower rather than for both.
        liked_lookup = _LOOKUPS.submit(_liked_post_ids, db, viewer_id, post_ids)
        saved = _saved_post_ids(db, viewer_id, post_ids)
        liked = liked_lookup.result()
    return {post_id: (post_id in liked, post_id in saved) for post_id in post_ids}


def _liked_post_ids(db: MongoDatabase, viewer_id: ObjectId, post_ids: list[ObjectId]) -> set[ObjectId]:
    like_ids = [like_key(post_id, viewer_id) for post_id in post_ids]
    return {row["post_id"] for row in db.likes.find({"_id": {"$in": like_ids}}, {"post_id": 1})}


def _saved_post_ids(db: MongoDatabase, viewer_id: ObjectId, post_ids: list[ObjectId]) -> set[ObjectId]:
    return {row["post_id"] for row in db.saves.find({"user_id": viewer_id, "post_id": {"$in": post_ids}}, {"post_id": 1})}
