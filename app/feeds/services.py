"""Home (people you follow, and you) and explore (recent popular) feeds, cursor-paginated.

Blocks and mutes (app/auth/visibility.py) narrow the same indexed queries: no feed reads more.
Explore, the same few pages for everyone, reads only the ids, sort keys and revisions of a page; the
posts themselves come from memory when held at that revision (app/posts/revisions.py). The first page
of a home feed, the one asked for most, is remembered by each process until something touches it
(app/feeds/first_pages.py); other pages are read whole, and held."""
from app.auth.visibility import NOT_PRIVATE, hidden_by_block, may_see_private, unwanted_authors, without_authors
from app.core.db import MongoDatabase
from app.core.pagination import keyset_page
from app.core.statuses import PostStatus
from app.feeds.first_pages import FirstPages
from app.posts.revisions import activity_of, page_fields, stored_posts, stubs_of, whole_posts

PUBLISHED = {"status": PostStatus.PUBLISHED}
_first_pages = FirstPages()


def home_feed(db: MongoDatabase, viewer: dict, cursor: str | None, limit: int) -> tuple[list[dict], str | None]:
    unwanted = set(unwanted_authors(viewer))
    authors = [author for author in [viewer["_id"], *viewer.get("following_ids", [])] if author not in unwanted]
    query = {**PUBLISHED, "author_id": {"$in": authors}}
    if cursor:
        return _whole_page(db, query, cursor, limit)

    def read() -> tuple[list[dict], str | None]:
        # Read whole: a page not remembered seldom finds all its posts held, and ids then posts
        # would be two reads.
        posts, next_cursor = _whole_page(db, query, None, limit)
        return stubs_of(posts, "created_at"), next_cursor

    stubs, next_cursor = _first_pages.page(db, viewer["_id"], limit, authors, activity_of(viewer), read)
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
    # Read whole: a profile is seldom asked for twice running, and ids then posts would be two reads.
    return _whole_page(db, {**PUBLISHED, "author_id": author["_id"]}, cursor, limit)


def _whole_page(db: MongoDatabase, query: dict, cursor: str | None, limit: int) -> tuple[list[dict], str | None]:
    posts, next_cursor = keyset_page(db.posts, query, "created_at", cursor, limit)
    return stored_posts(posts), next_cursor


def _posts_page(db: MongoDatabase, query: dict, sort_field: str, cursor: str | None,
                limit: int) -> tuple[list[dict], str | None]:
    stubs, next_cursor = keyset_page(db.posts, query, sort_field, cursor, limit, page_fields(sort_field))
    return whole_posts(db.posts, query, stubs), next_cursor
