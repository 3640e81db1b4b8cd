"""Glimpse's machine-learning models: captions, tags, NSFW score and embeddings for photos.

Knows nothing of the web app; ``PhotoDescriber`` (in ``ml_models.pipeline``) is its facade.
TensorFlow is imported only when a model is loaded, so importing this package stays cheap.
"""

from typing import TYPE_CHECKING, Any

from ml_models.images import InvalidImageError

if TYPE_CHECKING:  # for the type checker; at run time __getattr__ imports them when first asked
    from ml_models.pipeline import PhotoDescriber, PhotoDescription


def __getattr__(name: str) -> Any:
    if name in ("PhotoDescriber", "PhotoDescription"):
        from ml_models import pipeline

        return getattr(pipeline, name)
    raise AttributeError(name)


__all__ = ["InvalidImageError", "PhotoDescriber", "PhotoDescription"]
