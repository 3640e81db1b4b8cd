"""Downloading an account's data: a zip of its profile, posts and comments (JSON) and every
original photo, built by a job, offered to its owner alone for a day, then deleted.

An account has at most one export (`exports`, unique by user). Asking again while one is being
prepared answers that one; asking after it is ready replaces it. The job counts the photos it has
put in the zip (`done` of `total`) so the page can show its progress; it can be run again from the
start after a crash, and replaces any zip an earlier run stored. A day after the zip is ready the
TTL index removes the export and a clean-up job queued for that moment removes the zip from GridFS
(the doctor finds a zip whose export is gone, should that job not have run).
"""
import json
import mimetypes
import tempfile
import zipfile
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import cast

import gridfs
from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from app.core.clock import utc_now
from app.core.db import MongoDatabase
from app.core.errors import NotFoundError
from app.core.jobs import enqueue
from app.core.statuses import PostStatus, UserStatus
from app.media.storage import delete_files

EXPORT_JOB = "export_account"
EXPIRE_EXPORT_JOB = "expire_export"
KEPT_FOR = timedelta(days=1)
NO_SUCH_EXPORT = "No such download."


def request_export(db: MongoDatabase, user: dict) -> dict:
    """The account's export being prepared: the one already under way, or a new one."""
    current = db.exports.find_one({"user_id": user["_id"]})
    if current and current["state"] == "preparing":
        return current
    if current:
        remove_export(db, current["_id"])
    now = utc_now()
    export = {"_id": ObjectId(), "user_id": user["_id"], "state": "preparing", "done": 0, "total": None,
              "file_id": None, "mailed": False, "created_at": now, "ready_at": None, "expires_at": now + KEPT_FOR}
    try:
        db.exports.insert_one(export)
    except DuplicateKeyError:  # asked twice at once: the other request's export it is
        return cast(dict, db.exports.find_one({"user_id": user["_id"]}))  # the other insert won: there is one
    enqueue(db, EXPORT_JOB, {"export_id": str(export["_id"])})
    return export


def current_export(db: MongoDatabase, user: dict) -> dict | None:
    return db.exports.find_one({"user_id": user["_id"]})


def downloadable_export(db: MongoDatabase, user: dict, export_id: str) -> dict:
    """The user's own ready export by its id; anyone else's (or none) is not found."""
    export = db.exports.find_one({"_id": ObjectId(export_id), "user_id": user["_id"], "state": "ready"}) \
        if ObjectId.is_valid(export_id) else None
    if export is None or export["expires_at"] <= utc_now():
        raise NotFoundError(NO_SUCH_EXPORT)
    return export


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _extension(content_type: str) -> str:
    return (mimetypes.guess_extension(content_type) or ".bin").removeprefix(".").replace("jpeg", "jpg")


def _profile(user: dict) -> dict:
    return {"username": user["username"], "email": user["email"], "bio": user.get("bio", ""),
            "created_at": _iso(user["created_at"]), "follower_count": user.get("follower_count", 0),
            "following_count": user.get("following_count", 0)}


def _post(post: dict) -> dict:
    return {
        "id": str(post["_id"]), "status": post["status"], "caption": post["caption"], "hashtags": post["hashtags"],
        "tags": post.get("tag_names", []), "alt_text": post.get("alt_text", ""),
        "created_at": _iso(post["created_at"]), "updated_at": _iso(post.get("updated_at")),
        "like_count": post.get("like_count", 0), "comment_count": post.get("comment_count", 0),
        "photos": [{"file": photo_path(post, photo), "width": photo["width"], "height": photo["height"],
                    "taken_at": _iso(photo.get("taken_at"))} for photo in post["photos"]],
    }


def photo_path(post: dict, photo: dict) -> str:
    """Where a post's original photo lies in the zip."""
    return f"photos/{post['_id']}/{photo['index'] + 1}.{_extension(photo['content_types']['original'])}"


def build_export(db: MongoDatabase, fs: gridfs.GridFS, export_id: ObjectId) -> dict | None:
    """Build the zip and store it; the export, ready, or None when it (or its account) is gone."""
    export = db.exports.find_one({"_id": export_id})
    if export is None or export["state"] == "ready":
        return export
    user = db.users.find_one({"_id": export["user_id"]})
    if user is None or user["status"] != UserStatus.ACTIVE:
        remove_export(db, export_id)
        return None
    posts = list(db.posts.find({"author_id": user["_id"], "status": {"$ne": PostStatus.DELETING}}).sort("created_at", 1))
    comments = list(db.comments.find({"author_id": user["_id"]}).sort("created_at", 1))
    total = sum(len(post["photos"]) for post in posts)
    db.exports.update_one({"_id": export_id}, {"$set": {"done": 0, "total": total}})
    with tempfile.TemporaryFile() as spool:
        with zipfile.ZipFile(spool, "w") as archive:
            archive.writestr("profile.json", json.dumps(_profile(user), indent=2))
            archive.writestr("posts.json", json.dumps([_post(post) for post in posts], indent=2))
            archive.writestr("comments.json", json.dumps([
                {"id": str(comment["_id"]), "post_id": str(comment["post_id"]), "text": comment["text"],
                 "created_at": _iso(comment["created_at"])} for comment in comments], indent=2))
            done = 0
            for post in posts:
                for photo in post["photos"]:
                    # Photos are compressed already: stored, not deflated again.
                    archive.writestr(photo_path(post, photo), fs.get(photo["files"]["original"]).read())
                    done += 1
                    db.exports.update_one({"_id": export_id}, {"$set": {"done": done}})
        spool.seek(0)
        _remove_zip(db, export_id)  # an earlier run's, cut short after storing it
        file_id = fs.put(spool, content_type="application/zip", filename=f"glimpse-{user['username']}.zip",
                         metadata={"kind": "export", "export_id": export_id, "user_id": user["_id"]})
    now = utc_now()
    ready = {"state": "ready", "file_id": file_id, "ready_at": now, "expires_at": now + KEPT_FOR}
    db.exports.update_one({"_id": export_id}, {"$set": ready})
    enqueue(db, EXPIRE_EXPORT_JOB, {"export_id": str(export_id)}, run_at=ready["expires_at"])
    return {**export, **ready}


def mark_mailed(db: MongoDatabase, export_id: ObjectId) -> None:
    db.exports.update_one({"_id": export_id}, {"$set": {"mailed": True}})


def export_mail(user: dict, link: str) -> tuple[str, str]:
    subject = "Your Glimpse data is ready to download"
    text = (f"Hello {user['username']},\n\nThe copy of your Glimpse data you asked for is ready. Sign in and "
            f"download it within a day from:\n\n{link}\n\nAfter that it is deleted; you can ask for a new one "
            "at any time.\n")
    return subject, text


def _remove_zip(db: MongoDatabase, export_id: ObjectId) -> None:
    delete_files(db, {"metadata.export_id": export_id})


def remove_export(db: MongoDatabase, export_id: ObjectId) -> None:
    """The export and its zip (the expiry clean-up, a replaced export, an account deleted)."""
    _remove_zip(db, export_id)
    db.exports.delete_one({"_id": export_id})


def present_export(export: dict | None, download_url: Callable[[dict], str]) -> dict:
    """State, progress and (when ready) where to download: `download_url(export)` names it."""
    if export is None:
        return {"state": "none", "done": 0, "total": None, "download_url": None, "expires_at": None}
    return {"state": export["state"], "done": export["done"], "total": export["total"],
            "download_url": download_url(export) if export["state"] == "ready" else None,
            "expires_at": _iso(export["expires_at"]) if export["state"] == "ready" else None}
