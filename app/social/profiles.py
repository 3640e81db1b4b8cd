"""Profile edits (bio, avatar) and how notifications read."""

import gridfs
from bson import ObjectId

from app.core.clock import utc_now
from app.core.db import MongoDatabase
from app.core.errors import ValidationError
from app.media.images import process_upload
from app.posts.authors import copy_author_to_posts
from app.posts.revisions import mark_activity
from app.posts.services import UploadLimits

BIO_MAX_LENGTH = 300
AVATAR_RENDITION = "thumb"


def update_bio(db: MongoDatabase, user: dict, bio: str) -> dict:
    bio = bio.strip()
    if len(bio) > BIO_MAX_LENGTH:
        raise ValidationError("The bio is too long.", fields={"bio": f"At most {BIO_MAX_LENGTH} characters."})
    db.users.update_one({"_id": user["_id"]}, {"$set": {"bio": bio}})
    return {**user, "bio": bio}


def set_avatar(db: MongoDatabase, fs: gridfs.GridFS, user: dict, uploads: list[bytes], limits: UploadLimits) -> dict:
    if len(uploads) != 1:
        raise ValidationError("Send exactly one photo.", fields={"photos": "Exactly one photo."})
    photo = process_upload(uploads[0], max_bytes=limits.max_bytes, max_pixels=limits.max_pixels)
    rendition = photo.renditions[AVATAR_RENDITION]
    file_id = fs.put(rendition.data, content_type=rendition.content_type,
                     metadata={"user_id": user["_id"], "kind": "avatar"})
    db.users.update_one({"_id": user["_id"]}, {"$set": {"avatar_file_id": file_id, "updated_at": utc_now()}})
    copy_author_to_posts(db, user["_id"])  # before the old file goes: posts show their own copy
    mark_activity(db, user)
    if user.get("avatar_file_id"):
        fs.delete(user["avatar_file_id"])
    return {**user, "avatar_file_id": file_id}


NOTIFICATION_TEXT = {"follow": "started following you", "like": "liked your post", "comment": "commented on your post",
                     "follow_request": "asked to follow you", "mention": "mentioned you"}


def present_notifications(db: MongoDatabase, rows: list[dict]) -> list[dict]:
    actor_ids = list({row["actor_id"] for row in rows})
    actors = {user["_id"]: user for user in db.users.find({"_id": {"$in": actor_ids}})} if actor_ids else {}
    return [{
        "id": str(row["_id"]), "kind": row["kind"], "read": row["read"],
        "actor": actors[row["actor_id"]]["username"] if row["actor_id"] in actors else None,
        "text": NOTIFICATION_TEXT[row["kind"]],
        "post_id": str(row["post_id"]) if isinstance(row.get("post_id"), ObjectId) else None,
        "created_at": row["created_at"].isoformat(),
    } for row in rows]
