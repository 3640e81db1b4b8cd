"""Search, similar photos and the "for you" feed: vector search fused with keyword matches.

Search scores every candidate (the nearest photos by the image's projection into text space, the
nearest descriptions, and posts whose hashtags or author the query names) by a weighted sum: how
close the photo and its description are to the query, plus the share of the query's words its
author stated (hashtags, username) and, a little, the share its generated tags match. There is
no similarity cut-off: on dev, the best photos for nonsense ("password reset email") score as
high as right photos that rank in their own query's top 50, so any cut-off that keeps nonsense
out drops right photos. Similar photos fuse two rankings by rank (reciprocal rank fusion).
"""
import re
import threading
import time
from collections.abc import Iterable
from datetime import UTC, datetime

import numpy as np
from bson import ObjectId

from app.auth.visibility import NOT_PRIVATE, blocked_either_way, unwanted_authors, without_authors
from app.core.db import Document, MongoDatabase
from app.core.pagination import decode_cursor, encode_cursor
from app.core.statuses import PostStatus
from app.search.backends import VectorSearch
from app.search.vectors import from_bson_vector
from ml_models.text_embedding import TextEmbedder

RRF_K = 60  # the usual reciprocal-rank-fusion constant
CANDIDATES = 100
# Weights of the search score, chosen on Flickr8k dev with `flask ml evaluate-search --through-app`.
# The photo itself (its projection) finds the right photo far more often than its generated
# description does (R@10 0.60 against 0.42 alone); a little of the description helps.
DESCRIPTION_WEIGHT = 0.2
GENERATED_TAG_WEIGHT = 0.1  # the models' guesses, for short queries (one-word P@10 on dev 0.70 -> 0.71)
STATED_WEIGHT = 1.0  # the author's own word (hashtag, username) comes before any likeness
# A description (three words or more) names one scene: the photos close to every description
# (hubs) are held back (R@10 on dev 0.60 -> 0.63), and generated tags are not looked up (they
# did not change its recall). One or two words name a kind of thing, whose most typical photos
# are the right answers: no hubness there (it cost one-word queries P@10 0.71 -> 0.68).
HUBNESS_WEIGHT = 0.75
DESCRIPTION_TERMS = 3
TASTE_HALF_LIFE_DAYS = 14
TASTE_SAMPLE = 50
QUERY_MAX_LENGTH = 200
TERM_PATTERN = re.compile(r"([#@]?)(\w+)")
STOP_WORDS = frozenset("a an and are at by for from in into is it its of on or the their there to two with".split())
# Likeness needs no freshness: each process keeps a post's similar ids this long (so a new post
# joins older posts' lists within it), sparing a repeat view its vector read and two searches.
# Only ids are kept: whether each post may be shown to the viewer is read at every view.
SIMILAR_IDS_SECONDS = 60
SIMILAR_IDS_HELD = 10_000  # posts per process; the oldest go first
_similar_ids: dict[tuple[str, ObjectId], tuple[float, int, list[tuple[ObjectId, float]]]] = {}  # expiry, limit, ids
_similar_ids_lock = threading.Lock()


def fuse_ranks(rankings: Iterable[list[ObjectId]]) -> list[tuple[ObjectId, float]]:
    """Reciprocal rank fusion: each list adds 1 / (k + rank) to the items it ranks."""
    scores: dict[ObjectId, float] = {}
    for ranking in rankings:
        for rank, post_id in enumerate(ranking, start=1):
            scores[post_id] = scores.get(post_id, 0.0) + 1.0 / (RRF_K + rank)
    return _best_first(scores)


def _best_first(scores: dict[ObjectId, float]) -> list[tuple[ObjectId, float]]:
    return sorted(scores.items(), key=lambda item: (-item[1], str(item[0])))


