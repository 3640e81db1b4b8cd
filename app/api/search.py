"""Search, similar photos and the "for you" feed in the JSON API."""
from flask import jsonify, request
from flask_jwt_extended import current_user, jwt_required

from app.api import bp
from app.api.posts import optional_viewer
from app.core.db import get_db
from app.core.errors import ValidationError
from app.core.pagination import page_size
from app.posts import services as posts
from app.search import get_vector_search
from app.search import service as search
from app.search.embedder import get_text_embedder
from app.social.presenter import present_posts


def scored_list(db, scored: list[tuple[dict, float]], next_cursor: str | None, viewer: dict | None):
    presented = present_posts(db, [post for post, _ in scored], viewer)
    results = [{**post, "score": round(score, 6)} for post, (_, score) in zip(presented, scored, strict=True)]
    return jsonify({"results": results, "next_cursor": next_cursor})


@bp.get("/search")
def search_posts():
    query = request.args.get("q", "")
    if not query.strip():
        raise ValidationError("Say what to look for: ?q=...", fields={"q": "Required."})
    db = get_db()
    scored, next_cursor = search.search_posts(db, get_vector_search(), get_text_embedder(), query,
                                              request.args.get("cursor"), page_size(request.args.get("limit")))
    return scored_list(db, scored, next_cursor, optional_viewer())


@bp.get("/posts/<post_id>/similar")
def similar(post_id):
    db, viewer = get_db(), optional_viewer()
    post = posts.get_visible_post(db, post_id, viewer)
    return scored_list(db, search.similar_posts(db, get_vector_search(), post, page_size(request.args.get("limit"), 12)),
                       None, viewer)


@bp.get("/for-you")
@jwt_required()
def for_you():
    db = get_db()
    scored, next_cursor = search.for_you(db, get_vector_search(), current_user, request.args.get("cursor"),
                                         page_size(request.args.get("limit")))
    return scored_list(db, scored, next_cursor, current_user)
