"""Keyset (cursor) pagination: no skip/offset, so deep pages cost the same as the first."""
import base64
import json
from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo.collection import Collection

from app.core.db import Document
from app.core.errors import ValidationError

MAX_PAGE_SIZE = 50


def encode_cursor(value: Any, document_id: ObjectId | str) -> str:
    kind = "t" if isinstance(value, datetime) else "n"
    id_kind = "o" if isinstance(document_id, ObjectId) else "s"  # likes and follows have string keys
    raw = json.dumps([kind, value.isoformat() if kind == "t" else value, id_kind, str(document_id)])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[Any, ObjectId | str]:
    try:
        kind, value, id_kind, document_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return ((datetime.fromisoformat(value) if kind == "t" else float(value)),
                ObjectId(document_id) if id_kind == "o" else str(document_id))
    except (ValueError, TypeError, json.JSONDecodeError):
        raise ValidationError("That cursor is not valid.", fields={"cursor": "Not a cursor from this API."}) from None


def page_size(raw: str | int | None, default: int = 20) -> int:
    try:
        size = int(raw) if raw not in (None, "") else default
    except ValueError:
        raise ValidationError("limit must be a number.", fields={"limit": "A number from 1 to 50."}) from None
    return max(1, min(size, MAX_PAGE_SIZE))


def keyset_page(collection: Collection[Document], query: dict, sort_field: str, cursor: str | None, limit: int,
                projection: dict | None = None) -> tuple[list[dict], str | None]:
    """Documents matching `query`, newest (largest `sort_field`) first, after `cursor`; a
    `projection` must keep `sort_field` and `_id`, which the next cursor is made of."""
    if cursor:
        value, last_id = decode_cursor(cursor)
        query = {"$and": [query, {"$or": [
            {sort_field: {"$lt": value}},
            {sort_field: value, "_id": {"$lt": last_id}},
        ]}]}
    documents = list(collection.find(query, projection).sort([(sort_field, -1), ("_id", -1)]).limit(limit + 1))
    next_cursor = None
    if len(documents) > limit:
        documents = documents[:limit]
        last = documents[-1]
        next_cursor = encode_cursor(last[sort_field], last["_id"])
    return documents, next_cursor
