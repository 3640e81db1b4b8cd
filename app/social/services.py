"""Follows, likes, comments, saved collections and notifications."""

from collections.abc import Container

from bson import ObjectId
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from app.auth.permissions import is_staff
from app.auth.visibility import (
    blocked_either_way,
    is_blocked_between,
    may_see_private,
    refuse_if_blocked,
    unwanted_authors,
    without_authors,
)
from app.core.clock import utc_now
from app.core.db import Document, MongoDatabase
from app.core.errors import ForbiddenError, NotFoundError, ValidationError
from app.core.pagination import keyset_page
from app.core.statuses import PostStatus, UserStatus
from app.posts.mentions import mentioned_usernames
from app.posts.revisions import change_post, change_post_and_read, mark_activity
from app.posts.services import can_see, hot_score, parse_object_id
from app.social.keys import follow_key, like_key, save_key

COMMENT_MAX_LENGTH = 1000
COLLECTION_NAME_MAX_LENGTH = 60
DEFAULT_COLLECTION = "Saved"
# Counters on the user document, which every signed-in request reads for its session check: the
# navigation's unread badge and the saves lookup then cost no command of their own.
UNREAD_COUNT = "unread_notifications"  # what the inbox shows unread; recounted where it can drift
SAVED_COUNT = "saved_count"  # the user's saves; never below the truth, so 0 means none


def notify(db: MongoDatabase, *, recipient_id: ObjectId | None, actor: dict, kind: str, post_id: ObjectId | None = None,
           comment_id: ObjectId | None = None) -> None:
    if recipient_id is None or recipient_id == actor["_id"]:
        return
    db.notifications.insert_one({
        "user_id": recipient_id, "actor_id": actor["_id"], "kind": kind, "post_id": post_id,
        "comment_id": comment_id, "read": False, "created_at": utc_now(),
    })
    # Counted unless the inbox hides it (_inbox): decided in the update's own filter, against the
    # recipient's mutes and blocks as they are now.
    actor_id = actor["_id"]
    db.users.update_one({"_id": recipient_id, "muted_ids": {"$ne": actor_id}, "blocked_ids": {"$ne": actor_id},
                         "blocked_by_ids": {"$ne": actor_id}}, {"$inc": {UNREAD_COUNT: 1}})


# What mention_reaches reads of a mentioned user.
MENTIONED_FIELDS = {"role": 1, "following_ids": 1, "blocked_ids": 1, "blocked_by_ids": 1}


def mention_reaches(mentioned: dict, mentioner_id: ObjectId, post: dict) -> bool:
    """Whether a mention is told: never across a block (either way), nor to someone who may not see
    the post (a private account's posts are for its approved followers)."""
    if is_blocked_between(mentioned, mentioner_id):
        return False
    return not post.get("author_private") or may_see_private(mentioned, post["author_id"])


def notify_mentions(db: MongoDatabase, actor_id: ObjectId, usernames: list[str], *, post: dict,
                    comment_id: ObjectId | None = None, skip_ids: Container[ObjectId] = ()) -> None:
    """Tell each active account `usernames` names (a text's mentions, at most MAX_MENTIONS) that
    `actor_id` mentioned them; never the actor, nor anyone in `skip_ids` (told otherwise already)."""
    if not usernames:
        return
    for user in db.users.find({"username_lower": {"$in": [name.lower() for name in usernames]},
                               "status": UserStatus.ACTIVE}, MENTIONED_FIELDS):
        if user["_id"] not in skip_ids and mention_reaches(user, actor_id, post):
            notify(db, recipient_id=user["_id"], actor={"_id": actor_id}, kind="mention",
                   post_id=post["_id"], comment_id=comment_id)


def notify_post_mentions(db: MongoDatabase, post: dict) -> None:
    """A post's mentions are told once, when it is published for good: after its photos were checked
    (a risky one is held instead) or when a moderator approves it. Anonymous posts tell nobody."""
    if post.get("author_id") is None or not post.get("mentions"):
        return
    claimed = change_post(db, {"_id": post["_id"], "status": PostStatus.PUBLISHED, "mentions_notified": {"$ne": True}},
                          {"$set": {"mentions_notified": True}}).modified_count
    if claimed:
        notify_mentions(db, post["author_id"], post["mentions"], post=post)


# Follows

def follow(db: MongoDatabase, follower: dict, followee: dict) -> bool:
    if follower["_id"] == followee["_id"]:
        raise ValidationError("You cannot follow yourself.")
    refuse_if_blocked(follower, followee["_id"], "No such user.")
    try:
        db.follows.insert_one({"_id": follow_key(follower["_id"], followee["_id"]), "follower_id": follower["_id"],
                               "followee_id": followee["_id"], "created_at": utc_now()})
    except DuplicateKeyError:
        return False
    # The followed ids ride on the user document, which every request loads anyway: the home
    # feed then needs no query over follows (a scan on the embedded server).
    db.users.update_one({"_id": follower["_id"]},
                        {"$inc": {"following_count": 1}, "$addToSet": {"following_ids": followee["_id"]}})
    db.users.update_one({"_id": followee["_id"]}, {"$inc": {"follower_count": 1}})
    notify(db, recipient_id=followee["_id"], actor=follower, kind="follow")
    return True


