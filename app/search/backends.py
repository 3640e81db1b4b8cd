"""Vector search over `post_vectors`, two ways behind one interface.

- AtlasVectorSearch: MongoDB Atlas creates and serves the index (`$vectorSearch`).
- EmbeddedVectorSearch: for servers that cannot create search indexes (the embedded server, a
  plain mongod): exact cosine search in this process, over vectors loaded from MongoDB and kept
  current by reading `vector_changes`, so writes and deletes made by other processes show up
  within about a second.

Both return (post_id, score) pairs, best first, scores on Atlas's scale: (1 + cosine) / 2.
Both only ever return published posts.
"""
import threading
import time
from datetime import UTC, datetime
from typing import Protocol

import numpy as np
from bson import ObjectId
from pymongo.errors import OperationFailure
from pymongo.operations import SearchIndexModel

from app.search.vectors import FILTER_FIELDS, VECTOR_FIELDS, from_bson_vector

PUBLISHED = "published"
ATLAS_INDEX_NAME = "post_vectors"
ATLAS_CANDIDATES_PER_RESULT = 20  # numCandidates = 20 x limit, Atlas's recommended ratio
ATLAS_READY_TIMEOUT_SECONDS = 300
SYNC_INTERVAL_SECONDS = 0.5
LOAD_BATCH = 1000
# Re-read changes this far back on every sync: a write that got its timestamp just before our
# last sync but committed just after it is still seen.
SYNC_OVERLAP_SECONDS = 5


class VectorSearch(Protocol):
    name: str

    def search(self, field: str, query: np.ndarray, *, limit: int,
               exclude_author: ObjectId | None = None) -> list[tuple[ObjectId, float]]: ...


def atlas_scale(cosine):
    return (1 + cosine) / 2


class AtlasVectorSearch:
    name = "atlas"

    def __init__(self, collection):
        self.collection = collection

    @staticmethod
    def index_model() -> SearchIndexModel:
        fields = [{"type": "vector", "path": path, "numDimensions": dimensions, "similarity": "cosine"}
                  for path, dimensions in VECTOR_FIELDS.items()]
        fields += [{"type": "filter", "path": path} for path in FILTER_FIELDS]
        return SearchIndexModel(definition={"fields": fields}, name=ATLAS_INDEX_NAME, type="vectorSearch")

    @staticmethod
    def pipeline(field: str, query: np.ndarray, *, limit: int, exclude_author: ObjectId | None = None) -> list[dict]:
        search_filter = {"status": {"$eq": PUBLISHED}}
        if exclude_author is not None:
            search_filter = {"$and": [search_filter, {"author_id": {"$ne": exclude_author}}]}
        return [
            {"$vectorSearch": {
                "index": ATLAS_INDEX_NAME, "path": field, "queryVector": [float(value) for value in query],
                "numCandidates": limit * ATLAS_CANDIDATES_PER_RESULT, "limit": limit, "filter": search_filter,
            }},
            {"$project": {"_id": 1, "score": {"$meta": "vectorSearchScore"}}},
        ]

    def ensure_index(self) -> None:
        """Create the index if it is missing and wait until Atlas can query it."""
        existing = list(self.collection.list_search_indexes(ATLAS_INDEX_NAME))
        if not existing:
            self.collection.create_search_index(self.index_model())
        deadline = time.monotonic() + ATLAS_READY_TIMEOUT_SECONDS
        while not any(index.get("queryable") for index in self.collection.list_search_indexes(ATLAS_INDEX_NAME)):
            if time.monotonic() > deadline:
                raise TimeoutError(f"Atlas search index {ATLAS_INDEX_NAME!r} is not queryable yet")
            time.sleep(2)

    def search(self, field, query, *, limit, exclude_author=None):
        pipeline = self.pipeline(field, query, limit=limit, exclude_author=exclude_author)
        return [(row["_id"], row["score"]) for row in self.collection.aggregate(pipeline)]


