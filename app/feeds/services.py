"""Home (people you follow, and you) and explore (recent popular) feeds, cursor-paginated.

Blocks and mutes (app/auth/visibility.py) narrow the same indexed queries: no feed reads more.
Each query reads only the ids, sort keys and revisions of its page; the posts themselves come from
memory when held at that revision (app/posts/revisions.py). The first page of a home feed, the one
asked for most, is remembered by each process until something touches it (app/feeds/first_pages.py)."""
from app.auth.visibility import NOT_PRIVATE, hidden_by_block, may_see_private, unwanted_authors, without_authors
from app.core.db import MongoDatabase
from app.core.pagination import keyset_page
from app.core.statuses import PostStatus
from app.feeds.first_pages import FirstPages
from app.posts.revisions import activity_of, page_fields, whole_posts

PUBLISHED = {"status": PostStatus.PUBLISHED}
_first_pages = FirstPages()


def home_feed(db: MongoDatabase, viewer: dict, cursor: str | None, limit: int) -> tuple[list[dict], str | None]:
    unwanted = set(unwanted_authors(viewer))
    authors = [author for author in [viewer["_id"], *viewer.get("following_ids", [])] if author not in unwanted]
    query = {**PUBLISHED, "author_id": {"$in": authors}}
    if cursor:
        return _posts_page(db, query, "created_at", cursor, limit)
    stubs, next_cursor = _first_pages.page(db, viewer["_id"], limit, authors, activity_of(viewer), lambda: keyset_page(
        db.posts, query, "created_at", None, limit, page_fields("created_at")))
    return whole_posts(db.posts, query, stubs), next_cursor


def explore_feed(db: MongoDatabase, viewer: dict | None, cursor: str | None, limit: int) -> tuple[list[dict], str | None]:
    query = {**PUBLISHED, **NOT_PRIVATE, **without_authors(unwanted_authors(viewer))}
    return _posts_page(db, query, "hot", cursor, limit)


def profile_posts(db: MongoDatabase, author: dict, viewer: dict | None, cursor: str | None,
                  limit: int) -> tuple[list[dict], str | None]:
    if hidden_by_block(viewer, author["_id"]):  # the blocker, on the profile of whom they blocked
        return [], None
    if author.get("private") and not may_see_private(viewer, author["_id"]):
        return [], None
    return _posts_page(db, {**PUBLISHED, "author_id": author["_id"]}, "created_at", cursor, limit)


def _posts_page(db: MongoDatabase, query: dict, sort_field: str, cursor: str | None,
                limit: int) -> tuple[list[dict], str | None]:
    stubs, next_cursor = keyset_page(db.posts, query, sort_field, cursor, limit, page_fields(sort_field))
    return whole_posts(db.posts, query, stubs), next_cursor
