"""Home (people you follow, and you) and explore (recent popular) feeds, cursor-paginated."""
from app.core.db import MongoDatabase
from app.core.pagination import keyset_page
from app.core.statuses import PostStatus

PUBLISHED = {"status": PostStatus.PUBLISHED}


def home_feed(db: MongoDatabase, viewer: dict, cursor: str | None, limit: int) -> tuple[list[dict], str | None]:
    authors = [viewer["_id"], *viewer.get("following_ids", [])]
    return keyset_page(db.posts, {**PUBLISHED, "author_id": {"$in": authors}}, "created_at", cursor, limit)


def explore_feed(db: MongoDatabase, cursor: str | None, limit: int) -> tuple[list[dict], str | None]:
    return keyset_page(db.posts, PUBLISHED, "hot", cursor, limit)


def profile_posts(db: MongoDatabase, author: dict, cursor: str | None, limit: int) -> tuple[list[dict], str | None]:
    return keyset_page(db.posts, {**PUBLISHED, "author_id": author["_id"]}, "created_at", cursor, limit)
