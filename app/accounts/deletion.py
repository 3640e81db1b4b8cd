"""Deleting an account: the request stops the account at once, a job removes everything of it.

begin_deletion checks the password and marks the account `deleting`: it can no longer sign in,
every session ends, and its profile and posts are gone (404) for everyone. Then DELETE_ACCOUNT_JOB
runs DELETION_STEPS in order. Each step is safe to run again, so a worker that dies part-way only
lets its lease run out: the next run repeats the steps from the first, finding the done ones done.
Counts the deletion changes (likes and comments on others' posts, followers and following) are
recounted from what is left, never decremented, so a repeat cannot count twice; whom to recount is
written on the user document before anything is deleted. The user document goes last and with it
the username and email: they are free for a new account once the deletion has finished.

Kept on purpose: the moderation audit log (append-only; it names the moderator who acted) and the
rate-limit counters (hashed, and gone with their window).
"""
from bson import ObjectId

from app.auth.limits import confirm_password
from app.auth.sessions import end_all_sessions
from app.core.clock import utc_now
from app.core.db import MongoDatabase
from app.core.errors import ValidationError
from app.core.jobs import enqueue
from app.core.statuses import PostStatus, UserStatus
from app.media.storage import delete_files
from app.posts.revisions import change_post, change_posts
from app.posts.services import hot_score, remove_post_everywhere
from app.search.vectors import delete_post_vectors
from app.social.blocks import RELATIONS

DELETE_ACCOUNT_JOB = "delete_account"
# Retried for about half an hour with backoff; past that `flask doctor --repair` queues it again.
DELETE_ACCOUNT_ATTEMPTS = 10
CONFIRMATION_MISMATCH = "Type your username exactly to confirm."


def check_confirmation(user: dict, typed_username: str) -> None:
    """The page asks for the username typed out, so the button is never pressed by mistake."""
    if typed_username.strip() != user["username"]:
        raise ValidationError(CONFIRMATION_MISMATCH, fields={"confirm": CONFIRMATION_MISMATCH})


def begin_deletion(db: MongoDatabase, user: dict, password: str, *, client_address: str | None, rounds: int) -> None:
    """Stop the account now (no sign-in, no sessions, nothing of it shown) and queue its removal."""
    confirm_password(db, user, password, field="password", client_address=client_address, rounds=rounds)
    stop_account(db, user["_id"])
    enqueue_deletion(db, user["_id"])


def enqueue_deletion(db: MongoDatabase, user_id: ObjectId) -> None:
    enqueue(db, DELETE_ACCOUNT_JOB, {"user_id": str(user_id)}, max_attempts=DELETE_ACCOUNT_ATTEMPTS)


def stop_account(db: MongoDatabase, user_id: ObjectId) -> None:
    db.users.update_one({"_id": user_id}, {"$set": {"status": UserStatus.DELETING, "updated_at": utc_now()}})
    end_all_sessions(db, user_id)
    change_posts(db, {"author_id": user_id}, {"$set": {"status": PostStatus.DELETING}})


def remove_posts(db: MongoDatabase, user_id: ObjectId) -> None:
    for post_id in db.posts.distinct("_id", {"author_id": user_id}):
        remove_post_everywhere(db, post_id)


def note_what_to_recount(db: MongoDatabase, user_id: ObjectId) -> None:
    """Before any like, comment or follow goes: the posts and users whose counts will change."""
    posts = set(db.likes.distinct("post_id", {"user_id": user_id}))
    posts |= set(db.comments.distinct("post_id", {"author_id": user_id}))
    users = set(db.follows.distinct("followee_id", {"follower_id": user_id}))
    users |= set(db.follows.distinct("follower_id", {"followee_id": user_id}))
    db.users.update_one({"_id": user_id}, {"$addToSet": {"recount_posts": {"$each": list(posts)},
                                                          "recount_users": {"$each": list(users)}}})