def page_of(ranked: list[tuple[ObjectId, float]], cursor: str | None,
            limit: int) -> tuple[list[tuple[ObjectId, float]], str | None]:
    """Keyset over (score, id) of a ranked list, like every other cursor in the API."""
    if cursor:
        last_score, last_id = decode_cursor(cursor)
        ranked = [(post_id, score) for post_id, score in ranked
                  if score < last_score or (score == last_score and str(post_id) > str(last_id))]
    page = ranked[:limit]
    next_cursor = encode_cursor(page[-1][1], page[-1][0]) if len(ranked) > limit else None
    return page, next_cursor


def visible_posts(db: MongoDatabase, ranked: list[tuple[ObjectId, float]], excluded_authors: list) -> list[tuple[dict, float]]:
    """The posts behind ranked ids, in rank order, dropping any not published (any more) and any
    by the unwanted authors (blocks, and mutes where it is a feed) and those of private accounts."""
    ids = [post_id for post_id, _ in ranked]
    posts = {post["_id"]: post for post in db.posts.find({"_id": {"$in": ids}, "status": PostStatus.PUBLISHED,
                                                           **NOT_PRIVATE, **without_authors(excluded_authors)})}
    return [(posts[post_id], score) for post_id, score in ranked if post_id in posts]


def query_terms(query: str) -> dict[str, str]:
    """The query's words (lower case, no stop words, at most 20), each with the sign it was
    written with: "#" (a hashtag), "@" (a username) or "" (a plain word, which may be either)."""
    terms: dict[str, str] = {}
    for sign, word in TERM_PATTERN.findall(query):
        if word.lower() not in STOP_WORDS:
            terms.setdefault(word.lower(), sign)
    return dict(list(terms.items())[:20])


def keyword_shares(db: MongoDatabase, terms: dict[str, str], tag_candidates: Iterable[ObjectId]) -> dict[ObjectId, tuple[float, float]]:
    """(stated, tagged) shares of the query's words for the posts that match any: those whose
    hashtags or author name them (the newest CANDIDATES), and among `tag_candidates`, those whose
    generated tags match its plain words. A word the author stated does not count again as a tag."""
    hashtags = [word for word, sign in terms.items() if sign != "@"]
    usernames = [word for word, sign in terms.items() if sign != "#"]
    plain_words = [word for word, sign in terms.items() if not sign]
    tag_candidates = list(tag_candidates) if plain_words else []
    authors = {user["_id"]: user["username_lower"]
               for user in db.users.find({"username_lower": {"$in": usernames}}, {"username_lower": 1})} if usernames else {}
    # Each clause can use its own index; an empty `$in` would push the embedded server off SQL.
    stated_clauses = ([{"hashtags": {"$in": hashtags}}] if hashtags else []) + \
                     ([{"author_id": {"$in": list(authors)}}] if authors else [])
    # Every field a read returns costs the embedded server decoding: tags only when they count.
    fields = {"hashtags": 1, "author_id": 1, **({"tag_names": 1} if tag_candidates else {})}
    matches = list(db.posts.find({"status": PostStatus.PUBLISHED, **NOT_PRIVATE, "$or": stated_clauses}, fields)
                   .sort([("created_at", -1)]).limit(CANDIDATES)) if stated_clauses else []
    others = list(set(tag_candidates) - {post["_id"] for post in matches})
    if others:
        matches += db.posts.find({"_id": {"$in": others}, "status": PostStatus.PUBLISHED,
                                  "tag_names": {"$in": plain_words}}, fields)

    def shares(post: Document) -> tuple[float, float]:
        stated = set(hashtags) & set(post.get("hashtags", []))
        if post.get("author_id") in authors:
            stated.add(authors[post["author_id"]])
        tagged = set(plain_words) & set(post.get("tag_names", [])) - stated
        return len(stated) / len(terms), len(tagged) / len(terms)

    return {post["_id"]: shares(post) for post in matches}


