"""The benchmark data set: 1k users, 10k posts, 100k likes, follows, and a vector per post.

Posts are written through the app's own create_post, but the 100 real photos are processed and
stored once and their files shared, so seeding measures nothing but the database; likes,
follows and vectors go in directly (insert_many), which is what a migration would do.
"""
import random
import time
from datetime import UTC, datetime

import numpy as np
from bson import ObjectId

from app.auth.services import create_user
from app.core.clock import utc_now
from app.media.images import process_upload
from app.media.storage import store_photo
from app.posts.authors import author_fields
from app.posts.services import hot_score, tag_fields
from app.search.vectors import VECTOR_FIELDS, to_bson_vector
from app.social.keys import follow_key, like_key

PASSWORD = "benchmark-password"  # nosec B105


def seed(db, fs, photo_paths, *, users: int, posts: int, likes: int, follows_per_user: int = 20, log=print) -> dict:
    chance = random.Random(42)  # nosec B311
    started = time.perf_counter()
    accounts = [create_user(db, username=f"bench{number:04d}", email=f"bench{number:04d}@example.com",
                            password=PASSWORD, rounds=4, email_verified=True) for number in range(users)]
    log(f"  {users} users in {time.perf_counter() - started:.0f}s")
    follows = {(a["_id"], b["_id"]) for a in accounts for b in chance.sample(accounts, follows_per_user) if a is not b}
    db.follows.insert_many([{"_id": follow_key(a, b), "follower_id": a, "followee_id": b, "created_at": utc_now()}
                            for a, b in follows])
    for account in accounts:
        followed = [b for a, b in follows if a == account["_id"]]
        db.users.update_one({"_id": account["_id"]}, {"$set": {"following_ids": followed, "following_count": len(followed)}})
    stored = []
    for path in photo_paths:
        photo = process_upload(path.read_bytes(), max_bytes=25 << 20, max_pixels=50_000_000)
        stored.append(store_photo(fs, photo, post_id=ObjectId(), index=0))
    # Likes are drawn first so each post goes in with its final count: 10k update_ones afterwards
    # cost the embedded server more than the rest of the seeding together.
    like_pairs = set()
    while len(like_pairs) < likes:
        like_pairs.add((chance.randrange(posts), chance.randrange(users)))
    counts = np.zeros(posts, dtype=int)
    for post_index, _ in like_pairs:
        counts[post_index] += 1
    base_time = time.time() - 30 * 86400
    documents, vectors = [], []
    rng = np.random.default_rng(7)
    for number in range(posts):
        created = datetime.fromtimestamp(round(base_time + number * (30 * 86400 / posts), 3), UTC)
        post_id = ObjectId()
        like_count = int(counts[number])
        documents.append({
            "_id": post_id, **author_fields(chance.choice(accounts)), "status": "published",
            "caption": f"benchmark photo {number} #bench{number % 50}", "hashtags": [f"bench{number % 50}"],
            "alt_text": "", "alt_text_source": None, **tag_fields([{"name": f"tag{number % 300}", "score": 0.9}]),
            "removed_tags": [], "photos": [stored[number % len(stored)]], "like_count": like_count, "comment_count": 0,
            "hot": hot_score(like_count, created), "enrichment": "done", "nsfw": 0.01,  # described, as enrichment leaves them
            "created_at": created, "updated_at": created})
        vectors.append({"_id": post_id, "author_id": documents[-1]["author_id"], "status": "published",
                        "created_at": created, "model_versions": {},
                        **{name: to_bson_vector(_unit(rng, size)) for name, size in VECTOR_FIELDS.items()}})
    for start in range(0, posts, 1000):
        db.posts.insert_many(documents[start:start + 1000])
        db.post_vectors.insert_many(vectors[start:start + 1000])
    log(f"  {posts} posts (+ vectors) in {time.perf_counter() - started:.0f}s")
    rows = [{"_id": like_key(documents[post_index]["_id"], accounts[user_index]["_id"]),
             "post_id": documents[post_index]["_id"], "user_id": accounts[user_index]["_id"],
             "created_at": documents[post_index]["created_at"]}
            for post_index, user_index in like_pairs]
    for start in range(0, len(rows), 5000):
        db.likes.insert_many(rows[start:start + 5000], ordered=False)
    log(f"  {likes} likes in {time.perf_counter() - started:.0f}s total")
    return {"users": [a["username"] for a in accounts], "post_ids": [str(d["_id"]) for d in documents],
            "seconds": time.perf_counter() - started}


def _unit(rng, size: int) -> np.ndarray:
    vector = rng.normal(size=size).astype(np.float32)
    return vector / np.linalg.norm(vector)
