"""Home feed, explore, profiles, a post's own page and the health check: the pages that gather
several features."""
from flask import Blueprint, current_app, g, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from pymongo.errors import PyMongoError

from app.auth.tokens import login_required
from app.auth.visibility import may_see_private
from app.core.db import forget_connection, get_db, ping
from app.feeds import services as feeds
from app.main import cards
from app.posts.memory import shown_post
from app.posts.presenter import present_comments, present_post
from app.search import get_vector_search, search_state
from app.search import service as search_service
from app.search.embedder import get_text_embedder
from app.social import blocks, privacy
from app.social import services as social
from app.social.presenter import present_posts

bp = Blueprint("main", __name__)
bp.add_app_template_global(cards.post_card, "post_card")  # every list of cards (templates/feeds/_cards.html)

PAGE_SIZE = 12
HOME_FEED_SIZE = 20  # the signed-in home feed: what people scroll most, in fewer requests
COMMENTS_PAGE_SIZE = 50
SIMILAR_COUNT = 6


def feed_page(template: str, documents: list[dict], next_cursor: str | None, **context: object) -> str:
    """A whole page, or (for infinite scroll) just the next cards, rendered by the same template."""
    posts = present_posts(get_db(), documents, g.user)
    if request.args.get("fragment"):
        return render_template("feeds/_cards.html", posts=posts, next_cursor=next_cursor)
    return render_template(template, posts=posts, next_cursor=next_cursor, **context)


@bp.get("/")
def index() -> ResponseReturnValue:
    db, cursor = get_db(), request.args.get("cursor")
    if g.user is None:
        documents, next_cursor = feeds.explore_feed(db, None, cursor, PAGE_SIZE)
        return feed_page("main/index.html", documents, next_cursor)
    documents, next_cursor = feeds.home_feed(db, g.user, cursor, HOME_FEED_SIZE)
    return feed_page("main/index.html", documents, next_cursor)


@bp.get("/explore")
def explore() -> ResponseReturnValue:
    documents, next_cursor = feeds.explore_feed(get_db(), g.user, request.args.get("cursor"), PAGE_SIZE)
    return feed_page("main/explore.html", documents, next_cursor)


@bp.get("/search")
def search() -> ResponseReturnValue:
    query = request.args.get("q", "").strip()
    scored: list[tuple[dict, float]] = []
    next_cursor: str | None = None
    if query:
        scored, next_cursor = search_service.search_posts(get_db(), get_vector_search(), get_text_embedder(), query,
                                                          g.user, request.args.get("cursor"), PAGE_SIZE)
    return feed_page("main/search.html", [post for post, _ in scored], next_cursor, query=query)


@bp.get("/for-you")
@login_required
def for_you() -> ResponseReturnValue:
    scored, next_cursor = search_service.for_you(get_db(), get_vector_search(), g.user, request.args.get("cursor"), PAGE_SIZE)
    return feed_page("main/for_you.html", [post for post, _ in scored], next_cursor)


@bp.get("/u/<username>")
def profile(username: str) -> ResponseReturnValue:
    user = blocks.get_visible_user(get_db(), username, g.user)
    documents, next_cursor = feeds.profile_posts(get_db(), user, g.user, request.args.get("cursor"), PAGE_SIZE)
    return feed_page("main/profile.html", documents, next_cursor, profile=user,
                     followed_by_me=social.is_following(get_db(), g.user, user), **blocks.relation(g.user, user),
                     requested_by_me=privacy.is_requested(get_db(), g.user, user),
                     private_to_me=user.get("private") and not may_see_private(g.user, user["_id"]))


@bp.get("/p/<post_id>")
def post(post_id: str) -> ResponseReturnValue:
    """The post and its comments; similar photos come after the first paint (`similar`)."""
    db = get_db()
    document = shown_post(db, post_id, g.user, current_app.config["POST_LOOKUP_SECONDS"])
    comments, next_cursor = social.list_comments(db, document, g.user, request.args.get("comments"), COMMENTS_PAGE_SIZE)
    return render_template("posts/detail.html", post=present_posts(db, [document], g.user)[0],
                           comments=present_comments(db, comments), comments_cursor=next_cursor,
                           is_owner=g.user is not None and document.get("author_id") == g.user["_id"])


@bp.get("/p/<post_id>/similar")
def similar(post_id: str) -> ResponseReturnValue:
    """A post's similar photos: a page of their own without JavaScript, else (`fragment`) the
    list the post page fetches once shown, so the vector search is off its critical path."""
    db = get_db()
    document = shown_post(db, post_id, g.user, current_app.config["POST_LOOKUP_SECONDS"])
    found = [other for other, _ in search_service.similar_posts(db, get_vector_search(), document, g.user, SIMILAR_COUNT)]
    similar = [present_post(other) for other in found]  # thumbnails and links: no likes or saves to look up
    if request.args.get("fragment"):
        return render_template("posts/_similar.html", similar=similar)
    return render_template("posts/similar.html", post=present_post(document), similar=similar)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    try:
        ping()
    except PyMongoError as error:
        forget_connection()
        return jsonify({"status": "unavailable", "database": "unreachable", "detail": type(error).__name__}), 503
    return jsonify({"status": "ok", "database": "ok", "search": search_state()})
