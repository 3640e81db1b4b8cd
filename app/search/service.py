"""Search, similar photos and the "for you" feed: vector search fused with keyword matches.

Search fuses by score (each channel adds its normalised similarity, or its share of matched
words), because how close a description is matters: a near-exact match must beat a photo that
merely ranks well everywhere. Similar photos fuse two rankings by rank (reciprocal rank fusion).
"""
import re
from collections.abc import Iterable
from datetime import UTC, datetime

import numpy as np
from bson import ObjectId

from app.auth.visibility import NOT_PRIVATE, blocked_either_way, unwanted_authors, without_authors
from app.core.pagination import decode_cursor, encode_cursor
from app.core.statuses import PostStatus
from app.search.backends import VectorSearch
from app.search.vectors import from_bson_vector

RRF_K = 60  # the usual reciprocal-rank-fusion constant
# The image-to-text projection finds photos captions miss, but is less precise than a match on
# the photo's own description; generated tags are the models' guesses, hashtags the author's word.
VISUAL_WEIGHT = 0.5
GENERATED_TAG_WEIGHT = 0.5
CANDIDATES = 100
MIN_TEXT_SIMILARITY = 0.62  # Atlas scale; below this a "semantic match" is noise
MIN_VISUAL_TEXT_SIMILARITY = 0.55
TASTE_HALF_LIFE_DAYS = 14
TASTE_SAMPLE = 50
QUERY_MAX_LENGTH = 200
TERM_PATTERN = re.compile(r"[#@]?(\w+)")
STOP_WORDS = frozenset("a an and are at by for from in into is it its of on or the their there to two with".split())


def fuse_ranks(rankings: Iterable[list[ObjectId]]) -> list[tuple[ObjectId, float]]:
    """Reciprocal rank fusion: each list adds 1 / (k + rank) to the items it ranks."""
    scores: dict[ObjectId, float] = {}
    for ranking in rankings:
        for rank, post_id in enumerate(ranking, start=1):
            scores[post_id] = scores.get(post_id, 0.0) + 1.0 / (RRF_K + rank)
    return _best_first(scores)


def fuse_scores(channels: Iterable[tuple[dict[ObjectId, float], float]]) -> list[tuple[ObjectId, float]]:
    """Relative score fusion: the weighted mean of each channel's 0..1 score (0 where absent)."""
    channels = list(channels)
    total_weight = sum(weight for _, weight in channels)
    scores: dict[ObjectId, float] = {}
    for channel, weight in channels:
        for post_id, score in channel.items():
            scores[post_id] = scores.get(post_id, 0.0) + weight * score / total_weight
    return _best_first(scores)


def _best_first(scores: dict[ObjectId, float]) -> list[tuple[ObjectId, float]]:
    return sorted(scores.items(), key=lambda item: (-item[1], str(item[0])))


def page_of(ranked: list[tuple[ObjectId, float]], cursor: str | None, limit: int):
    """Keyset over (score, id) of a ranked list, like every other cursor in the API."""
    if cursor:
        last_score, last_id = decode_cursor(cursor)
        ranked = [(post_id, score) for post_id, score in ranked
                  if score < last_score or (score == last_score and str(post_id) > str(last_id))]
    page = ranked[:limit]
    next_cursor = encode_cursor(page[-1][1], page[-1][0]) if len(ranked) > limit else None
    return page, next_cursor


def visible_posts(db, ranked: list[tuple[ObjectId, float]], excluded_authors: list) -> list[tuple[dict, float]]:
    """The posts behind ranked ids, in rank order, dropping any not published (any more) and any
    by the unwanted authors (blocks, and mutes where it is a feed) and those of private accounts."""
    ids = [post_id for post_id, _ in ranked]
    posts = {post["_id"]: post for post in db.posts.find({"_id": {"$in": ids}, "status": PostStatus.PUBLISHED,
                                                           **NOT_PRIVATE, **without_authors(excluded_authors)})}
    return [(posts[post_id], score) for post_id, score in ranked if post_id in posts]


def query_terms(query: str) -> list[str]:
    terms = (term.lower() for term in TERM_PATTERN.findall(query))
    return list(dict.fromkeys(term for term in terms if term not in STOP_WORDS))[:20]


def keyword_matches(db, terms: list[str]) -> dict[ObjectId, float]:
    """Posts whose hashtags, author or generated tags match words of the query, scored by the
    share of the words they match (tags count for less)."""
    if not terms:
        return {}
    authors = {user["_id"]: user["username_lower"]
               for user in db.users.find({"username_lower": {"$in": terms}}, {"username_lower": 1})}
    # Each clause can use its own index; an empty `$in` would push the embedded server off SQL.
    clauses = [{"hashtags": {"$in": terms}}, {"tag_names": {"$in": terms}}]
    if authors:
        clauses.append({"author_id": {"$in": list(authors)}})
    matches = db.posts.find({"status": PostStatus.PUBLISHED, **NOT_PRIVATE, "$or": clauses},
                            {"hashtags": 1, "tag_names": 1, "author_id": 1}).sort([("created_at", -1)]).limit(CANDIDATES)
    wanted = set(terms)

    def score(post) -> float:
        stated = wanted & {*post.get("hashtags", []), authors.get(post.get("author_id"))}
        guessed = wanted & set(post.get("tag_names", [])) - stated
        return (len(stated) + GENERATED_TAG_WEIGHT * len(guessed)) / len(wanted)

    return {post["_id"]: score(post) for post in matches}


