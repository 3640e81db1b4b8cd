"""Whom a viewer must not see, read from the viewer's own user document, which every request
loads anyway: blocks and mutes cost a feed page no extra query, only an `author_id: {$nin: ...}`
on the query it already makes (app/social/blocks.py keeps these arrays with the `blocks` and
`mutes` collections).

Blocks hide both ways: the blocked user no longer sees the blocker, and the blocker no longer
sees the blocked user's posts and comments (a blocker may still open the blocked user's profile,
to unblock). Staff see everything, so that a block never stops a moderator from moderating.
"""
from bson import ObjectId

from app.auth.permissions import is_staff
from app.core.errors import NotFoundError


def blocked_either_way(viewer: dict | None) -> list:
    """Ids of the users the viewer blocked or was blocked by."""
    if viewer is None:
        return []
    return [*viewer.get("blocked_ids", []), *viewer.get("blocked_by_ids", [])]


def unwanted_authors(viewer: dict | None) -> list:
    """Ids whose posts the viewer's feeds and notifications leave out: blocks both ways, and mutes."""
    if viewer is None:
        return []
    return [*blocked_either_way(viewer), *viewer.get("muted_ids", [])]


def without_authors(ids: list, field: str = "author_id") -> dict:
    """A query clause leaving out those ids (none when there are none, so the query stays as it was)."""
    return {field: {"$nin": ids}} if ids else {}


def is_blocked_between(viewer: dict | None, user_id: ObjectId | None) -> bool:
    return user_id is not None and user_id in blocked_either_way(viewer)


def hidden_by_block(viewer: dict | None, user_id: ObjectId | None) -> bool:
    """Whether a block keeps the viewer from seeing what `user_id` wrote (never for staff)."""
    return not is_staff(viewer) and is_blocked_between(viewer, user_id)


def refuse_if_blocked(viewer: dict, user_id: ObjectId | None, message: str) -> None:
    """Interactions across a block (follow, like, comment, report) fail as if the target did not
    exist, for staff too: moderating needs none of them."""
    if is_blocked_between(viewer, user_id):
        raise NotFoundError(message)


# Private accounts (app/social/privacy.py): their posts are for the owner, approved followers and
# staff. Each post keeps `author_private`, so lists for everyone (explore, search, similar,
# for-you) leave them out in the query; followers find them in their home feed.
NOT_PRIVATE = {"author_private": {"$ne": True}}


def may_see_private(viewer: dict | None, author_id: ObjectId) -> bool:
    return viewer is not None and (viewer["_id"] == author_id or author_id in viewer.get("following_ids", [])
                                   or is_staff(viewer))
