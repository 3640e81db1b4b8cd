"""Search hidden behind one small adapter: `get_vector_search()` picks the backend by asking the
server, never by configuration, and the service functions use whichever it returns."""
import threading

from flask import current_app

from app.core.db import get_db
from app.search.backends import AtlasVectorSearch, EmbeddedVectorSearch, VectorSearch, server_has_search_indexes

_lock = threading.Lock()
_backends: dict[tuple[str, str], VectorSearch] = {}  # per database, shared by the process's threads


def get_vector_search() -> VectorSearch:
    db = get_db()
    key = (current_app.extensions["glimpse_db"]["uri"], db.name)
    with _lock:
        if key not in _backends:
            if server_has_search_indexes(db.post_vectors):
                backend = AtlasVectorSearch(db.post_vectors)
                backend.ensure_index()
            else:
                backend = EmbeddedVectorSearch(db)
            _backends[key] = backend
        return _backends[key]
