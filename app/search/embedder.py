"""The query embedder: only MiniLM (ONNX), so web processes answer searches without TensorFlow."""
import threading

from flask import current_app

from ml_models.text_embedding import TextEmbedder

_embedder: TextEmbedder | None = None
_lock = threading.Lock()


def get_text_embedder() -> TextEmbedder:
    global _embedder  # noqa: PLW0603  (one model per process, shared by its threads)
    if _embedder is None:
        with _lock:
            if _embedder is None:
                _embedder = TextEmbedder(threads=current_app.config["ML_THREADS"])
    return _embedder
