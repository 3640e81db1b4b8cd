"""Posts as the API and the pages show them: one shape, built in batches (no query per post).
What a viewer did to them (liked, saved) is added by app/social/presenter.py."""
from flask import url_for

from app.core.db import MongoDatabase

RENDITION_NAMES = ("original", "large", "thumb")
AUTHOR_FIELDS = {"username": 1, "avatar_file_id": 1}  # what author_summary reads; users carry their follow list


def author_summary(user: dict | None) -> dict | None:
    if user is None:
        return None
    return {"id": str(user["_id"]), "username": user["username"], "avatar_url": avatar_url(user)}


def avatar_url(user: dict) -> str | None:
    if not user.get("avatar_file_id"):
        return None
    return url_for("social.avatar", file_id=str(user["avatar_file_id"]))


def photo_urls(post: dict, index: int) -> dict:
    return {name: url_for("posts.photo", post_id=str(post["_id"]), index=index, rendition=name)
            for name in RENDITION_NAMES}


def present_photo(post: dict, photo: dict) -> dict:
    return {
        "urls": photo_urls(post, photo["index"]), "width": photo["width"], "height": photo["height"],
        "format": photo["format"], "bytes": photo["bytes"],
        "taken_at": photo["taken_at"].isoformat() if photo.get("taken_at") else None,
    }


def post_author(post: dict) -> dict | None:
    """The author as the post keeps it (author_fields), in the shape of a user document."""
    if post.get("author_username") is None:  # anonymous
        return None
    return {"_id": post["author_id"], "username": post["author_username"],
            "avatar_file_id": post.get("author_avatar_file_id")}


def present_post(post: dict, *, liked_by_me: bool = False, saved_by_me: bool = False) -> dict:
    return {
        "id": str(post["_id"]), "status": post["status"], "author": author_summary(post_author(post)),
        "caption": post["caption"], "alt_text": post.get("alt_text", ""),
        "alt_text_source": post.get("alt_text_source"),
        "tags": post.get("tags", []), "hashtags": post.get("hashtags", []), "mentions": post.get("mentions", []),
        "created_at": post["created_at"].isoformat(), "updated_at": post["updated_at"].isoformat(),
        "photos": [present_photo(post, photo) for photo in post["photos"]],
        "enrichment": post.get("enrichment", "pending"),
        "like_count": post.get("like_count", 0), "comment_count": post.get("comment_count", 0),
        "liked_by_me": liked_by_me, "saved_by_me": saved_by_me,
    }


def present_comment(comment: dict, author: dict | None) -> dict:
    return {"id": str(comment["_id"]), "post_id": str(comment["post_id"]), "author": author_summary(author),
            "text": comment["text"], "mentions": comment.get("mentions", []),
            "created_at": comment["created_at"].isoformat()}


def present_comments(db: MongoDatabase, comments: list[dict]) -> list[dict]:
    ids = list({comment["author_id"] for comment in comments})
    authors = {user["_id"]: user for user in db.users.find({"_id": {"$in": ids}}, AUTHOR_FIELDS)} if ids else {}
    return [present_comment(comment, authors.get(comment["author_id"])) for comment in comments]
