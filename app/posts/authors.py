"""What a post keeps of its author (MongoDB's extended-reference pattern), so that a page of posts
reads no users: the username, which never changes, the avatar, which set_avatar copies onto
every post of its user, and whether the account is private (app/social/privacy.py copies it), so
that explore and search leave private posts out in the query itself."""

from bson import ObjectId

from app.core.db import MongoDatabase
from app.posts.revisions import change_post, change_posts


def author_fields(author: dict | None) -> dict:
    """The fields of a post that name its author; all None for an anonymous post."""
    if author is None:
        return {"author_id": None, "author_username": None, "author_avatar_file_id": None, "author_private": False}
    return {"author_id": author["_id"], "author_username": author["username"],
            "author_avatar_file_id": author.get("avatar_file_id"), "author_private": bool(author.get("private"))}


COPIED = ("author_username", "author_avatar_file_id", "author_private")


def copy_author_to_posts(db: MongoDatabase, author_id: ObjectId, which: dict | None = None) -> None:
    """Write the author's current name, avatar and privacy (author_fields) on their posts, or on those of
    them `which` picks; posts of an author that no longer exists show none."""
    kept = author_fields(db.users.find_one({"_id": author_id}))
    change_posts(db, {"author_id": author_id, **(which or {})}, {"$set": {key: kept[key] for key in COPIED}})


def with_current_avatar(db: MongoDatabase, post: dict) -> dict:
    """The just-stored `post`, with its author's avatar as it is now. set_avatar writes the user,
    then copies onto their posts: a post stored in between, from the user as read before, was
    missed by the copy, and its author's read now sees the new avatar."""
    current = (db.users.find_one({"_id": post["author_id"]}, {"avatar_file_id": 1}) or {}).get("avatar_file_id")
    if current == post["author_avatar_file_id"]:
        return post
    change_post(db, {"_id": post["_id"]}, {"$set": {"author_avatar_file_id": current}})
    return {**post, "author_avatar_file_id": current}
