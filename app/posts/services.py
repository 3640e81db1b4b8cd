"""Posts: create from uploaded photos, read, edit, delete. Plain functions over the database."""
import math
import re
from dataclasses import dataclass
from datetime import datetime

import gridfs
from bson import ObjectId
from bson.errors import InvalidId

from app.auth.visibility import hidden_by_block, may_see_private
from app.core.clock import utc_now
from app.core.db import MongoDatabase
from app.core.errors import ForbiddenError, NotFoundError, ValidationError
from app.core.jobs import enqueue
from app.core.statuses import PostStatus
from app.media.images import ProcessedPhoto, process_upload
from app.media.storage import delete_post_files, store_photo
from app.posts.authors import author_fields, with_current_avatar
from app.posts.changes import note_changed
from app.posts.mentions import mentioned_usernames
from app.posts.revisions import change_post, mark_activity
from app.search.vectors import delete_post_vectors

CAPTION_MAX_LENGTH = 2200
ALT_TEXT_MAX_LENGTH = 500
MAX_PHOTOS_PER_POST = 10
MAX_HASHTAGS = 30
HASHTAG_PATTERN = re.compile(r"(?<![\w#])#(\w{1,64})")
ENRICH_POST_JOB = "enrich_post"
HOT_DECAY_SECONDS = 45000  # ten times the likes is worth 12.5 hours of freshness


def tag_fields(tags: list[dict]) -> dict:
    """A post's generated tags, and their names alone for keyword search to match on."""
    return {"tags": tags, "tag_names": [tag["name"] for tag in tags]}


def hot_score(like_count: int, created_at: datetime) -> float:
    """Popularity with time decay that never needs recomputing: newer posts start higher."""
    return round(math.log10(max(like_count, 1)) + created_at.timestamp() / HOT_DECAY_SECONDS, 7)


@dataclass(frozen=True)
class UploadLimits:
    max_bytes: int
    max_pixels: int


def parse_object_id(value: ObjectId | str | None) -> ObjectId:
    try:
        return ObjectId(value)
    except (InvalidId, TypeError):
        raise NotFoundError("No such post.") from None


def hashtags_in(caption: str) -> list[str]:
    seen: dict[str, None] = {}
    for tag in HASHTAG_PATTERN.findall(caption):
        seen.setdefault(tag.lower(), None)
    return list(seen)[:MAX_HASHTAGS]


def validate_caption(caption: str) -> str:
    caption = caption.strip()
    if len(caption) > CAPTION_MAX_LENGTH:
        raise ValidationError("The caption is too long.",
                              fields={"caption": f"At most {CAPTION_MAX_LENGTH} characters."})
    return caption


def process_photos(uploads: list[bytes], limits: UploadLimits) -> list[ProcessedPhoto]:
    """Check and convert every photo before anything is stored: one bad file stores nothing."""
    if not uploads:
        raise ValidationError("Add at least one photo.", fields={"photos": "Add at least one photo."})
    if len(uploads) > MAX_PHOTOS_PER_POST:
        raise ValidationError(f"At most {MAX_PHOTOS_PER_POST} photos per post.",
                              fields={"photos": f"At most {MAX_PHOTOS_PER_POST} photos."})
    processed = []
    for number, data in enumerate(uploads, start=1):
        try:
            processed.append(process_upload(data, max_bytes=limits.max_bytes, max_pixels=limits.max_pixels))
        except ValidationError as error:
            message = f"Photo {number}: {error.message}" if len(uploads) > 1 else error.message
            raise ValidationError(message, fields={"photos": message}) from None
    return processed


def create_post(db: MongoDatabase, fs: gridfs.GridFS, *, author: dict | None, photos: list[ProcessedPhoto], caption: str,
                status: PostStatus = PostStatus.PUBLISHED, extra: dict | None = None) -> dict:
    """Store the files, then the post: the post only appears once every file is in place, and a
    failure part-way removes the files already stored."""
    caption = validate_caption(caption)
    post_id = ObjectId()
    now = utc_now()
    try:
        stored = [store_photo(fs, photo, post_id=post_id, index=index) for index, photo in enumerate(photos)]
        post = {
            "_id": post_id, **author_fields(author), "status": status,
            "caption": caption, "hashtags": hashtags_in(caption), "mentions": mentioned_usernames(db, caption),
            "alt_text": "", "alt_text_source": None, **tag_fields([]), "removed_tags": [],
            "photos": stored, "like_count": 0, "comment_count": 0, "hot": hot_score(0, now),
            "enrichment": "pending", "created_at": now, "updated_at": now, **(extra or {}),
        }
        db.posts.insert_one(post)
    except BaseException:
        delete_post_files(db, post_id)
        raise
    note_changed(db, [post_id])
    if author is not None:
        post = with_current_avatar(db, post)
        mark_activity(db, author)
    return post


