"""Moderation: anonymous posts, the review queue, reports, and holding risky posts.

A post is `published` (everyone sees it), or waits for a moderator: `pending` (anonymous),
`held` (the NSFW score is over the threshold) or `hidden` (reported by enough people). A
rejected post becomes a tombstone: its files are deleted, the reason stays.
"""
import hashlib
import secrets
from typing import Any

from bson import ObjectId

from app.auth.permissions import is_staff, require_staff
from app.auth.visibility import refuse_if_blocked
from app.core.clock import utc_now
from app.core.db import MongoDatabase
from app.core.errors import ConflictError, NotFoundError, ValidationError
from app.core.statuses import AWAITING_REVIEW, PostStatus
from app.media.storage import delete_post_files
from app.moderation import audit
from app.posts.revisions import change_post, mark_activity
from app.posts.services import can_see, get_visible_post, parse_object_id, remove_post_everywhere, tag_fields
from app.search.vectors import delete_post_vectors, set_post_status
from app.social.services import notify_post_mentions

REASON_MAX_LENGTH = 500


def clean_reason(reason: str | None, *, required: bool) -> str:
    reason = (reason or "").strip()
    if required and not reason:
        raise ValidationError("Give a reason.", fields={"reason": "Required."})
    if len(reason) > REASON_MAX_LENGTH:
        raise ValidationError("The reason is too long.", fields={"reason": f"At most {REASON_MAX_LENGTH} characters."})
    return reason


# Anonymous posts

def new_status_token() -> tuple[str, str]:
    """A secret for the uploader's status link, and the hash we keep (the link is their only key)."""
    token = secrets.token_urlsafe(32)
    return token, hash_status_token(token)


def hash_status_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def anonymous_post_for_token(db: MongoDatabase, token: str) -> dict:
    post = db.posts.find_one({"status_token_hash": hash_status_token(token)})
    if post is None:
        raise NotFoundError("This status link is not valid (or the post was withdrawn).")
    return post


def withdraw_anonymous_post(db: MongoDatabase, token: str) -> None:
    post = anonymous_post_for_token(db, token)
    remove_post_everywhere(db, post["_id"])


# Holding and hiding

def hold_if_risky(db: MongoDatabase, post: dict, nsfw: float, threshold: float) -> bool:
    """A published post whose NSFW score passes the threshold waits for review instead."""
    if post["status"] != PostStatus.PUBLISHED or nsfw <= threshold:
        return False
    changed = change_post(db, {"_id": post["_id"], "status": PostStatus.PUBLISHED},
                          {"$set": {"status": PostStatus.HELD}}).modified_count
    if changed:
        set_post_status(db, post["_id"], PostStatus.HELD)
        audit.record(db, actor=None, action="hide", target_type="post", target_id=post["_id"],
                     reason=f"NSFW score {nsfw:.2f} over {threshold:.2f}", before={"status": PostStatus.PUBLISHED},
                     after={"status": PostStatus.HELD})
    return bool(changed)


# Reports

def report(db: MongoDatabase, reporter: dict, target_type: str, target_id: str, reason: str, hide_after: int) -> dict:
    """One report per person per item; after `hide_after` of them the item hides until reviewed."""
    reason = clean_reason(reason, required=True)
    target = _target(db, target_type, target_id, reporter)
    refuse_if_blocked(reporter, target.get("author_id"), f"No such {target_type}.")
    if target_type == "post" and target.get("author_id") == reporter["_id"]:
        raise ValidationError("You cannot report your own post.")
    result = db.reports.update_one(
        {"target_type": target_type, "target_id": target["_id"], "reporter_id": reporter["_id"], "open": True},
        {"$setOnInsert": {"reason": reason, "created_at": utc_now()}}, upsert=True)
    if not result.upserted_id:
        raise ConflictError("You already reported this.")
    open_reports = db.reports.count_documents({"target_type": target_type, "target_id": target["_id"], "open": True})
    if open_reports >= hide_after:
        _hide(db, target_type, target, f"{open_reports} reports")
    return {"reports": open_reports}


def _target(db: MongoDatabase, target_type: str, target_id: str, reporter: dict) -> dict:
    """The post or comment if the reporter may see it: one they may not looks like none at all."""
    if target_type == "post":
        return get_visible_post(db, target_id, reporter)
    if target_type != "comment":
        raise ValidationError("Only posts and comments can be reported.")
    comment = db.comments.find_one({"_id": parse_object_id(target_id)})
    post = comment and db.posts.find_one({"_id": comment["post_id"]})
    if (comment is None or not post or post["status"] == PostStatus.REJECTED or not can_see(post, reporter)
            or (comment.get("hidden") and not is_staff(reporter))):
        raise NotFoundError("No such comment.")
    return comment


def _hide(db: MongoDatabase, target_type: str, target: dict, reason: str) -> None:
    if target_type == "post":
        if change_post(db, {"_id": target["_id"], "status": PostStatus.PUBLISHED},
                       {"$set": {"status": PostStatus.HIDDEN}}).modified_count:
            set_post_status(db, target["_id"], PostStatus.HIDDEN)
            audit.record(db, actor=None, action="hide", target_type="post", target_id=target["_id"], reason=reason,
                         before={"status": PostStatus.PUBLISHED}, after={"status": PostStatus.HIDDEN})
    elif db.comments.update_one({"_id": target["_id"], "hidden": {"$ne": True}}, {"$set": {"hidden": True}}).modified_count:
        audit.record(db, actor=None, action="hide", target_type="comment", target_id=target["_id"], reason=reason,
                     before={"hidden": False}, after={"hidden": True})


