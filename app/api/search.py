"""Search, similar photos and the "for you" feed; each result carries its score."""
from flask.typing import ResponseReturnValue
from flask_jwt_extended import current_user

from app.api import bp
from app.api.posts import NO_SUCH_POST, optional_viewer
from app.api.schemas import PageQuery, ScoredPostListSchema, SearchQuery, SimilarQuery
from app.auth.tokens import access_token_required
from app.core.db import MongoDatabase, get_db
from app.core.pagination import page_size
from app.posts import services as posts
from app.search import get_vector_search
from app.search import service as search
from app.search.embedder import get_text_embedder
from app.social.presenter import present_posts


def scored_list(db: MongoDatabase, scored: list[tuple[dict, float]], next_cursor: str | None, viewer: dict | None) -> dict:
    presented = present_posts(db, [post for post, _ in scored], viewer)
    results = [{**post, "score": round(score, 6)} for post, (_, score) in zip(presented, scored, strict=True)]
    return {"results": results, "next_cursor": next_cursor}


@bp.get("/search")
@bp.token_optional
@bp.arguments(SearchQuery, location="query")
@bp.response(200, ScoredPostListSchema)
def search_posts(query: dict) -> ResponseReturnValue:
    """Photos by meaning and by hashtag, tag or @username (fused)"""
    db, viewer = get_db(), optional_viewer()
    scored, next_cursor = search.search_posts(db, get_vector_search(), get_text_embedder(), query["q"],
                                              viewer, query.get("cursor"), page_size(query.get("limit")))
    return scored_list(db, scored, next_cursor, viewer)


@bp.get("/posts/<post_id>/similar")
@bp.token_optional
@bp.fails(404, NO_SUCH_POST)
@bp.arguments(SimilarQuery, location="query")
@bp.response(200, ScoredPostListSchema)
def similar(query: dict, post_id: str) -> ResponseReturnValue:
    """Photos that look alike and are about the same thing"""
    db, viewer = get_db(), optional_viewer()
    post = posts.get_visible_post(db, post_id, viewer)
    return scored_list(db, search.similar_posts(db, get_vector_search(), post, viewer, page_size(query.get("limit"), 12)),
                       None, viewer)


@bp.get("/for-you")
@access_token_required
@bp.token_required
@bp.arguments(PageQuery, location="query")
@bp.response(200, ScoredPostListSchema)
def for_you(page: dict) -> ResponseReturnValue:
    """Near your taste (what you liked and saved), then popular"""
    db = get_db()
    scored, next_cursor = search.for_you(db, get_vector_search(), current_user, page.get("cursor"),
                                         page_size(page.get("limit")))
    return scored_list(db, scored, next_cursor, current_user)
