"""Write a post's description from what the models say about its photos."""
from typing import TYPE_CHECKING

import gridfs
from bson import ObjectId
from PIL import Image, UnidentifiedImageError

from app.core.clock import utc_now
from app.core.db import MongoDatabase
from app.core.jobs.queue import PermanentJobError
from app.moderation.services import hold_if_risky
from app.posts.revisions import change_post
from app.posts.services import tag_fields
from app.search.vectors import save_post_vectors
from app.social.services import notify_post_mentions
from ml_models import InvalidImageError

if TYPE_CHECKING:  # the models load only in the workers that describe photos
    from ml_models.pipeline import PhotoDescriber

DESCRIBED_RENDITION = "large"  # plenty for 224 px models, a fraction of the original's decode cost


def photo_images(fs: gridfs.GridFS, post: dict) -> list[Image.Image]:
    images: list[Image.Image] = []
    for photo in post["photos"]:
        try:
            image = Image.open(fs.get(photo["files"][DESCRIBED_RENDITION]))
            image.load()
        except (OSError, UnidentifiedImageError) as error:
            raise PermanentJobError(f"photo {photo['index']} cannot be decoded: {error}") from error
        images.append(image)
    return images


def merge_tags(per_photo: list[list[dict]], removed: set[str]) -> list[dict]:
    """One list for the post: each tag at its best score over the photos, minus those the author removed."""
    best: dict[str, float] = {}
    for tags in per_photo:
        for tag in tags:
            if tag["name"] not in removed:
                best[tag["name"]] = max(best.get(tag["name"], 0.0), tag["score"])
    return [{"name": name, "score": round(score, 4)} for name, score in sorted(best.items(), key=lambda item: -item[1])]


def enrich_post(db: MongoDatabase, fs: gridfs.GridFS, describer: "PhotoDescriber", post_id: str, nsfw_hold_threshold: float = 1.0) -> bool:
    """Describe the post's photos; False when the post is gone (nothing to do)."""
    post = db.posts.find_one({"_id": ObjectId(post_id)})
    if post is None:
        return False
    try:
        descriptions = describer.describe_many(photo_images(fs, post))
    except InvalidImageError as error:
        raise PermanentJobError(str(error)) from error
    first = descriptions[0]
    update = {
        **tag_fields(merge_tags([description.tags for description in descriptions], set(post.get("removed_tags", [])))),
        "generated_caption": first.caption,
        "nsfw": max(description.nsfw for description in descriptions),
        "model_versions": describer.versions,
        "enrichment": "done", "enriched_at": utc_now(),
    }
    if post.get("alt_text_source") != "author":  # never overwrite what the author wrote
        update |= {"alt_text": first.caption, "alt_text_source": "generated"}
    change_post(db, {"_id": post["_id"]}, {"$set": update})
    # Vectors live beside the post, not in it, so queries over posts never load them.
    save_post_vectors(db, post, {"image": first.image_embedding, "text": first.text_embedding,
                                 "visual_text": first.visual_text_embedding}, describer.versions,
                      hubness={"visual_text": first.visual_text_hubness})
    hold_if_risky(db, post, update["nsfw"], nsfw_hold_threshold)
    notify_post_mentions(db, post)  # only if still published: a held post tells nobody until approved
    return True


def mark_enrichment_failed(db: MongoDatabase, post_id: str, error: str) -> None:
    change_post(db, {"_id": ObjectId(post_id)}, {"$set": {"enrichment": "failed", "enrichment_error": error[:500]}})
