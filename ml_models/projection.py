"""A small MLP that maps pooled image features into MiniLM's 384-d sentence space, trained with a
symmetric InfoNCE loss (CLIP-style) against embeddings of the photos' captions, so a text query's
MiniLM vector can be compared with photos directly."""

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from ml_models.text_embedding import EMBEDDING_SIZE
from ml_models.weights_io import load_weights, save_weights

WEIGHTS_FILE = "projection.npz"
CONFIG_FILE = "projection.json"


@dataclass
class ProjectionConfig:
    feature_size: int = 1280
    hidden_size: int = 1024
    dropout: float = 0.3
    temperature: float = 0.05


def symmetric_info_nce(temperature: float) -> Callable[[tf.Tensor, tf.Tensor], tf.Tensor]:
    """Loss over a batch of matching (caption, image) pairs: each image must pick out its own
    caption among the batch's captions, and each caption its own image."""

    def loss(caption_embeddings: tf.Tensor, image_embeddings: tf.Tensor) -> tf.Tensor:
        captions = tf.math.l2_normalize(caption_embeddings, axis=1)
        logits = tf.matmul(captions, image_embeddings, transpose_b=True) / temperature
        matching = tf.range(tf.shape(logits)[0])
        return 0.5 * (tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(matching, logits))
                      + tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(matching, tf.transpose(logits))))

    return loss


class ImageToTextProjection:
    def __init__(self, config: ProjectionConfig):
        self.config = config
        features = keras.Input((config.feature_size,), name="pooled_features")
        x = keras.layers.Dropout(config.dropout)(features)
        x = keras.layers.Dense(config.hidden_size, activation="gelu", name="hidden")(x)
        x = keras.layers.Dropout(config.dropout)(x)
        x = keras.layers.Dense(EMBEDDING_SIZE, name="to_text_space")(x)
        self.model = keras.Model(features, keras.layers.UnitNormalization()(x), name="image_to_text")
        self._project = tf.function(lambda f: self.model(f, training=False),
                                    autograph=False, input_signature=[tf.TensorSpec((None, config.feature_size))])

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        save_weights(self.model, directory / WEIGHTS_FILE)
        (directory / CONFIG_FILE).write_text(json.dumps(asdict(self.config)))

    @classmethod
    def load(cls, directory: Path) -> "ImageToTextProjection":
        projection = cls(ProjectionConfig(**json.loads((directory / CONFIG_FILE).read_text())))
        load_weights(projection.model, directory / WEIGHTS_FILE)
        return projection

    def project(self, pooled: np.ndarray) -> np.ndarray:
        """(N, feature_size) -> (N, 384) unit vectors in MiniLM space."""
        return self._project(np.asarray(pooled, dtype=np.float32)).numpy()
