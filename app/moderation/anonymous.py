"""Posting without an account: the post waits for a moderator; a secret link tells the uploader."""
import gridfs
from flask import current_app, request

from app.core.db import MongoDatabase
from app.core.errors import NotFoundError
from app.core.ratelimit import client_subject, hit
from app.core.statuses import PostStatus
from app.moderation.services import new_status_token
from app.posts.requests import upload_limits
from app.posts.services import UploadLimits, publish_photos

ANONYMOUS_UPLOADS_PER_HOUR = 5


def publish_anonymous_upload(db: MongoDatabase, fs: gridfs.GridFS, uploads: list[bytes], caption: str) -> tuple[dict, str]:
    """The photos as a pending anonymous post, and the uploader's status token."""
    if not current_app.config["ANONYMOUS_POSTS"]:
        raise NotFoundError("Anonymous posting is turned off here.")
    hit("anonymous-ip", client_subject(request.remote_addr), limit=ANONYMOUS_UPLOADS_PER_HOUR, window_seconds=3600)
    limits = UploadLimits(max_bytes=min(upload_limits().max_bytes, current_app.config["ANONYMOUS_MAX_BYTES"]),
                          max_pixels=upload_limits().max_pixels)
    token, token_hash = new_status_token()
    post = publish_photos(db, fs, author=None, uploads=uploads, caption=caption,
                          limits=limits, status=PostStatus.PENDING, extra={"status_token_hash": token_hash})
    return post, token


def present_status(post: dict) -> dict:
    state = {PostStatus.PENDING: "waiting for review", PostStatus.HELD: "waiting for review",
             PostStatus.HIDDEN: "waiting for review", PostStatus.PUBLISHED: "approved",
             PostStatus.REJECTED: "rejected"}[post["status"]]
    return {"id": str(post["_id"]), "status": post["status"], "state": state,
            "reason": post.get("review_reason") if post["status"] == PostStatus.REJECTED else None,
            "created_at": post["created_at"].isoformat()}
