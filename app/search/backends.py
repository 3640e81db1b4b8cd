"""Vector search over `post_vectors`, two ways behind one interface.

- AtlasVectorSearch: MongoDB Atlas creates and serves the index (`$vectorSearch`).
- EmbeddedVectorSearch: for servers that cannot create search indexes (the embedded server, a
  plain mongod): exact cosine search in this process, over vectors loaded from MongoDB and kept
  current by reading `vector_changes`, so writes and deletes made by other processes show up
  within about a second.

Both return (post_id, score) pairs, best first, scores on Atlas's scale: (1 + cosine) / 2, less
half the vector's hubness times `hubness_weight` when a search asks for it (vectors.HUBNESS_FIELDS).
Both only ever return published posts.
"""
import threading
import time
from datetime import UTC, datetime
from typing import Any, Protocol

import numpy as np
from bson import ObjectId
from pymongo.collection import Collection
from pymongo.errors import OperationFailure
from pymongo.operations import SearchIndexModel

from app.core.db import Document, MongoDatabase
from app.core.statuses import PostStatus
from app.search.vectors import FILTER_FIELDS, HUBNESS_FIELDS, TYPICAL_HUBNESS, VECTOR_FIELDS, from_bson_vector

ATLAS_INDEX_NAME = "post_vectors"
ATLAS_CANDIDATES_PER_RESULT = 20  # numCandidates = 20 x limit, Atlas's recommended ratio
ATLAS_READY_TIMEOUT_SECONDS = 300
# Atlas ranks by plain similarity: hubness re-ranks this many times the hits asked for.
ATLAS_HUBNESS_OVERSAMPLING = 2
SYNC_INTERVAL_SECONDS = 0.5
LOAD_BATCH = 1000
# Re-read changes this far back on every sync: a write that got its timestamp just before our
# last sync but committed just after it is still seen.
SYNC_OVERLAP_SECONDS = 5
HELD_FIELDS = dict.fromkeys([*VECTOR_FIELDS, *FILTER_FIELDS, *HUBNESS_FIELDS.values()], 1)  # what the embedded backend keeps


class VectorSearch(Protocol):
    name: str

    @property
    def state(self) -> str:  # "ready", or for a backend holding vectors in the process: "loading", "not_loaded"
        ...

    def preload(self) -> None:
        """Get ready to answer, so that the first search is not the one that waits."""

    def search(self, field: str, query: np.ndarray, *, limit: int, exclude_author: ObjectId | None = None,
               hubness_weight: float = 0.0) -> list[tuple[ObjectId, float]]: ...


def atlas_scale(cosine: float) -> float:
    return (1 + cosine) / 2


class AtlasVectorSearch:
    name = "atlas"
    state = "ready"  # built only once ensure_index() has seen the index queryable

    def __init__(self, collection: Collection[Document]):
        self.collection = collection

    @staticmethod
    def index_model() -> SearchIndexModel:
        fields = [{"type": "vector", "path": path, "numDimensions": dimensions, "similarity": "cosine"}
                  for path, dimensions in VECTOR_FIELDS.items()]
        fields += [{"type": "filter", "path": path} for path in FILTER_FIELDS]
        return SearchIndexModel(definition={"fields": fields}, name=ATLAS_INDEX_NAME, type="vectorSearch")

    @staticmethod
    def pipeline(field: str, query: np.ndarray, *, limit: int, exclude_author: ObjectId | None = None,
                 hubness_weight: float = 0.0) -> list[dict]:
        search_filter: dict[str, Any] = {"status": {"$eq": PostStatus.PUBLISHED}}
        if exclude_author is not None:
            search_filter = {"$and": [search_filter, {"author_id": {"$ne": exclude_author}}]}
        corrected = bool(hubness_weight) and field in HUBNESS_FIELDS
        hits = limit * ATLAS_HUBNESS_OVERSAMPLING if corrected else limit
        score: dict[str, Any] = {"$meta": "vectorSearchScore"}
        if corrected:
            hubness = {"$ifNull": ["$" + HUBNESS_FIELDS[field], TYPICAL_HUBNESS]}
            score = {"$subtract": [score, {"$multiply": [hubness_weight / 2, hubness]}]}
        stages = [
            {"$vectorSearch": {
                "index": ATLAS_INDEX_NAME, "path": field, "queryVector": [float(value) for value in query],
                "numCandidates": hits * ATLAS_CANDIDATES_PER_RESULT, "limit": hits, "filter": search_filter,
            }},
            {"$project": {"_id": 1, "score": score}},
        ]
        return stages + ([{"$sort": {"score": -1}}, {"$limit": limit}] if corrected else [])

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

    def preload(self) -> None:
        pass  # Atlas holds the index

    def search(self, field: str, query: np.ndarray, *, limit: int, exclude_author: ObjectId | None = None,
               hubness_weight: float = 0.0) -> list[tuple[ObjectId, float]]:
        pipeline = self.pipeline(field, query, limit=limit, exclude_author=exclude_author, hubness_weight=hubness_weight)
        return [(row["_id"], row["score"]) for row in self.collection.aggregate(pipeline)]


