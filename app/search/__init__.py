"""Search hidden behind one small adapter: `get_vector_search()` picks the backend by asking the
server, never by configuration, and the service functions use whichever it returns."""
import logging
import threading

from flask import Flask, current_app
from threadpoolctl import threadpool_limits

from app.core.db import MongoDatabase, get_db
from app.search.backends import AtlasVectorSearch, EmbeddedVectorSearch, VectorSearch, server_has_search_indexes
from app.search.embedder import get_text_embedder

_lock = threading.Lock()
_backends: dict[tuple[str, str], VectorSearch] = {}  # per database, shared by the process's threads
log = logging.getLogger(__name__)


def _backend_key(db: MongoDatabase) -> tuple[str, str]:
    # Read after get_db(): with no MONGODB_URI, that is what starts the embedded server and sets the URI.
    return current_app.extensions["glimpse_db"]["uri"], db.name


def get_vector_search() -> VectorSearch:
    db = get_db()
    key = _backend_key(db)
    with _lock:
        if key not in _backends:
            backend: AtlasVectorSearch | EmbeddedVectorSearch
            if server_has_search_indexes(db.post_vectors):
                backend = AtlasVectorSearch(db.post_vectors)
                backend.ensure_index()
            else:
                # numpy's BLAS starts a thread per core for each product: on a few cores shared by
                # several workers that triples the CPU a search costs. ML_THREADS, as for the models.
                threadpool_limits(current_app.config["ML_THREADS"], user_api="blas")
                backend = EmbeddedVectorSearch(db)
            _backends[key] = backend
        return _backends[key]


def search_state() -> str:
    """This process's readiness to search: "ready", "loading" or "not_loaded" (loads on first use)."""
    backend = _backends.get(_backend_key(get_db()))
    return backend.state if backend is not None else "not_loaded"


def warm_up(app: Flask) -> None:
    """Load the query embedder and the vectors before the first search needs them (a web
    worker runs this in a thread at start; until it is done, searches wait for it)."""
    with app.app_context():
        try:
            get_text_embedder()
            get_vector_search().preload()
        except Exception:  # a search loads whatever is missing when it comes
            log.exception("search warm-up failed")
