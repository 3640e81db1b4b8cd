"""Data migrations: documents written by earlier versions brought up to the current shape.

Each step runs once per database. The `migrations` collection keeps one document per step: a
process claims it (its _id is the step's name) before running the step and marks it applied
after, so a worker start reads that small collection instead of rescanning the posts. A step
that fails gives its claim back and runs again at the next start; the claim of a process that
died mid-step runs out after CLAIM. Steps are idempotent all the same: one taken over from a
slow, not dead, process does no harm run twice.

Indexes are not migrated here: app/core/db.py creates the current ones and drops retired ones.
"""
import uuid
from collections.abc import Callable
from datetime import timedelta

from pymongo.errors import DuplicateKeyError

from app.core.clock import utc_now
from app.core.db import MongoDatabase
from app.core.mail import MAIL_BODY_FIELDS, SEND_MAIL_JOB
from app.posts.authors import copy_author_to_posts
from app.posts.revisions import change_posts
from app.social.services import SAVED_COUNT, recount_unread

CLAIM = timedelta(minutes=10)


def give_posts_their_tag_names(db: MongoDatabase) -> None:
    """tag_names mirrors tags.name, for an index the embedded server can use (app/core/db.py)."""
    change_posts(db, {"tag_names": {"$exists": False}}, [{"$set": {"tag_names": {"$ifNull": ["$tags.name", []]}}}])


def give_posts_their_authors(db: MongoDatabase) -> None:
    """Posts keep their author's name and avatar (app/posts/authors.py)."""
    older = {"author_username": {"$exists": False}}
    for author_id in db.posts.distinct("author_id", older):
        copy_author_to_posts(db, author_id, older)


def clear_what_ended_tokens_before_sessions(db: MongoDatabase) -> None:
    """Tokens now name their session (app/auth/sessions.py) and those of earlier versions name none,
    so they are refused: everybody signs in once more, and what those versions kept to end tokens
    early (a session_version, ended tokens, a revoked_tokens collection) has nothing left to do."""
    db.users.update_many({"$or": [{"session_version": {"$exists": True}}, {"ended_tokens": {"$exists": True}}]},
                         {"$unset": {"session_version": "", "ended_tokens": ""}})
    db.revoked_tokens.drop()


def drop_the_text_of_finished_mail_jobs(db: MongoDatabase) -> None:
    """Sent mail kept its text, reset links included, in its job; a finished mail job keeps none now."""
    db.jobs.update_many({"kind": SEND_MAIL_JOB, "status": {"$in": ["done", "failed"]},
                         "$or": [{f"payload.{name}": {"$exists": True}} for name in MAIL_BODY_FIELDS]},
                        {"$unset": {f"payload.{name}": "" for name in MAIL_BODY_FIELDS}})


def treat_earlier_accounts_as_verified(db: MongoDatabase) -> None:
    """Accounts made before email verification existed keep doing what they did: their address counts
    as verified (app/auth/verification.py); accounts made since say which they are."""
    db.users.update_many({"email_verified": {"$exists": False}}, {"$set": {"email_verified": True}})


def count_unread_notifications_and_saves(db: MongoDatabase) -> None:
    """The unread badge and the saves lookup read counts kept on the user (app/social/services.py)."""
    for user_id in db.notifications.distinct("user_id", {"read": False}):
        recount_unread(db, user_id)
    for row in db.saves.aggregate([{"$group": {"_id": "$user_id", "count": {"$sum": 1}}}]):
        db.users.update_one({"_id": row["_id"]}, {"$set": {SAVED_COUNT: row["count"]}})


# In the order they run. A step keeps its name for ever: the name is what the database records.
STEPS: dict[str, Callable] = {
    "posts_tag_names": give_posts_their_tag_names,
    "posts_author_copies": give_posts_their_authors,
    "users_token_records_before_sessions": clear_what_ended_tokens_before_sessions,
    "mail_jobs_without_text": drop_the_text_of_finished_mail_jobs,
    "users_verified_before_verification": treat_earlier_accounts_as_verified,
    "users_unread_and_saved_counts": count_unread_notifications_and_saves,
}


def migrate(db: MongoDatabase, steps: dict[str, Callable] = STEPS) -> list[str]:
    """Run the steps this database has not applied and nobody else is running; their names."""
    applied = {row["_id"] for row in db.migrations.find({"applied_at": {"$ne": None}}, {"_id": 1})}
    owner = uuid.uuid4().hex
    ran = []
    for name, step in steps.items():
        if name in applied or not _claim(db, name, owner):
            continue
        try:
            step(db)
        except BaseException:
            db.migrations.delete_one({"_id": name, "claimed_by": owner, "applied_at": None})
            raise
        db.migrations.update_one({"_id": name, "claimed_by": owner},
                                 {"$set": {"applied_at": utc_now()}, "$unset": {"claimed_until": ""}})
        ran.append(name)
    return ran


def _claim(db: MongoDatabase, name: str, owner: str) -> bool:
    """Take the step for this run: no document yet, or the claim of a process that died ran out.
    Otherwise (applied, or claimed now) the upsert's insert meets the existing _id."""
    now = utc_now()
    try:
        db.migrations.update_one({"_id": name, "applied_at": None, "claimed_until": {"$lt": now}},
                                 {"$set": {"claimed_by": owner, "claimed_until": now + CLAIM}}, upsert=True)
    except DuplicateKeyError:
        return False
    return True