def semantic_matches(backend: VectorSearch, field: str, vector: np.ndarray, floor: float) -> dict[ObjectId, float]:
    """Hits above `floor`, their similarity rescaled so the floor is 0 and identical is 1."""
    hits = backend.search(field, vector, limit=CANDIDATES)
    return {post_id: (score - floor) / (1 - floor) for post_id, score in hits if score >= floor}


def search_posts(db, backend: VectorSearch, embedder, query: str, viewer: dict | None, cursor: str | None, limit: int):
    """Photos for a natural-language query; returns ([(post, score)], next_cursor)."""
    query = query.strip()[:QUERY_MAX_LENGTH]
    if not query:
        return [], None
    vector = embedder.embed([query])[0]
    ranked = fuse_scores([
        (semantic_matches(backend, "text", vector, MIN_TEXT_SIMILARITY), 1.0),
        (semantic_matches(backend, "visual_text", vector, MIN_VISUAL_TEXT_SIMILARITY), VISUAL_WEIGHT),
        (keyword_matches(db, query_terms(query)), 1.0),
    ])
    page, next_cursor = page_of(ranked, cursor, limit)
    return visible_posts(db, page, blocked_either_way(viewer)), next_cursor


def similar_posts(db, backend: VectorSearch, post: dict, viewer: dict | None, limit: int) -> list[tuple[dict, float]]:
    """Posts that look alike (image vectors) and are about the same thing (text vectors)."""
    vectors = db.post_vectors.find_one({"_id": post["_id"]}, {"image": 1, "text": 1})
    if vectors is None:
        return []
    rankings = [[post_id for post_id, _ in backend.search(field, from_bson_vector(vectors[field]), limit=limit + 1)
                 if post_id != post["_id"]]
                for field in ("image", "text") if vectors.get(field) is not None]
    return visible_posts(db, fuse_ranks(rankings)[:limit], blocked_either_way(viewer))


def taste_vector(db, viewer: dict) -> np.ndarray | None:
    """Recency-weighted mean of the text vectors of what the viewer liked and saved."""
    interactions = [*db.likes.find({"user_id": viewer["_id"]}, {"post_id": 1, "created_at": 1})
                    .sort([("created_at", -1)]).limit(TASTE_SAMPLE),
                    *db.saves.find({"user_id": viewer["_id"]}, {"post_id": 1, "created_at": 1})
                    .sort([("created_at", -1)]).limit(TASTE_SAMPLE)]
    if not interactions:
        return None
    now = datetime.now(UTC)
    weights = {row["post_id"]: 0.0 for row in interactions}
    for row in interactions:
        age_days = (now - row["created_at"]).total_seconds() / 86400
        weights[row["post_id"]] += 0.5 ** (age_days / TASTE_HALF_LIFE_DAYS)
    vectors = {document["_id"]: from_bson_vector(document["text"])
               for document in db.post_vectors.find({"_id": {"$in": list(weights)}}, {"text": 1})
               if document.get("text") is not None}
    if not vectors:
        return None
    taste = sum(weights[post_id] * vector for post_id, vector in vectors.items())
    return taste / max(float(np.linalg.norm(taste)), 1e-12)


def for_you(db, backend: VectorSearch, viewer: dict, cursor: str | None, limit: int):
    """Posts near the viewer's taste (not their own, not already liked), then popular ones."""
    liked = {row["post_id"] for row in db.likes.find({"user_id": viewer["_id"]}, {"post_id": 1})}
    taste = taste_vector(db, viewer)
    ranked: list[tuple[ObjectId, float]] = []
    if taste is not None:
        hits = backend.search("text", taste, limit=CANDIDATES + len(liked), exclude_author=viewer["_id"])
        ranked = [(post_id, 1.0 + score) for post_id, score in hits if post_id not in liked]
    # New users (no likes or saves yet), and everyone past their taste matches, get explore.
    seen = {post_id for post_id, _ in ranked} | liked
    unwanted = unwanted_authors(viewer)
    popular = db.posts.find({"status": PostStatus.PUBLISHED, "author_id": {"$nin": [viewer["_id"], *unwanted]}}, {"_id": 1}) \
        .sort([("hot", -1)]).limit(CANDIDATES)
    fallback = [post["_id"] for post in popular if post["_id"] not in seen]
    ranked += [(post_id, 1.0 - rank / (len(fallback) + 1)) for rank, post_id in enumerate(fallback, start=1)]
    page, next_cursor = page_of(ranked, cursor, limit)
    return visible_posts(db, page, unwanted), next_cursor
