"""Vector search at 10k and 100k vectors through the embedded backend, and its recall against
an exact brute-force search (it is exact, so recall should be 1.0; this checks it)."""
import time

import numpy as np
from bson import ObjectId

from app.search.backends import EmbeddedVectorSearch
from app.search.vectors import to_bson_vector
from bench.client import summary_ms


def scale(db, sizes=(10_000, 100_000), queries=200, log=print) -> dict:
    rng = np.random.default_rng(3)
    results = {}
    matrix = rng.normal(size=(max(sizes), 384)).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    ids = [ObjectId() for _ in range(max(sizes))]
    written = 0
    for size in sizes:
        log(f"  {size} vectors")
        rows = [{"_id": ids[n], "status": "published", "author_id": None, "text": to_bson_vector(matrix[n])}
                for n in range(written, size)]
        for start in range(0, len(rows), 2000):
            db.post_vectors.insert_many(rows[start:start + 2000])
        written = size
        index = EmbeddedVectorSearch(db)
        started = time.perf_counter()
        index.search("text", matrix[0], limit=10)
        load_seconds = time.perf_counter() - started
        latencies, hits = [], 0
        for query in rng.normal(size=(queries, 384)).astype(np.float32):
            started = time.perf_counter()
            found = [post_id for post_id, _ in index.search("text", query, limit=10)]
            latencies.append(time.perf_counter() - started)
            exact = np.argsort(-(matrix[:size] @ (query / np.linalg.norm(query))))[:10]
            hits += len(set(found) & {ids[n] for n in exact})
        results[size] = {**summary_ms(latencies), "load_s": load_seconds, "recall_at_10": hits / (10 * queries)}
    return results
