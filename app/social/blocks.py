"""Blocks and mutes. The `blocks` and `mutes` collections (one document per pair, keyed by it) are
the truth; the ids also ride on the users (`blocked_ids` and `blocked_by_ids`, `muted_ids`), which
every request loads, so that feeds filter without a query (app/auth/visibility.py). `flask doctor`
checks the two agree. A block or unblock is noted as a change (app/posts/changes.py) once both
users carry it: processes that remember whom someone blocked (photo URLs) hear of it.

A block removes follows both ways and hides each from the other (see app/auth/visibility.py); a
mute only keeps the muted user's posts and notifications out of the muter's feeds and inbox.
"""
from dataclasses import dataclass

from pymongo.errors import DuplicateKeyError

from app.auth.permissions import is_staff
from app.auth.services import get_active_user
from app.core.clock import utc_now
from app.core.db import MongoDatabase
from app.core.errors import NotFoundError, ValidationError
from app.posts.changes import note_blocks_changed
from app.social.keys import relation_key
from app.social.services import listed_users, recount_unread, unfollow


@dataclass(frozen=True)
class Relation:
    """How one kind of relation is stored: its collection, the fields naming its two users, and the
    id arrays kept on the owner (and on the other user, for blocks)."""
    collection: str
    owner_field: str
    other_field: str
    kept: str
    kept_on_other: str | None
    refusal: str


BLOCK = Relation("blocks", "blocker_id", "blocked_id", "blocked_ids", "blocked_by_ids", "You cannot block yourself.")
MUTE = Relation("mutes", "muter_id", "muted_id", "muted_ids", None, "You cannot mute yourself.")
RELATIONS = (BLOCK, MUTE)


def get_visible_user(db: MongoDatabase, username: str, viewer: dict | None) -> dict:
    """The profile `username` names, unless its owner blocked the viewer: then there is none. The
    blocker still finds whom they blocked (to unblock)."""
    user = get_active_user(db, username)
    if viewer is not None and user["_id"] in viewer.get("blocked_by_ids", []) and not is_staff(viewer):
        raise NotFoundError("No such user.")
    return user


def _add(db: MongoDatabase, relation: Relation, owner: dict, other: dict) -> bool:
    if owner["_id"] == other["_id"]:
        raise ValidationError(relation.refusal)
    try:
        db[relation.collection].insert_one({"_id": relation_key(owner["_id"], other["_id"]),
                                            relation.owner_field: owner["_id"], relation.other_field: other["_id"],
                                            "created_at": utc_now()})
    except DuplicateKeyError:
        return False
    db.users.update_one({"_id": owner["_id"]}, {"$addToSet": {relation.kept: other["_id"]}})
    if relation.kept_on_other:
        db.users.update_one({"_id": other["_id"]}, {"$addToSet": {relation.kept_on_other: owner["_id"]}})
        note_blocks_changed(db)
    _recount_inboxes(db, relation, owner, other)
    return True


def _remove(db: MongoDatabase, relation: Relation, owner: dict, other: dict) -> bool:
    if not db[relation.collection].delete_one({"_id": relation_key(owner["_id"], other["_id"])}).deleted_count:
        return False
    db.users.update_one({"_id": owner["_id"]}, {"$pull": {relation.kept: other["_id"]}})
    if relation.kept_on_other:
        db.users.update_one({"_id": other["_id"]}, {"$pull": {relation.kept_on_other: owner["_id"]}})
        note_blocks_changed(db)
    _recount_inboxes(db, relation, owner, other)
    return True


def _recount_inboxes(db: MongoDatabase, relation: Relation, owner: dict, other: dict) -> None:
    """The inbox hides notifications from those blocked (either way) or muted: a change shows in the
    unread counts of whose inboxes it changed."""
    recount_unread(db, owner["_id"])
    if relation.kept_on_other:
        recount_unread(db, other["_id"])


def block(db: MongoDatabase, blocker: dict, blocked: dict) -> bool:
    if not _add(db, BLOCK, blocker, blocked):
        return False
    unfollow(db, blocker, blocked)
    unfollow(db, blocked, blocker)
    db.follow_requests.delete_many({"_id": {"$in": [relation_key(blocker["_id"], blocked["_id"]),
                                                    relation_key(blocked["_id"], blocker["_id"])]}})
    return True


def unblock(db: MongoDatabase, blocker: dict, blocked: dict) -> bool:
    """Lifts the block; the follows it removed stay removed."""
    return _remove(db, BLOCK, blocker, blocked)


def mute(db: MongoDatabase, muter: dict, muted: dict) -> bool:
    return _add(db, MUTE, muter, muted)


def unmute(db: MongoDatabase, muter: dict, muted: dict) -> bool:
    return _remove(db, MUTE, muter, muted)


def related_users(db: MongoDatabase, relation: Relation, user: dict, cursor: str | None, limit: int) -> tuple[list[dict], str | None]:
    """Whom `user` blocked (or muted), latest first."""
    return listed_users(db, db[relation.collection], {relation.owner_field: user["_id"]}, relation.other_field,
                        cursor, limit)


def relation(viewer: dict | None, user: dict) -> dict:
    """Whether the viewer blocked or muted `user` (the profile's buttons)."""
    if viewer is None:
        return {"blocked_by_me": False, "muted_by_me": False}
    return {"blocked_by_me": user["_id"] in viewer.get("blocked_ids", []),
            "muted_by_me": user["_id"] in viewer.get("muted_ids", [])}