def unfollow(db: MongoDatabase, follower: dict, followee: dict) -> bool:
    if not db.follows.delete_one({"_id": follow_key(follower["_id"], followee["_id"])}).deleted_count:
        return False
    db.users.update_one({"_id": follower["_id"]},
                        {"$inc": {"following_count": -1}, "$pull": {"following_ids": followee["_id"]}})
    db.users.update_one({"_id": followee["_id"]}, {"$inc": {"follower_count": -1}})
    return True


def is_following(db: MongoDatabase, follower: dict | None, followee: dict) -> bool:
    if follower is None:
        return False
    return db.follows.find_one({"_id": follow_key(follower["_id"], followee["_id"])}, {"_id": 1}) is not None


def follow_list(db: MongoDatabase, user: dict, direction: str, cursor: str | None, limit: int) -> tuple[list[dict], str | None]:
    """Who follows `user` (direction "followers") or whom `user` follows ("following")."""
    mine, theirs = ("followee_id", "follower_id") if direction == "followers" else ("follower_id", "followee_id")
    return listed_users(db, db.follows, {mine: user["_id"]}, theirs, cursor, limit)


def listed_users(db: MongoDatabase, collection: Collection[Document], query: dict, user_field: str, cursor: str | None,
                 limit: int) -> tuple[list[dict], str | None]:
    """The users named by `user_field` of a page of `collection` (follows, blocks, ...), latest first."""
    rows, next_cursor = keyset_page(collection, query, "created_at", cursor, limit)
    users = {user["_id"]: user for user in db.users.find({"_id": {"$in": [row[user_field] for row in rows]}})}
    return [users[row[user_field]] for row in rows if row[user_field] in users], next_cursor


# Likes

def like(db: MongoDatabase, user: dict, post: dict) -> bool:
    refuse_if_blocked(user, post.get("author_id"), "No such post.")
    try:
        db.likes.insert_one({"_id": like_key(post["_id"], user["_id"]), "post_id": post["_id"], "user_id": user["_id"],
                             "created_at": utc_now()})
    except DuplicateKeyError:
        return False
    _recount_likes(db, post, +1)
    mark_activity(db, user)
    notify(db, recipient_id=post.get("author_id"), actor=user, kind="like", post_id=post["_id"])
    return True


def unlike(db: MongoDatabase, user: dict, post: dict) -> bool:
    if not db.likes.delete_one({"_id": like_key(post["_id"], user["_id"])}).deleted_count:
        return False
    _recount_likes(db, post, -1)
    mark_activity(db, user)
    return True


def _recount_likes(db: MongoDatabase, post: dict, change: int) -> None:
    updated = change_post_and_read(db, {"_id": post["_id"]}, {"$inc": {"like_count": change}},
                                   projection={"like_count": 1, "created_at": 1}, return_document=True)
    if updated:
        change_post(db, {"_id": post["_id"]}, {"$set": {"hot": hot_score(updated["like_count"], updated["created_at"])}})


# Comments

def add_comment(db: MongoDatabase, user: dict, post: dict, text: str) -> dict:
    text = (text or "").strip()
    if not text or len(text) > COMMENT_MAX_LENGTH:
        raise ValidationError("Write a comment of 1 to 1000 characters.",
                              fields={"text": f"1 to {COMMENT_MAX_LENGTH} characters."})
    refuse_if_blocked(user, post.get("author_id"), "No such post.")
    comment = {"post_id": post["_id"], "author_id": user["_id"], "text": text,
               "mentions": mentioned_usernames(db, text), "created_at": utc_now()}
    comment["_id"] = db.comments.insert_one(comment).inserted_id
    change_post(db, {"_id": post["_id"]}, {"$inc": {"comment_count": 1}})
    mark_activity(db, user)
    notify(db, recipient_id=post.get("author_id"), actor=user, kind="comment",
           post_id=post["_id"], comment_id=comment["_id"])
    if post["status"] == PostStatus.PUBLISHED:  # a moderator's note on a held post tells nobody
        notify_mentions(db, user["_id"], comment["mentions"], post=post, comment_id=comment["_id"],
                        skip_ids={post["author_id"]} if post.get("author_id") else set())
    return comment


def list_comments(db: MongoDatabase, post: dict, viewer: dict | None, cursor: str | None,
                  limit: int) -> tuple[list[dict], str | None]:
    """A post's comments, newest first; hidden ones (reported) and those across a block only for
    moderators."""
    if post.get("comment_count") == 0:  # every write that adds or removes a comment keeps it (hidden ones count)
        return [], None
    if is_staff(viewer):
        return keyset_page(db.comments, {"post_id": post["_id"]}, "created_at", cursor, limit)
    query = {"post_id": post["_id"], "hidden": {"$ne": True}, **without_authors(blocked_either_way(viewer))}
    return keyset_page(db.comments, query, "created_at", cursor, limit)


