"""The photo models, loaded once per process on first use (loading takes seconds)."""
import threading

from flask import current_app

import ml_models

_describer: "ml_models.PhotoDescriber | None" = None
_lock = threading.Lock()


def get_describer() -> "ml_models.PhotoDescriber":
    global _describer  # noqa: PLW0603  (one set of models per process, shared by its threads)
    if _describer is None:
        with _lock:
            if _describer is None:
                # Attribute access imports TensorFlow: only processes that describe photos pay for it.
                _describer = ml_models.PhotoDescriber.load(current_app.config["ML_WEIGHTS_DIR"],
                                                           threads=current_app.config["ML_THREADS"])
    return _describer