def rank_candidates(visual: dict[ObjectId, float], description: dict[ObjectId, float],
                    keywords: dict[ObjectId, tuple[float, float]]) -> list[tuple[ObjectId, float]]:
    """The weighted mean of each candidate's scores. A post beyond a vector channel's candidates
    is given that channel's lowest score: it is at most that close."""
    floor_visual = min(visual.values(), default=0.0)
    floor_description = min(description.values(), default=0.0)
    total = 1 + DESCRIPTION_WEIGHT + STATED_WEIGHT + GENERATED_TAG_WEIGHT
    scores = {}
    for post_id in {*visual, *description, *keywords}:
        stated, tagged = keywords.get(post_id, (0.0, 0.0))
        scores[post_id] = (visual.get(post_id, floor_visual) + DESCRIPTION_WEIGHT * description.get(post_id, floor_description)
                           + STATED_WEIGHT * stated + GENERATED_TAG_WEIGHT * tagged) / total
    return _best_first(scores)


def search_posts(db: MongoDatabase, backend: VectorSearch, embedder: TextEmbedder, query: str, viewer: dict | None,
                 cursor: str | None, limit: int) -> tuple[list[tuple[dict, float]], str | None]:
    """Photos for a natural-language query; returns ([(post, score)], next_cursor)."""
    query = query.strip()[:QUERY_MAX_LENGTH]
    if not query:
        return [], None
    vector = embedder.embed([query])[0]
    terms = query_terms(query)
    describes = len(terms) >= DESCRIPTION_TERMS
    visual = dict(backend.search("visual_text", vector, limit=CANDIDATES,
                                 hubness_weight=HUBNESS_WEIGHT if describes else 0.0))
    description = dict(backend.search("text", vector, limit=CANDIDATES))
    tag_candidates = set() if describes else {*visual, *description}
    ranked = rank_candidates(visual, description, keyword_shares(db, terms, tag_candidates))
    page, next_cursor = page_of(ranked, cursor, limit)
    return visible_posts(db, page, blocked_either_way(viewer)), next_cursor


def similar_posts(db: MongoDatabase, backend: VectorSearch, post: dict, viewer: dict | None, limit: int) -> list[tuple[dict, float]]:
    """Posts that look alike (image vectors) and are about the same thing (text vectors)."""
    return visible_posts(db, similar_ids(db, backend, post["_id"], limit), blocked_either_way(viewer))


def similar_ids(db: MongoDatabase, backend: VectorSearch, post_id: ObjectId, limit: int) -> list[tuple[ObjectId, float]]:
    """The ids of the `limit` posts most like this one, fused, best first, whoever may see them;
    remembered for SIMILAR_IDS_SECONDS (not while the post has no vectors yet), as many as the
    largest `limit` asked (the page's shorter list is its start)."""
    key, now = (db.name, post_id), time.monotonic()
    held = _similar_ids.get(key)
    if held is not None and held[0] > now and held[1] >= limit:
        return held[2][:limit]
    vectors = db.post_vectors.find_one({"_id": post_id}, {"image": 1, "text": 1})
    if vectors is None:
        return []
    rankings = [[found for found, _ in backend.search(field, from_bson_vector(vectors[field]), limit=limit + 1)
                 if found != post_id]
                for field in ("image", "text") if vectors.get(field) is not None]
    ranked = fuse_ranks(rankings)[:limit]
    with _similar_ids_lock:
        _similar_ids.pop(key, None)  # re-inserted last: the oldest entries stay first
        while len(_similar_ids) >= SIMILAR_IDS_HELD:
            del _similar_ids[next(iter(_similar_ids))]
        _similar_ids[key] = (now + SIMILAR_IDS_SECONDS, limit, ranked)
    return ranked


def taste_vector(db: MongoDatabase, viewer: dict) -> np.ndarray | None:
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
    taste: np.ndarray = np.sum([weights[post_id] * vector for post_id, vector in vectors.items()], axis=0)
    return taste / max(float(np.linalg.norm(taste)), 1e-12)


def for_you(db: MongoDatabase, backend: VectorSearch, viewer: dict, cursor: str | None,
            limit: int) -> tuple[list[tuple[dict, float]], str | None]:
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
