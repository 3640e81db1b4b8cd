"""Compact weight files: every model's weights as float16 arrays in one .npz (half the size of .h5)."""

import hashlib
from pathlib import Path

import keras
import numpy as np


def save_weights(model: keras.Model, path: Path) -> None:
    np.savez_compressed(path, *[w.astype(np.float16) for w in model.get_weights()])


def load_weights(model: keras.Model, path: Path) -> None:
    with np.load(path) as stored:
        arrays = [stored[f"arr_{i}"] for i in range(len(stored.files))]
    model.set_weights([a.astype(np.float32) for a in arrays])


def file_version(path: Path) -> str:
    """A short content hash, stored with each post so results can be traced to a model file."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]
