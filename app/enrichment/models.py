"""The photo models, loaded once per process on first use (loading takes seconds)."""
import threading

from flask import current_app

from ml_models import PhotoDescriber

_describer: PhotoDescriber | None = None
_lock = threading.Lock()


def get_describer() -> PhotoDescriber:
    global _describer  # noqa: PLW0603  (one set of models per process, shared by its threads)
    if _describer is None:
        with _lock:
            if _describer is None:
                _describer = PhotoDescriber.load(threads=current_app.config["ML_THREADS"])
    return _describer