# The queue

def review_queue(db: MongoDatabase, sort: str) -> list[dict]:
    """Posts waiting for a decision and reported comments, riskiest or oldest first."""
    posts = list(db.posts.find({"$or": [{"status": {"$in": list(AWAITING_REVIEW)}},
                                        {"_id": {"$in": _reported_ids(db, "post")}, "status": PostStatus.PUBLISHED}]}))
    comments = list(db.comments.find({"$or": [{"hidden": True}, {"_id": {"$in": _reported_ids(db, "comment")}}]}))
    reports = _open_reports(db, [item["_id"] for item in posts + comments])
    items: list[dict[str, Any]] = [{"type": "post", "item": post, "reports": reports.get(post["_id"], [])} for post in posts]
    items += [{"type": "comment", "item": comment, "reports": reports.get(comment["_id"], [])} for comment in comments]
    if sort == "nsfw":
        items.sort(key=lambda entry: (-(entry["item"].get("nsfw") or 0), entry["item"]["created_at"]))
    else:
        items.sort(key=lambda entry: entry["item"]["created_at"])
    return items


def _reported_ids(db: MongoDatabase, target_type: str) -> list[ObjectId]:
    return db.reports.distinct("target_id", {"target_type": target_type, "open": True})


def _open_reports(db: MongoDatabase, target_ids: list[ObjectId]) -> dict[ObjectId, list[dict]]:
    grouped: dict[ObjectId, list[dict]] = {}
    for row in db.reports.find({"target_id": {"$in": target_ids}, "open": True}):
        grouped.setdefault(row["target_id"], []).append(row)
    return grouped


def decide_post(db: MongoDatabase, moderator: dict, post_id: str, decision: str, reason: str) -> dict:
    require_staff(moderator)
    post = db.posts.find_one({"_id": parse_object_id(post_id)})
    if post is None or post["status"] == PostStatus.REJECTED:
        raise NotFoundError("No such post awaiting review.")
    before = {"status": post["status"]}
    if decision == "approve":
        reason = clean_reason(reason, required=False)
        change_post(db, {"_id": post["_id"]}, {"$set": {
            "status": PostStatus.PUBLISHED, "reviewed_at": utc_now(), "review_reason": reason}})
        set_post_status(db, post["_id"], PostStatus.PUBLISHED)
        notify_post_mentions(db, post)
        after = {"status": PostStatus.PUBLISHED}
    elif decision == "reject":
        reason = clean_reason(reason, required=True)
        _tombstone(db, post, reason)
        after = {"status": PostStatus.REJECTED}
    else:
        raise ValidationError("Decide approve or reject.")
    db.reports.update_many({"target_type": "post", "target_id": post["_id"], "open": True},
                           {"$set": {"open": False, "resolved_at": utc_now(), "decision": decision}})
    mark_activity(db, moderator)
    audit.record(db, actor=moderator, action=decision, target_type="post", target_id=post["_id"], reason=reason,
                 before=before, after=after)
    return {**post, **after}


def _tombstone(db: MongoDatabase, post: dict, reason: str) -> None:
    """Rejected: the photos and everything hanging off the post go; a record of why stays."""
    change_post(db, {"_id": post["_id"]}, {"$set": {
        "status": PostStatus.REJECTED, "photos": [], "review_reason": reason, "reviewed_at": utc_now(),
        "caption": "", "alt_text": "", **tag_fields([]), "hashtags": []}})
    delete_post_files(db, post["_id"])
    delete_post_vectors(db, post["_id"])
    for collection in ("likes", "comments", "saves", "notifications"):
        db[collection].delete_many({"post_id": post["_id"]})


def decide_comment(db: MongoDatabase, moderator: dict, comment_id: str, decision: str, reason: str) -> None:
    require_staff(moderator)
    comment = db.comments.find_one({"_id": parse_object_id(comment_id)})
    if comment is None:
        raise NotFoundError("No such comment.")
    if decision == "approve":
        reason = clean_reason(reason, required=False)
        db.comments.update_one({"_id": comment["_id"]}, {"$set": {"hidden": False}})
        after = {"hidden": False}
    elif decision == "reject":
        reason = clean_reason(reason, required=True)
        db.comments.delete_one({"_id": comment["_id"]})
        change_post(db, {"_id": comment["post_id"]}, {"$inc": {"comment_count": -1}})
        after = {"deleted": True, "text": comment["text"]}
    else:
        raise ValidationError("Decide approve or reject.")
    db.reports.update_many({"target_type": "comment", "target_id": comment["_id"], "open": True},
                           {"$set": {"open": False, "resolved_at": utc_now(), "decision": decision}})
    mark_activity(db, moderator)
    audit.record(db, actor=moderator, action=decision, target_type="comment", target_id=comment["_id"],
                 reason=reason, before={"hidden": bool(comment.get("hidden")), "text": comment["text"]}, after=after)
