"""Posts, feeds, likes, comments and saves."""
from flask import current_app, request
from flask.typing import ResponseReturnValue
from flask_jwt_extended import current_user, verify_jwt_in_request

from app.api import bp
from app.api.schemas import (
    CollectionListSchema,
    CollectionQuery,
    CommentBody,
    CommentListSchema,
    CommentSchema,
    PageQuery,
    PhotoUpload,
    PostChanges,
    PostListSchema,
    PostSchema,
    SaveBody,
    SavedSchema,
)
from app.auth import verification
from app.auth.tokens import access_token_required
from app.core.db import MongoDatabase, get_db, get_fs
from app.core.jobs.worker import wake_workers
from app.core.pagination import page_size
from app.feeds import services as feeds
from app.posts import services as posts
from app.posts.memory import shown_post
from app.posts.presenter import present_comments, present_post
from app.posts.requests import photo_bytes, upload_limits
from app.social import services as social
from app.social.presenter import present_posts

NO_SUCH_POST = "No such post (or not visible to you)"


def optional_viewer() -> dict | None:
    verify_jwt_in_request(optional=True)
    return current_user if current_user else None


def post_list(db: MongoDatabase, documents: list[dict], next_cursor: str | None, viewer: dict | None) -> dict:
    return {"results": present_posts(db, documents, viewer), "next_cursor": next_cursor}


def one_post(db: MongoDatabase, post: dict, viewer: dict | None) -> dict:
    return present_posts(db, [post], viewer)[0]


@bp.post("/posts")
@access_token_required
@bp.token_required
@bp.fails(403, verification.UNVERIFIED_DOC)
@bp.fails(413, "Request too large")
@bp.arguments(PhotoUpload, location="multipart")
@bp.response(201, PostSchema, description="The new post (enrichment pending)")
def create_post(upload: dict) -> ResponseReturnValue:
    """Publish a post of one or more photos (needs a verified address)"""
    verification.refuse_unverified(current_user)
    db = get_db()
    post = posts.publish_photos(db, get_fs(), author=current_user, uploads=photo_bytes(upload["photos"]),
                                caption=upload["caption"], limits=upload_limits())
    wake_workers()
    # Nobody has liked or saved a new post yet, and it keeps its author: nothing to look up.
    return present_post(post)


@bp.get("/posts/<post_id>")
@bp.token_optional
@bp.fails(404, NO_SUCH_POST)
@bp.response(200, PostSchema)
def get_post(post_id: str) -> ResponseReturnValue:
    """A post"""
    db, viewer = get_db(), optional_viewer()
    return one_post(db, shown_post(db, post_id, viewer, current_app.config["POST_LOOKUP_SECONDS"]), viewer)


@bp.patch("/posts/<post_id>")
@access_token_required
@bp.token_required
@bp.fails(403, "Not the author")
@bp.fails(404, NO_SUCH_POST)
@bp.arguments(PostChanges)
@bp.response(200, PostSchema)
def update_post(changes: dict, post_id: str) -> ResponseReturnValue:
    """Edit the caption or alt text, or remove generated tags (author only)"""
    db = get_db()
    post = posts.get_visible_post(db, post_id, current_user)
    return one_post(db, posts.update_post(db, post, current_user, changes), current_user)


@bp.delete("/posts/<post_id>")
@access_token_required
@bp.token_required
@bp.fails(403, "Not the author")
@bp.fails(404, NO_SUCH_POST)
@bp.no_content("Deleted")
def delete_post(post_id: str) -> ResponseReturnValue:
    """Delete a post with its photos, likes, comments and notifications (author only)"""
    db = get_db()
    posts.delete_post(db, posts.get_visible_post(db, post_id, current_user), current_user)
    return "", 204


@bp.get("/feed")
@access_token_required
@bp.token_required
@bp.arguments(PageQuery, location="query")
@bp.response(200, PostListSchema)
def home_feed(page: dict) -> ResponseReturnValue:
    """Home feed: people you follow and you, newest first"""
    db = get_db()
    documents, next_cursor = feeds.home_feed(db, current_user, page.get("cursor"), page_size(page.get("limit")))
    return post_list(db, documents, next_cursor, current_user)


@bp.get("/explore")
@bp.token_optional
@bp.arguments(PageQuery, location="query")
@bp.response(200, PostListSchema)
def explore(page: dict) -> ResponseReturnValue:
    """Recent popular posts (likes with time decay)"""
    db, viewer = get_db(), optional_viewer()
    documents, next_cursor = feeds.explore_feed(db, viewer, page.get("cursor"), page_size(page.get("limit")))
    return post_list(db, documents, next_cursor, viewer)


