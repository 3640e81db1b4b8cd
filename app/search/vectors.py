"""The `post_vectors` collection: every write goes through here, so both search backends see it.

A vector document mirrors what search may filter on (status, author) next to the embeddings,
stored as BSON float32 vectors (compact, and what Atlas Vector Search indexes natively). Each
change is also logged in `vector_changes`, which is how the embedded backend of every process
catches up with the writes and deletes of the others.
"""
from typing import overload

import numpy as np
from bson import ObjectId
from bson.binary import VECTOR_SUBTYPE, Binary, BinaryVectorDtype
from numpy.typing import ArrayLike

from app.core.clock import utc_now
from app.core.db import MongoDatabase

# name -> dimensions; "visual_text" is the image projected into the text space.
VECTOR_FIELDS = {"text": 384, "visual_text": 384, "image": 1280}
FILTER_FIELDS = ("status", "author_id")
# A vector's hubness (ml_models/hubness.py), which a search may subtract from its similarity.
HUBNESS_FIELDS = {"visual_text": "visual_text_hubness"}
# Taken for vectors stored before hubness was measured: the median over the Flickr8k dev photos,
# so they rank as a typical photo would, neither pushed up nor down.
TYPICAL_HUBNESS = 0.35
FLOAT32_HEADER = BinaryVectorDtype.FLOAT32.value + b"\x00"  # dtype byte, then padding (none for float32)


def to_bson_vector(values: ArrayLike) -> Binary:
    return Binary.from_vector(np.asarray(values, dtype=np.float32).tolist(), BinaryVectorDtype.FLOAT32)


@overload
def from_bson_vector(value: Binary) -> np.ndarray: ...
@overload
def from_bson_vector(value: None) -> None: ...
def from_bson_vector(value: Binary | None) -> np.ndarray | None:
    """A stored vector as float32 (read-only when it is the BSON bytes themselves)."""
    if value is None:
        return None
    if value.subtype == VECTOR_SUBTYPE and value[:2] == FLOAT32_HEADER:
        # Read in place: as_vector() unpacks into a Python list first, 80x slower (2.5 s of a
        # web worker's start at 10k posts).
        return np.frombuffer(value, dtype="<f4", offset=len(FLOAT32_HEADER))
    return np.asarray(value.as_vector().data, dtype=np.float32)


def _log_change(db: MongoDatabase, post_id: ObjectId) -> None:
    db.vector_changes.insert_one({"post_id": post_id, "at": utc_now()})


def save_post_vectors(db: MongoDatabase, post: dict, vectors: dict[str, list[float] | None], versions: dict,
                      hubness: dict[str, float | None] | None = None) -> None:
    document = {"author_id": post.get("author_id"), "status": post["status"], "created_at": post["created_at"],
                "model_versions": versions}
    document |= {name: to_bson_vector(values) for name, values in vectors.items() if values is not None}
    document |= {HUBNESS_FIELDS[name]: value for name, value in (hubness or {}).items() if value is not None}
    db.post_vectors.replace_one({"_id": post["_id"]}, document, upsert=True)
    _log_change(db, post["_id"])


def set_post_status(db: MongoDatabase, post_id: ObjectId, status: str) -> None:
    if db.post_vectors.update_one({"_id": post_id}, {"$set": {"status": status}}).matched_count:
        _log_change(db, post_id)


def delete_post_vectors(db: MongoDatabase, post_id: ObjectId) -> None:
    if db.post_vectors.delete_one({"_id": post_id}).deleted_count:
        _log_change(db, post_id)


def post_vector(db: MongoDatabase, post_id: ObjectId, field: str) -> np.ndarray | None:
    document = db.post_vectors.find_one({"_id": post_id}, {field: 1})
    return from_bson_vector(document.get(field)) if document else None