def delete_comment(db: MongoDatabase, user: dict, comment_id: str) -> None:
    """Its author, the post's owner or a moderator may delete a comment."""
    comment = db.comments.find_one({"_id": parse_object_id(comment_id)})
    if comment is None:
        raise NotFoundError("No such comment.")
    post = db.posts.find_one({"_id": comment["post_id"]}, {"author_id": 1})
    allowed = (comment["author_id"] == user["_id"] or (post and post.get("author_id") == user["_id"])
               or user["role"] in ("moderator", "admin"))
    if not allowed:
        raise ForbiddenError("You cannot delete this comment.")
    if db.comments.delete_one({"_id": comment["_id"]}).deleted_count:
        change_post(db, {"_id": comment["post_id"]}, {"$inc": {"comment_count": -1}})
        mark_activity(db, user)
        forget_notifications(db, {"comment_id": comment["_id"]})


# Saved collections

def collection_name(name: str | None) -> str:
    if name is not None and not isinstance(name, str):
        raise ValidationError("The collection must be a name (text).", fields={"collection": "Must be text."})
    name = (name or DEFAULT_COLLECTION).strip()
    if not name or len(name) > COLLECTION_NAME_MAX_LENGTH:
        raise ValidationError("Name the collection in 1 to 60 characters.",
                              fields={"collection": "1 to 60 characters."})
    return name


def save(db: MongoDatabase, user: dict, post: dict, collection: str | None = None) -> bool:
    name = collection_name(collection)
    refuse_if_blocked(user, post.get("author_id"), "No such post.")
    try:
        db.saves.insert_one({"_id": save_key(user["_id"], post["_id"], name), "user_id": user["_id"],
                             "post_id": post["_id"], "collection": name, "created_at": utc_now()})
    except DuplicateKeyError:
        return False
    # Counted after the save exists: a reader that sees the count sees the save.
    mark_activity(db, user, {SAVED_COUNT: 1})
    return True


def unsave(db: MongoDatabase, user: dict, post: dict, collection: str | None = None) -> bool:
    if not db.saves.delete_one({"_id": save_key(user["_id"], post["_id"], collection_name(collection))}).deleted_count:
        return False
    mark_activity(db, user, {SAVED_COUNT: -1})
    return True


def saved_collections(db: MongoDatabase, user: dict) -> list[dict]:
    counts = db.saves.aggregate([{"$match": {"user_id": user["_id"]}},
                                 {"$group": {"_id": "$collection", "count": {"$sum": 1}}},
                                 {"$sort": {"_id": 1}}])
    return [{"name": row["_id"], "count": row["count"]} for row in counts]


def saved_posts(db: MongoDatabase, user: dict, collection: str, cursor: str | None, limit: int) -> tuple[list[dict], str | None]:
    rows, next_cursor = keyset_page(db.saves, {"user_id": user["_id"], "collection": collection_name(collection)},
                                    "created_at", cursor, limit)
    posts = {post["_id"]: post for post in db.posts.find({"_id": {"$in": [row["post_id"] for row in rows]},
                                                           "status": PostStatus.PUBLISHED})
             if can_see(post, user)}
    return [posts[row["post_id"]] for row in rows if row["post_id"] in posts], next_cursor


# Notifications: none from users the reader blocked, was blocked by or muted (kept, and shown
# again once the block or mute is lifted).

# What _inbox reads of its user.
RELATION_FIELDS = {"blocked_ids": 1, "blocked_by_ids": 1, "muted_ids": 1}


def _inbox(user: dict) -> dict:
    return {"user_id": user["_id"], **without_authors(unwanted_authors(user), "actor_id")}


def notifications(db: MongoDatabase, user: dict, cursor: str | None, limit: int) -> tuple[list[dict], str | None]:
    return keyset_page(db.notifications, _inbox(user), "created_at", cursor, limit)


def unread_count(user: dict) -> int:
    """The badge's figure, kept on the user document (see notify, recount_unread)."""
    return int(user.get(UNREAD_COUNT, 0))


def recount_unread(db: MongoDatabase, user_id: ObjectId) -> int:
    """Count what `user_id`'s inbox shows unread, as their mutes and blocks are now, and keep that
    on their document: where the kept count can drift (a mute or block changed what the inbox
    hides, notifications were deleted, or an increment raced a recount)."""
    user = db.users.find_one({"_id": user_id}, RELATION_FIELDS)
    if user is None:
        return 0
    count = db.notifications.count_documents({**_inbox(user), "read": False})
    db.users.update_one({"_id": user_id}, {"$set": {UNREAD_COUNT: count}})
    return count


def forget_notifications(db: MongoDatabase, query: dict) -> None:
    """Delete the notifications `query` matches; whoever had one of them unread is recounted."""
    recipients = db.notifications.distinct("user_id", {**query, "read": False})
    db.notifications.delete_many(query)
    for user_id in recipients:
        recount_unread(db, user_id)


def mark_all_read(db: MongoDatabase, user: dict) -> None:
    db.notifications.update_many({"user_id": user["_id"], "read": False}, {"$set": {"read": True}})
    # Recounted rather than set to 0: one that arrived meanwhile stays counted. This request's own
    # badge shows the new figure too.
    user[UNREAD_COUNT] = recount_unread(db, user["_id"])
