"""Decoding uploaded images and turning them into model input."""

import io
import os
from typing import BinaryIO

import numpy as np
from PIL import Image, UnidentifiedImageError

MODEL_INPUT_SIZE = 224


class InvalidImageError(ValueError):
    """The bytes given are not a complete image that Pillow can decode."""


def open_image(source: str | os.PathLike | bytes | BinaryIO | Image.Image) -> Image.Image:
    """Fully decode a path, bytes, file object or PIL image into an RGB PIL image.

    Decoding everything up front (``load``) is what turns a truncated JPEG into an
    error here instead of a half-grey picture later.
    """
    try:
        if isinstance(source, Image.Image):
            image = source
        elif isinstance(source, (bytes, bytearray)):
            image = Image.open(io.BytesIO(source))
        else:
            image = Image.open(source)
        image.load()
        return image.convert("RGB")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise InvalidImageError(f"cannot decode image: {error}") from error


def to_model_input(images: list[Image.Image], size: int = MODEL_INPUT_SIZE) -> np.ndarray:
    """(N, size, size, 3) float32 RGB in 0..255, squashed like the Flickr8k training images."""
    batch = np.empty((len(images), size, size, 3), dtype=np.float32)
    for index, image in enumerate(images):
        rgb = open_image(image)
        batch[index] = np.asarray(rgb.resize((size, size), Image.Resampling.BILINEAR))
    return batch
