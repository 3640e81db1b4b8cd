"""Search quality measured end to end: a split's photos uploaded, described and searched through
the app's own code, in a throwaway database.

Each photo goes in as a post without a caption, through `publish_photos` (what the upload route
calls: real GridFS files, a queued `enrich_post` job), and the app's job workers describe it with
the real models. Then one human caption per photo is a query through `search_posts`, the
service behind `GET /api/v1/search`, and recall@K counts how often its own photo comes back.

The same database also measures short keyword queries (one word, a hashtag), which the search
must keep answering well, and the NSFW hold: the split holds only ordinary photos, so every
post held is a false positive.
"""
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import gridfs
import numpy as np
from bson import ObjectId
from flask import Flask, current_app

from app import create_app
from app.auth.services import create_user
from app.core.db import Document, MongoDatabase, client_for, get_db, get_fs, mongodb_uri
from app.core.jobs.worker import WorkerPool
from app.core.statuses import PostStatus
from app.posts.requests import upload_limits
from app.posts.services import publish_photos, update_post
from app.search import get_vector_search
from app.search.backends import VectorSearch
from app.search.embedder import get_text_embedder
from app.search.service import search_posts
from app.search.vectors import post_vector
from ml_models.dataset import load_captions, split_ids, tokenize
from ml_models.text_embedding import TextEmbedder

RECALL_AT = (1, 5, 10)
# The one human caption each photo is searched with; the bench's latency queries use another.
QUERY_CAPTION = 0
AUTHOR = "search_evaluation"
PHOTOS_COLLECTION = "evaluation_photos"  # post id -> the split's image, so a kept database can be evaluated again
DESCRIBE_PATIENCE_SECONDS = 600  # give up when no photo got described for this long
NSFW_THRESHOLDS = (0.5, 0.8, 0.9, 0.95, 0.98, 0.99)

# One-word queries and the words of the human captions that make a photo a right answer to them.
KEYWORD_QUERIES = {
    "dog": {"dog", "dogs", "puppy"}, "beach": {"beach"}, "snow": {"snow", "snowy"},
    "water": {"water"}, "ball": {"ball"}, "grass": {"grass", "grassy"}, "bike": {"bike", "bikes", "bicycle"},
    "girl": {"girl", "girls"}, "boy": {"boy", "boys"}, "man": {"man", "men"}, "woman": {"woman", "women"},
    "child": {"child", "children", "kid", "kids"}, "crowd": {"crowd"}, "street": {"street"},
    "mountain": {"mountain", "mountains"}, "rock": {"rock", "rocks", "rocky"}, "pool": {"pool"},
    "ocean": {"ocean", "sea"}, "field": {"field"}, "football": {"football"}, "skateboard": {"skateboard", "skateboarder"},
    "bench": {"bench"}, "sand": {"sand", "sandy"}, "running": {"running", "runs", "run"},
    "swimming": {"swimming", "swims", "swim"}, "climbing": {"climbing", "climbs", "climber"},
    "jumping": {"jumping", "jumps", "jump"}, "red": {"red"}, "black": {"black"},
}
# Hashtags an author gives a few posts: those posts, and no others, are the right answers.
CONTENT_HASHTAGS = ("beach", "dog", "snow", "water", "bike", "football")  # on posts whose photo shows it
PLAIN_HASHTAGS = ("tbt", "summer2019", "myfamily")  # on posts picked regardless of what they show
POSTS_PER_HASHTAG = 3


@dataclass
class EvaluationPost:
    post_id: ObjectId
    image: str
    captions: list[str]


def evaluate_through_app(data_dir: Path, split: str = "dev", limit: int | None = None, *,
                         keep_database: bool = False, described_database: str | None = None,
                         log: Callable[[str], None] = print) -> dict:
    """Recall@1/5/10 and latency of the app's search over the split's photos, the keyword
    benchmark and the NSFW hold; run inside the app context of the app whose database server
    (MONGODB_URI, or the embedded server it starts) is used. The throwaway database is dropped
    afterwards unless `keep_database`; `described_database` evaluates one kept earlier instead."""
    uri = mongodb_uri(current_app.config)
    name = described_database or f"glimpse_evaluation_{uuid.uuid4().hex[:10]}"
    evaluation_app = _app_on(current_app, uri, name)
    pool = None
    try:
        with evaluation_app.app_context():
            db = get_db()
            if described_database is None:
                log(f"throwaway database {name}")
                pool = WorkerPool(evaluation_app, threads=max(1, evaluation_app.config["JOB_WORKERS"])).start()
                upload_split(db, get_fs(), Path(data_dir), split, limit, log)
                wait_for_descriptions(db, log)
            posts = evaluation_posts(db, Path(data_dir))
            if limit:
                posts = posts[:limit]
            backend = get_vector_search()
            wait_until_searchable(db, backend, posts)
            embedder = get_text_embedder()
            described = db.posts.count_documents({"_id": {"$in": [post.post_id for post in posts]}, "enrichment": "done"})
            result = {"database": name, "photos": len(posts), "described": described,
                      **caption_recall(db, backend, embedder, posts),
                      "keywords": keyword_benchmark(db, backend, embedder, posts),
                      "nsfw": nsfw_figures(db, evaluation_app.config["NSFW_HOLD_THRESHOLD"])}
    finally:
        if pool is not None:
            pool.stop()
        if not keep_database and described_database is None:
            client_for(uri).drop_database(name)
    return result


