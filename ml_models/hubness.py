"""How much a photo's projection is a "hub": close to many descriptions at once.

Projected into MiniLM space, some photos lie near the middle of what captions say and come up
for description after description, pushing the photo a query really describes down the list
(the hubness problem of cross-modal retrieval). A photo's hubness is the mean cosine of its
projection to its nearest reference captions; search subtracts a share of it from the photo's
similarity to a query (CSLS, Lample et al. 2018). The reference is a fixed set of caption
embeddings from the training split, so a photo's hubness never changes once measured.

NumPy only: the web app reads it without TensorFlow.
"""
from pathlib import Path

import numpy as np

REFERENCE_FILE = "search_reference.npy"
REFERENCE_SIZE = 2000  # train photos, one caption each: as good on dev as 6000 or 12000 (R@10 within 0.01)
NEIGHBOURS = 25


class HubnessReference:
    def __init__(self, captions: np.ndarray):
        self.captions = np.asarray(captions, dtype=np.float32)

    @classmethod
    def load(cls, weights_dir: Path) -> "HubnessReference | None":
        path = Path(weights_dir) / REFERENCE_FILE
        return cls(np.load(path)) if path.exists() else None

    def save(self, weights_dir: Path) -> None:
        np.save(Path(weights_dir) / REFERENCE_FILE, self.captions.astype(np.float16))

    def hubness(self, projections: np.ndarray) -> np.ndarray:
        """(N,) mean cosine of each unit vector to its NEIGHBOURS nearest reference captions."""
        similarities = np.asarray(projections, dtype=np.float32) @ self.captions.T
        neighbours = min(NEIGHBOURS, len(self.captions))
        return np.partition(similarities, -neighbours, axis=1)[:, -neighbours:].mean(axis=1)