def publish_photos(db: MongoDatabase, fs: gridfs.GridFS, *, author: dict | None, uploads: list[bytes], caption: str, limits: UploadLimits,
                   status: PostStatus = PostStatus.PUBLISHED, extra: dict | None = None) -> dict:
    """An upload, start to end: check every photo, store the post, queue its description."""
    post = create_post(db, fs, author=author, photos=process_photos(uploads, limits), caption=caption,
                       status=status, extra=extra)
    enqueue_enrichment(db, post)
    return post


def enqueue_enrichment(db: MongoDatabase, post: dict) -> None:
    enqueue(db, ENRICH_POST_JOB, {"post_id": str(post["_id"])})


def get_post(db: MongoDatabase, post_id: ObjectId | str) -> dict:
    post = db.posts.find_one({"_id": parse_object_id(post_id)})
    if post is None:
        raise NotFoundError("No such post.")
    return post


def can_see(post: dict, viewer: dict | None) -> bool:
    if hidden_by_block(viewer, post.get("author_id")):
        return False
    if post.get("author_private") and not may_see_private(viewer, post["author_id"]):
        return False
    if post["status"] == PostStatus.PUBLISHED:
        return True
    return viewer is not None and viewer["role"] in ("moderator", "admin")


def open_to_everyone(post: dict) -> bool:
    """Whether only a block can keep someone from seeing the post (see can_see)."""
    return post["status"] == PostStatus.PUBLISHED and not post.get("author_private")


def get_visible_post(db: MongoDatabase, post_id: ObjectId | str, viewer: dict | None) -> dict:
    """The post if this viewer may see it; hidden and pending posts look like they don't exist."""
    return visible_to(get_post(db, post_id), viewer)


def visible_to[P: dict](post: P, viewer: dict | None) -> P:
    """`post`, if this viewer may see it; else NotFoundError, as for a post that does not exist."""
    if post["status"] in (PostStatus.REJECTED, PostStatus.DELETING) or not can_see(post, viewer):
        raise NotFoundError("No such post.")
    return post


def require_owner(post: dict, user: dict) -> None:
    if post.get("author_id") != user["_id"]:
        raise ForbiddenError("Only the author can change this post.")


def update_post(db: MongoDatabase, post: dict, user: dict, changes: dict) -> dict:
    """Owners edit the caption (and so its hashtags) and alt text, and remove generated tags.
    `changes` holds text for caption and alt_text, and a list of names for remove_tags."""
    require_owner(post, user)
    update: dict = {}
    if "caption" in changes:
        update["caption"] = validate_caption(changes["caption"])
        update["hashtags"] = hashtags_in(update["caption"])
        update["mentions"] = mentioned_usernames(db, update["caption"])
    if "alt_text" in changes:
        alt_text = changes["alt_text"].strip()
        if len(alt_text) > ALT_TEXT_MAX_LENGTH:
            raise ValidationError("Alt text must be text of at most 500 characters.",
                                  fields={"alt_text": f"At most {ALT_TEXT_MAX_LENGTH} characters."})
        update["alt_text"] = alt_text
        update["alt_text_source"] = "author"
    if "remove_tags" in changes:
        removed = set(changes["remove_tags"])
        update |= tag_fields([tag for tag in post["tags"] if tag["name"] not in removed])
        update["removed_tags"] = sorted(set(post.get("removed_tags", [])) | removed)
    if not update:
        raise ValidationError("Nothing to change: send caption, alt_text or remove_tags.")
    update["updated_at"] = utc_now()
    change_post(db, {"_id": post["_id"]}, {"$set": update})
    mark_activity(db, user)
    return {**post, **update}


def delete_post(db: MongoDatabase, post: dict, user: dict) -> None:
    require_owner(post, user)
    remove_post_everywhere(db, post["_id"])
    mark_activity(db, user)


def remove_post_everywhere(db: MongoDatabase, post_id: ObjectId) -> None:
    """The post, its files, likes, comments, saves, notifications and pending jobs: all gone.
    The post goes last: if this stops part-way, the post still leads a second run to the rest."""
    delete_post_vectors(db, post_id)
    for collection in ("likes", "comments", "saves", "notifications"):
        db[collection].delete_many({"post_id": post_id})
    db.jobs.delete_many({"payload.post_id": str(post_id), "status": {"$in": ["queued", "running"]}})
    delete_post_files(db, post_id)
    db.posts.delete_one({"_id": post_id})
    note_changed(db, [post_id])