def _app_on(app: Flask, uri: str, database: str) -> Flask:
    """The same app (same configuration, models, thresholds) on another database."""
    return create_app({**app.config, "MONGODB_URI": uri, "MONGODB_DB": database, "RATELIMIT_ENABLED": False})


def upload_split(db: MongoDatabase, fs: gridfs.GridFS, data_dir: Path, split: str, limit: int | None,
                 log: Callable[[str], None]) -> None:
    """Each photo of the split becomes a post, as an upload through the API makes it."""
    author = create_user(db, username=AUTHOR, email=f"{AUTHOR}@example.com", password=uuid.uuid4().hex,
                         rounds=current_app.config["BCRYPT_ROUNDS"])
    images = split_ids(data_dir, split, limit)
    for number, image in enumerate(images, start=1):
        post = publish_photos(db, fs, author=author, uploads=[(data_dir / "images" / image).read_bytes()],
                              caption="", limits=upload_limits())
        db[PHOTOS_COLLECTION].insert_one({"_id": post["_id"], "image": image, "number": number})
        if number % 100 == 0:
            log(f"uploaded {number}/{len(images)}")


def wait_for_descriptions(db: MongoDatabase, log: Callable[[str], None]) -> None:
    total = db[PHOTOS_COLLECTION].count_documents({})
    finished, last_progress, last_log, started = -1, time.monotonic(), 0.0, time.monotonic()
    while finished < total:
        now_finished = db.posts.count_documents({"enrichment": {"$in": ["done", "failed"]}})
        if now_finished != finished:
            finished, last_progress = now_finished, time.monotonic()
            if last_progress - last_log >= 10 or finished == total:
                last_log = last_progress
                log(f"described {finished}/{total} ({last_progress - started:.0f} s)")
        elif time.monotonic() - last_progress > DESCRIBE_PATIENCE_SECONDS:
            raise TimeoutError(f"no photo was described in {DESCRIBE_PATIENCE_SECONDS} s ({finished}/{total} done)")
        time.sleep(1)


def evaluation_posts(db: MongoDatabase, data_dir: Path) -> list[EvaluationPost]:
    captions = load_captions(data_dir)
    return [EvaluationPost(row["_id"], row["image"], captions[row["image"]])
            for row in db[PHOTOS_COLLECTION].find().sort("number", 1)]


def wait_until_searchable(db: MongoDatabase, backend: VectorSearch, posts: list[EvaluationPost], timeout: float = 300) -> None:
    """Atlas indexes new vectors a little after they are written: wait until the last described
    posts are found by their own vectors (the embedded backend finds them at once)."""
    last = [post.post_id for post in posts if db.posts.find_one({"_id": post.post_id, "enrichment": "done",
                                                                 "status": PostStatus.PUBLISHED}, {"_id": 1})][-5:]
    deadline = time.monotonic() + timeout
    while not all(post_id in [hit for hit, _ in backend.search("text", _stored_vector(db, post_id), limit=5)]
                  for post_id in last):
        if time.monotonic() > deadline:
            raise TimeoutError("the vector search backend did not see the described posts")
        time.sleep(1)


def _stored_vector(db: MongoDatabase, post_id: ObjectId) -> np.ndarray:
    vector = post_vector(db, post_id, "text")
    if vector is None:
        raise LookupError("a described post has its text vector")
    return vector


def _post(db: MongoDatabase, post_id: ObjectId) -> Document:
    post = db.posts.find_one({"_id": post_id})
    if post is None:
        raise LookupError("the evaluation's posts stay while it runs")
    return post


def _post_author(db: MongoDatabase) -> Document:
    author = db.users.find_one({"username_lower": AUTHOR})
    if author is None:
        raise LookupError("the evaluation's author made every post")
    return author


def _search_ids(db: MongoDatabase, backend: VectorSearch, embedder: TextEmbedder, query: str, limit: int) -> list[ObjectId]:
    return [post["_id"] for post, _ in search_posts(db, backend, embedder, query, None, None, limit)[0]]


