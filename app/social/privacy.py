"""Private accounts: their posts are for the owner, approved followers and staff
(app/auth/visibility.py), and a follow becomes a request the owner approves or declines.

`follow_requests` holds one document per pending request, keyed by the pair. Making an account
public again approves every pending request, as Instagram does.
"""
from pymongo.errors import DuplicateKeyError

from app.auth.visibility import refuse_if_blocked
from app.core.clock import utc_now
from app.core.db import MongoDatabase
from app.core.errors import NotFoundError, ValidationError
from app.posts.authors import copy_author_to_posts
from app.social.keys import relation_key
from app.social.services import follow, forget_notifications, is_following, listed_users, notify, unfollow

FOLLOW_REQUEST = "follow_request"


def set_private(db: MongoDatabase, user: dict, private: bool) -> dict:
    db.users.update_one({"_id": user["_id"]}, {"$set": {"private": private}})
    copy_author_to_posts(db, user["_id"])
    user = {**user, "private": private}
    if not private:
        for requester in db.users.find({"_id": {"$in": db.follow_requests.distinct("requester_id",
                                                                                    {"owner_id": user["_id"]})}}):
            approve(db, user, requester)
    return user


def follow_or_request(db: MongoDatabase, follower: dict, followee: dict) -> bool:
    """Follow a public account; ask to follow a private one. True when something changed."""
    if not followee.get("private") or is_following(db, follower, followee):
        return follow(db, follower, followee)
    if follower["_id"] == followee["_id"]:
        raise ValidationError("You cannot follow yourself.")
    refuse_if_blocked(follower, followee["_id"], "No such user.")
    try:
        db.follow_requests.insert_one({"_id": relation_key(follower["_id"], followee["_id"]),
                                       "requester_id": follower["_id"], "owner_id": followee["_id"],
                                       "created_at": utc_now()})
    except DuplicateKeyError:
        return False
    notify(db, recipient_id=followee["_id"], actor=follower, kind=FOLLOW_REQUEST)
    return True


def unfollow_or_withdraw(db: MongoDatabase, follower: dict, followee: dict) -> bool:
    return withdraw(db, follower, followee) or unfollow(db, follower, followee)


def withdraw(db: MongoDatabase, requester: dict, owner: dict) -> bool:
    """Remove a pending request (and its notification), whoever ends it."""
    if not db.follow_requests.delete_one({"_id": relation_key(requester["_id"], owner["_id"])}).deleted_count:
        return False
    forget_notifications(db, {"user_id": owner["_id"], "actor_id": requester["_id"], "kind": FOLLOW_REQUEST})
    return True


def approve(db: MongoDatabase, owner: dict, requester: dict) -> None:
    if not withdraw(db, requester, owner):
        raise NotFoundError("No such follow request.")
    follow(db, requester, owner)


def decline(db: MongoDatabase, owner: dict, requester: dict) -> None:
    if not withdraw(db, requester, owner):
        raise NotFoundError("No such follow request.")


def is_requested(db: MongoDatabase, viewer: dict | None, user: dict) -> bool:
    return viewer is not None and db.follow_requests.find_one(
        {"_id": relation_key(viewer["_id"], user["_id"])}, {"_id": 1}) is not None


def follow_requests(db: MongoDatabase, owner: dict, cursor: str | None, limit: int) -> tuple[list[dict], str | None]:
    """Who asked to follow `owner`, latest first."""
    return listed_users(db, db.follow_requests, {"owner_id": owner["_id"]}, "requester_id", cursor, limit)