def remove_activity(db: MongoDatabase, user_id: ObjectId) -> None:
    """Their comments (and what reports and notifications point at them), likes, saves, follows both
    ways, reports, and notifications for them or about them."""
    comments = db.comments.distinct("_id", {"author_id": user_id})
    if comments:
        db.reports.delete_many({"target_type": "comment", "target_id": {"$in": comments}})
        db.notifications.delete_many({"comment_id": {"$in": comments}})
        db.comments.delete_many({"_id": {"$in": comments}})
    db.likes.delete_many({"user_id": user_id})
    db.saves.delete_many({"user_id": user_id})
    db.follows.delete_many({"$or": [{"follower_id": user_id}, {"followee_id": user_id}]})
    db.reports.delete_many({"reporter_id": user_id})
    db.notifications.delete_many({"$or": [{"user_id": user_id}, {"actor_id": user_id}]})


def remove_relations(db: MongoDatabase, user_id: ObjectId) -> None:
    """Their blocks and mutes either way, with the ids kept on the other users for feeds (pulled
    first, so a repeat still finds the rows that name whom to pull from), and follow requests."""
    for relation in RELATIONS:
        rows = db[relation.collection]
        if relation.kept_on_other:
            others = rows.distinct(relation.other_field, {relation.owner_field: user_id})
            db.users.update_many({"_id": {"$in": others}}, {"$pull": {relation.kept_on_other: user_id}})
        owners = rows.distinct(relation.owner_field, {relation.other_field: user_id})
        db.users.update_many({"_id": {"$in": owners}}, {"$pull": {relation.kept: user_id}})
        rows.delete_many({"$or": [{relation.owner_field: user_id}, {relation.other_field: user_id}]})
    db.follow_requests.delete_many({"$or": [{"requester_id": user_id}, {"owner_id": user_id}]})


def recount(db: MongoDatabase, user_id: ObjectId) -> None:
    user = db.users.find_one({"_id": user_id}, {"recount_posts": 1, "recount_users": 1}) or {}
    for post_id in user.get("recount_posts", []):
        recount_post(db, post_id)
    for other_id in user.get("recount_users", []):
        recount_follows(db, other_id)


def recount_post(db: MongoDatabase, post_id: ObjectId) -> None:
    post = db.posts.find_one({"_id": post_id}, {"created_at": 1})
    if post is None:
        return
    likes = db.likes.count_documents({"post_id": post_id})
    change_post(db, {"_id": post_id}, {"$set": {
        "like_count": likes, "hot": hot_score(likes, post["created_at"]),
        "comment_count": db.comments.count_documents({"post_id": post_id})}})


def recount_follows(db: MongoDatabase, user_id: ObjectId) -> None:
    """Followers and following of a user, and the followed ids kept on them for the home feed."""
    following = db.follows.distinct("followee_id", {"follower_id": user_id})
    db.users.update_one({"_id": user_id}, {"$set": {
        "following_ids": following, "following_count": len(following),
        "follower_count": db.follows.count_documents({"followee_id": user_id})}})


def remove_files(db: MongoDatabase, user_id: ObjectId) -> None:
    """Their avatars, current and any left over, and their data exports (post photos went with the
    posts)."""
    delete_files(db, {"metadata.user_id": user_id})
    db.exports.delete_many({"user_id": user_id})


def remove_vectors(db: MongoDatabase, user_id: ObjectId) -> None:
    """Vectors of theirs that no post led to (their posts' went with the posts)."""
    for post_id in db.post_vectors.distinct("_id", {"author_id": user_id}):
        delete_post_vectors(db, post_id)


def remove_user(db: MongoDatabase, user_id: ObjectId) -> None:
    db.users.delete_one({"_id": user_id, "status": UserStatus.DELETING})


DELETION_STEPS = (stop_account, remove_posts, note_what_to_recount, remove_activity, remove_relations, recount,
                  remove_files, remove_vectors, remove_user)


def delete_account(db: MongoDatabase, user_id: ObjectId) -> None:
    """Every step, in order; a run after a crash finishes what an earlier one began."""
    user = db.users.find_one({"_id": user_id}, {"status": 1})
    if user is None or user["status"] != UserStatus.DELETING:
        return  # already gone, or never asked for
    for step in DELETION_STEPS:
        step(db, user_id)