def caption_recall(db: MongoDatabase, backend: VectorSearch, embedder: TextEmbedder, posts: list[EvaluationPost]) -> dict:
    """Recall@K of each photo for its human caption, and the search service's latency."""
    _search_ids(db, backend, embedder, "warm up", 10)
    hits = dict.fromkeys(RECALL_AT, 0)
    latencies = []
    for post in posts:
        started = time.perf_counter()
        found = _search_ids(db, backend, embedder, post.captions[QUERY_CAPTION], max(RECALL_AT))
        latencies.append(time.perf_counter() - started)
        for k in RECALL_AT:
            hits[k] += post.post_id in found[:k]
    latencies.sort()
    return {**{f"r@{k}": round(hits[k] / max(len(posts), 1), 4) for k in RECALL_AT},
            "search_p50_ms": round(1000 * latencies[len(latencies) // 2], 2),
            "search_p95_ms": round(1000 * latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))], 2)}


def keyword_benchmark(db: MongoDatabase, backend: VectorSearch, embedder: TextEmbedder, posts: list[EvaluationPost]) -> dict:
    """One-word queries: the share of right photos in the top 10 (of at most as many as exist).
    Hashtag queries: the share of the posts carrying the hashtag in the top as many."""
    words = _word_precision(db, backend, embedder, posts)
    tagged = _hashtagged_posts(posts)
    try:
        for hashtag, chosen in tagged.items():
            for post in chosen:
                update_post(db, _post(db, post.post_id), _post_author(db), {"caption": f"#{hashtag}"})
        hashtags = []
        for hashtag, chosen in tagged.items():
            wanted = {post.post_id for post in chosen}
            found = _search_ids(db, backend, embedder, f"#{hashtag}", len(wanted))
            hashtags.append(len(wanted & set(found)) / len(wanted))
    finally:  # the database stays as it was, for the next evaluation of it
        for post in (post for chosen in tagged.values() for post in chosen):
            update_post(db, _post(db, post.post_id), _post_author(db), {"caption": ""})
    return {"word_queries": len(words), "word_precision@10": round(sum(words) / max(len(words), 1), 4),
            "hashtag_queries": len(hashtags), "hashtag_precision": round(sum(hashtags) / max(len(hashtags), 1), 4)}


def _word_precision(db: MongoDatabase, backend: VectorSearch, embedder: TextEmbedder, posts: list[EvaluationPost]) -> list[float]:
    words = {post.post_id: {word for caption in post.captions for word in tokenize(caption)} for post in posts}
    visible = {post["_id"] for post in db.posts.find({"status": PostStatus.PUBLISHED}, {"_id": 1})}
    precisions = []
    for query, forms in KEYWORD_QUERIES.items():
        right = {post_id for post_id, said in words.items() if said & forms and post_id in visible}
        if right:
            found = _search_ids(db, backend, embedder, query, 10)
            precisions.append(len(right & set(found)) / min(10, len(right)))
    return precisions


def _hashtagged_posts(posts: list[EvaluationPost]) -> dict[str, list[EvaluationPost]]:
    """Content hashtags go on the first posts whose human captions name the thing; plain ones on
    posts spread over the split. No post gets two."""
    taken: set[ObjectId] = set()
    chosen: dict[str, list[EvaluationPost]] = {}
    for hashtag in CONTENT_HASHTAGS:
        showing = [post for post in posts if post.post_id not in taken
                   and any(hashtag in tokenize(caption) for caption in post.captions)][:POSTS_PER_HASHTAG]
        if showing:
            chosen[hashtag] = showing
            taken |= {post.post_id for post in showing}
    for offset, hashtag in enumerate(PLAIN_HASHTAGS):
        spread = [post for post in posts[offset::7] if post.post_id not in taken][:POSTS_PER_HASHTAG]
        if spread:
            chosen[hashtag] = spread
            taken |= {post.post_id for post in spread}
    return chosen


def nsfw_figures(db: MongoDatabase, threshold: float) -> dict:
    """Every photo of the split is an ordinary scene: a score above the threshold is a false alarm."""
    scores = [post["nsfw"] for post in db.posts.find({"nsfw": {"$exists": True}}, {"nsfw": 1})]
    count = max(len(scores), 1)
    return {"threshold": threshold, "held": db.posts.count_documents({"status": PostStatus.HELD}),
            "false_positive_rate": round(sum(score > threshold for score in scores) / count, 4),
            "above": {str(value): sum(score > value for score in scores) for value in NSFW_THRESHOLDS},
            "highest": sorted(scores)[-5:]}