@bp.route("/posts/<post_id>/like", methods=["PUT", "DELETE"])
@access_token_required
@bp.token_required
@bp.fails(403, verification.UNVERIFIED_DOC)
@bp.fails(404, NO_SUCH_POST)
@bp.response(200, PostSchema, description="The post as it now is")
def like(post_id: str) -> ResponseReturnValue:
    """Like (PUT; needs a verified address) or unlike (DELETE); both idempotent"""
    if request.method == "PUT":
        verification.refuse_unverified(current_user)
    db = get_db()
    post = posts.get_visible_post(db, post_id, current_user)
    (social.like if request.method == "PUT" else social.unlike)(db, current_user, post)
    return one_post(db, posts.get_post(db, post["_id"]), current_user)


@bp.get("/posts/<post_id>/comments")
@bp.token_optional
@bp.fails(404, NO_SUCH_POST)
@bp.arguments(PageQuery, location="query")
@bp.response(200, CommentListSchema)
def list_comments(page: dict, post_id: str) -> ResponseReturnValue:
    """Comments, newest first (moderators also see hidden ones)"""
    db = get_db()
    viewer = optional_viewer()
    post = posts.get_visible_post(db, post_id, viewer)
    comments, next_cursor = social.list_comments(db, post, viewer, page.get("cursor"), page_size(page.get("limit")))
    return {"results": present_comments(db, comments), "next_cursor": next_cursor}


@bp.post("/posts/<post_id>/comments")
@access_token_required
@bp.token_required
@bp.fails(403, verification.UNVERIFIED_DOC)
@bp.fails(404, NO_SUCH_POST)
@bp.arguments(CommentBody)
@bp.response(201, CommentSchema)
def add_comment(comment: dict, post_id: str) -> ResponseReturnValue:
    """Comment on a post (needs a verified address)"""
    verification.refuse_unverified(current_user)
    db = get_db()
    post = posts.get_visible_post(db, post_id, current_user)
    return present_comments(db, [social.add_comment(db, current_user, post, comment["text"])])[0]


@bp.delete("/comments/<comment_id>")
@access_token_required
@bp.token_required
@bp.fails(403, "Not allowed: only its author, the post's author or a moderator")
@bp.fails(404, "No such comment")
@bp.no_content("Deleted")
def delete_comment(comment_id: str) -> ResponseReturnValue:
    """Delete a comment (its author, the post's author or a moderator)"""
    social.delete_comment(get_db(), current_user, comment_id)
    return "", 204


@bp.put("/posts/<post_id>/save")
@access_token_required
@bp.token_required
@bp.fails(404, NO_SUCH_POST)
@bp.arguments(SaveBody, required=False)
@bp.response(200, SavedSchema)
def save(body: dict, post_id: str) -> ResponseReturnValue:
    """Save to a collection (default 'Saved')"""
    db = get_db()
    social.save(db, current_user, posts.get_visible_post(db, post_id, current_user), body.get("collection"))
    return {"saved": True}


@bp.delete("/posts/<post_id>/save")
@access_token_required
@bp.token_required
@bp.fails(404, NO_SUCH_POST)
@bp.arguments(CollectionQuery, location="query")
@bp.response(200, SavedSchema)
def unsave(query: dict, post_id: str) -> ResponseReturnValue:
    """Remove from a collection (default 'Saved')"""
    db = get_db()
    social.unsave(db, current_user, posts.get_visible_post(db, post_id, current_user), query.get("collection"))
    return {"saved": False}


@bp.get("/me/collections")
@access_token_required
@bp.token_required
@bp.response(200, CollectionListSchema)
def collections() -> ResponseReturnValue:
    """Your saved collections, with how many posts each holds"""
    return {"results": social.saved_collections(get_db(), current_user)}


@bp.get("/me/collections/<name>")
@access_token_required
@bp.token_required
@bp.arguments(PageQuery, location="query")
@bp.response(200, PostListSchema)
def collection(page: dict, name: str) -> ResponseReturnValue:
    """Posts saved in one of your collections, newest save first"""
    db = get_db()
    documents, next_cursor = social.saved_posts(db, current_user, name, page.get("cursor"), page_size(page.get("limit")))
    return post_list(db, documents, next_cursor, current_user)