class EmbeddedVectorSearch:
    """Exact search over every vector of the collection, held in this process."""

    name = "embedded"

    def __init__(self, db):
        self.db = db
        self._lock = threading.Lock()
        self._rows: dict[ObjectId, int] = {}
        self._ids: list[ObjectId] = []
        self._published = np.zeros(0, dtype=bool)
        self._authors: list[ObjectId | None] = []
        self._fields: dict[str, np.ndarray] = {}  # loaded on first use of each field
        self._present: dict[str, np.ndarray] = {}
        self._synced_at: float | None = None
        self._checked_at = 0.0

    def search(self, field, query, *, limit, exclude_author=None):
        with self._lock:
            self._catch_up()
            vectors, present = self._field(field)
            if not len(self._ids):
                return []
            query = np.asarray(query, dtype=np.float32)
            query = query / max(float(np.linalg.norm(query)), 1e-12)
            scores = vectors[: len(self._ids)] @ query
            usable = present[: len(self._ids)] & self._published[: len(self._ids)]
            if exclude_author is not None:
                usable &= np.array([author != exclude_author for author in self._authors], dtype=bool)
            scores = np.where(usable, scores, -np.inf)
            count = min(limit, int(usable.sum()))
            if count == 0:
                return []
            best = np.argpartition(-scores, count - 1)[:count]
            best = best[np.argsort(-scores[best])]
            return [(self._ids[row], float(atlas_scale(scores[row]))) for row in best]

    def _field(self, field: str) -> tuple[np.ndarray, np.ndarray]:
        if field not in self._fields:
            self._load_field(field)
        return self._fields[field], self._present[field]

    def _load_field(self, field: str) -> None:
        """Read one vector field of every post (and, the first time, who and what they are)."""
        first_load = self._synced_at is None
        started = time.time()
        capacity = max(16, len(self._published))
        self._fields[field] = np.zeros((capacity, VECTOR_FIELDS[field]), dtype=np.float32)
        self._present[field] = np.zeros(capacity, dtype=bool)
        self._ensure_capacity(capacity)
        try:
            # Batches keep each reply far below the 48 MB message limit (10k image vectors are 50 MB).
            for document in self.db.post_vectors.find({}, {field: 1, "status": 1, "author_id": 1}).batch_size(LOAD_BATCH):
                self._put(document, only_field=field)
        except Exception:
            # Half a field would silently miss posts; the next search loads it again.
            del self._fields[field], self._present[field]
            raise
        if first_load:
            self._synced_at = started

    def _catch_up(self) -> None:
        now = time.monotonic()
        if self._synced_at is None or now - self._checked_at < SYNC_INTERVAL_SECONDS:
            return
        self._checked_at = now
        started = time.time()
        since = self._synced_at - SYNC_OVERLAP_SECONDS
        changed = {row["post_id"] for row in self.db.vector_changes.find(
            {"at": {"$gte": datetime.fromtimestamp(since, UTC)}}, {"post_id": 1})}
        fields = list(self._fields)
        for post_id in changed:
            document = self.db.post_vectors.find_one({"_id": post_id}, {name: 1 for name in [*fields, "status", "author_id"]})
            if document is None:
                self._remove(post_id)
            else:
                for name in fields:
                    self._put(document, only_field=name)
        self._synced_at = started

    def _ensure_capacity(self, needed: int) -> None:
        capacity = len(self._published)
        if needed <= capacity:
            return
        capacity = max(needed, capacity * 2, 16)
        self._published = np.resize(self._published, capacity)
        for name, vectors in self._fields.items():
            grown = np.zeros((capacity, vectors.shape[1]), dtype=np.float32)
            grown[: len(vectors)] = vectors
            self._fields[name] = grown
            present = np.zeros(capacity, dtype=bool)
            present[: len(self._present[name])] = self._present[name]
            self._present[name] = present

    def _put(self, document: dict, only_field: str) -> None:
        post_id = document["_id"]
        row = self._rows.get(post_id)
        if row is None:
            row = len(self._ids)
            self._ensure_capacity(row + 1)
            self._rows[post_id] = row
            self._ids.append(post_id)
            self._authors.append(document.get("author_id"))
        self._published[row] = document.get("status") == PUBLISHED
        vector = from_bson_vector(document.get(only_field))
        self._present[only_field][row] = vector is not None
        if vector is not None:
            self._fields[only_field][row] = vector / max(float(np.linalg.norm(vector)), 1e-12)

    def _remove(self, post_id: ObjectId) -> None:
        row = self._rows.get(post_id)
        if row is not None:
            self._published[row] = False
            for present in self._present.values():
                present[row] = False


def server_has_search_indexes(collection) -> bool:
    """Atlas answers the search-index commands; the embedded server and plain mongod do not."""
    try:
        list(collection.list_search_indexes())
    except OperationFailure:
        return False
    return True
