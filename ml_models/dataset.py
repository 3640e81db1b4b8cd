"""Flickr8k on disk: splits, captions, and the cached encoder features of its images."""

import hashlib
import os
import re
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # TensorFlow loads only with a model
    from ml_models.encoder import ImageEncoder

from ml_models.images import open_image, to_model_input

SPLIT_FILES = {"train": "Flickr_8k.trainImages.txt", "dev": "Flickr_8k.devImages.txt"}
DEFAULT_CACHE_DIR = Path(os.environ.get("GLIMPSE_ML_CACHE", Path(__file__).resolve().parents[1] / ".cache" / "ml"))
_WORD = re.compile(r"[a-z]+")


def tokenize(text: str) -> list[str]:
    """Lower-case alphabetic words; punctuation and digits carry nothing for captions."""
    return _WORD.findall(text.lower())


def split_ids(data_dir: Path, split: str, limit: int | None = None) -> list[str]:
    ids = (Path(data_dir) / SPLIT_FILES[split]).read_text().split()
    return ids[:limit] if limit else ids


def load_captions(data_dir: Path) -> dict[str, list[str]]:
    """Image file name -> its (five) human captions."""
    captions = defaultdict(list)
    for line in (Path(data_dir) / "Flickr8k.token.txt").read_text().splitlines():
        key, _, caption = line.partition("\t")
        captions[key.split("#")[0]].append(caption.strip())
    return dict(captions)


def cached_array(name: str, keys: list[str], compute: Callable[[], np.ndarray], cache_dir: Path | None = None) -> np.ndarray:
    """``compute()`` once, then read back from ``<cache_dir>/<name>_<count>_<hash of keys>.npy``.
    Hashing the keys gives a subset (``limit``) its own small file."""
    digest = hashlib.sha1("\n".join(keys).encode(), usedforsecurity=False).hexdigest()[:10]
    cache_file = Path(cache_dir or DEFAULT_CACHE_DIR) / f"{name}_{len(keys)}_{digest}.npy"
    if cache_file.exists():
        return np.load(cache_file, mmap_mode="r")
    array = compute()
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    np.save(cache_file, array)
    return array


def load_grids(data_dir: Path, ids: list[str], encoder: "ImageEncoder", cache_dir: Path | None = None,
               flipped: bool = False, batch_size: int = 32) -> np.ndarray:
    """(N,7,7,C) float16 encoder grids of the images ``ids`` (cached).

    ``flipped`` encodes mirror images, a cheap augmentation for training.
    """
    def encode_all() -> np.ndarray:
        grids = np.empty((len(ids), 7, 7, encoder.channels), dtype=np.float16)
        started = time.perf_counter()
        for start in range(0, len(ids), batch_size):
            images = [open_image(Path(data_dir) / "images" / name) for name in ids[start:start + batch_size]]
            pixels = to_model_input(images)
            grids[start:start + len(images)] = encoder.feature_map(pixels[:, :, ::-1] if flipped else pixels)
            if start // batch_size % 20 == 0:
                print(f"encoded {start + len(images)}/{len(ids)} images ({time.perf_counter() - started:.0f} s)", flush=True)
        return grids

    return cached_array(f"{encoder.backbone}{'_flip' if flipped else ''}", ids, encode_all, cache_dir)