class EmbeddedVectorSearch:
    """Exact search over every vector of the collection, held in this process."""

    name = "embedded"

    def __init__(self, db: MongoDatabase):
        self.db = db
        self._lock = threading.Lock()
        self._loading = False
        self._clear()

    @property
    def state(self) -> str:
        if self._synced_at is not None:
            return "ready"
        return "loading" if self._loading else "not_loaded"

    def preload(self) -> None:
        with self._lock:
            if self._synced_at is None:
                self._load()

    def search(self, field: str, query: np.ndarray, *, limit: int, exclude_author: ObjectId | None = None,
               hubness_weight: float = 0.0) -> list[tuple[ObjectId, float]]:
        with self._lock:
            if self._synced_at is None:
                self._load()
            else:
                self._catch_up()
            if not len(self._ids):
                return []
            vectors, present = self._fields[field], self._present[field]
            query = np.asarray(query, dtype=np.float32)
            query = query / max(float(np.linalg.norm(query)), 1e-12)
            scores = vectors[: len(self._ids)] @ query
            if hubness_weight and field in HUBNESS_FIELDS:
                scores -= hubness_weight * self._hubness[field][: len(self._ids)]
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

    def _clear(self) -> None:
        self._rows: dict[ObjectId, int] = {}
        self._ids: list[ObjectId] = []
        self._authors: list[ObjectId | None] = []
        self._published = np.zeros(0, dtype=bool)
        self._fields = {name: np.zeros((0, dimensions), dtype=np.float32) for name, dimensions in VECTOR_FIELDS.items()}
        self._present = {name: np.zeros(0, dtype=bool) for name in VECTOR_FIELDS}
        self._hubness = {name: np.zeros(0, dtype=np.float32) for name in HUBNESS_FIELDS}
        self._synced_at: float | None = None
        self._checked_at = 0.0

    def _load(self) -> None:
        """Read every vector field of every post, with who posted it and whether it is published.

        All fields in one pass: the embedded server decodes whole documents whatever the
        projection, so one field alone costs about as much as all of them.
        """
        started = time.time()
        self._loading = True
        try:
            # Room for every post at once; rows of a field no post has stay untouched, unbacked zeros.
            self._ensure_capacity(self.db.post_vectors.estimated_document_count())
            # Batches keep each reply far below the 48 MB message limit (a post's vectors are 8 KB).
            for document in self.db.post_vectors.find({}, HELD_FIELDS).batch_size(LOAD_BATCH):
                self._put(document)
        except Exception:
            # Half the posts would silently be missing; the next search loads them again.
            self._clear()
            raise
        finally:
            self._loading = False
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
        for post_id in changed:
            document = self.db.post_vectors.find_one({"_id": post_id}, HELD_FIELDS)
            if document is None:
                self._remove(post_id)
            else:
                self._put(document)
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
        for name, hubness in self._hubness.items():
            self._hubness[name] = np.resize(hubness, capacity)

    def _put(self, document: dict) -> None:
        post_id = document["_id"]
        row = self._rows.get(post_id)
        if row is None:
            row = len(self._ids)
            self._ensure_capacity(row + 1)
            self._rows[post_id] = row
            self._ids.append(post_id)
            self._authors.append(document.get("author_id"))
        self._published[row] = document.get("status") == PostStatus.PUBLISHED
        for name, vectors in self._fields.items():
            vector = from_bson_vector(document.get(name))
            self._present[name][row] = vector is not None
            if vector is not None:
                vectors[row] = vector / max(float(np.linalg.norm(vector)), 1e-12)
        for name, hubness in self._hubness.items():
            hubness[row] = document.get(HUBNESS_FIELDS[name], TYPICAL_HUBNESS)

    def _remove(self, post_id: ObjectId) -> None:
        row = self._rows.get(post_id)
        if row is not None:
            self._published[row] = False
            for present in self._present.values():
                present[row] = False


def server_has_search_indexes(collection: Collection[Document]) -> bool:
    """Atlas answers the search-index commands; the embedded server and plain mongod do not."""
    try:
        list(collection.list_search_indexes())
    except OperationFailure:
        return False
    return True
