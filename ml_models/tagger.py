"""Hybrid ViT tagger (Dosovitskiy et al. 2021, sec. 3.1): the CNN's 7x7 feature grid is the patch
sequence, followed by a class token, position embeddings, Transformer encoder blocks and a
multi-label sigmoid head over the mined tag vocabulary."""

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from ml_models.weights_io import load_weights, save_weights

WEIGHTS_FILE = "tagger.npz"
CONFIG_FILE = "tagger.json"


@dataclass
class TaggerConfig:
    feature_size: int = 1280
    grid_size: int = 7
    width: int = 256
    depth: int = 2
    heads: int = 4
    mlp_width: int = 512
    dropout: float = 0.1
    threshold: float = 0.3  # global score cut, tuned on dev micro-F1
    input_norm: bool = False  # LayerNorm on each grid cell's features before the patch projection
    mean_pool: bool = False  # head sees the class token and the mean of the patch tokens


class ClassTokenAndPositions(keras.layers.Layer):
    """Prepends the learned class token and adds learned position embeddings."""

    def build(self, input_shape: tuple[int | None, int, int]) -> None:  # (batch, patches, width)
        _, patches, width = input_shape
        self.class_token = self.add_weight(shape=(1, 1, width), initializer="zeros", name="class_token")
        self.positions = self.add_weight(shape=(1, patches + 1, width),
                                         initializer=keras.initializers.RandomNormal(stddev=0.02), name="positions")

    def call(self, patches: keras.KerasTensor) -> keras.KerasTensor:
        class_tokens = keras.ops.tile(self.class_token, [keras.ops.shape(patches)[0], 1, 1])
        return keras.ops.concatenate([class_tokens, patches], axis=1) + self.positions


def _encoder_block(x: keras.KerasTensor, config: TaggerConfig, name: str) -> keras.KerasTensor:
    """Pre-norm Transformer encoder block: x + MSA(LN(x)), then x + MLP(LN(x))."""
    normed = keras.layers.LayerNormalization(epsilon=1e-6, name=f"{name}_norm1")(x)
    attended = keras.layers.MultiHeadAttention(config.heads, config.width // config.heads, dropout=config.dropout,
                                               name=f"{name}_attention")(normed, normed)
    x = x + keras.layers.Dropout(config.dropout)(attended)
    hidden = keras.layers.Dense(config.mlp_width, activation="gelu", name=f"{name}_mlp1")(
        keras.layers.LayerNormalization(epsilon=1e-6, name=f"{name}_norm2")(x))
    return x + keras.layers.Dropout(config.dropout)(keras.layers.Dense(config.width, name=f"{name}_mlp2")(hidden))


def build_tagger_model(tag_count: int, config: TaggerConfig) -> keras.Model:
    """(N, 7, 7, C) feature grids -> (N, tags) logits."""
    grid = keras.Input((config.grid_size, config.grid_size, config.feature_size), name="grid")
    patches = keras.layers.Reshape((config.grid_size ** 2, config.feature_size))(grid)
    if config.input_norm:
        patches = keras.layers.LayerNormalization(epsilon=1e-6, name="patch_norm")(patches)
    x = ClassTokenAndPositions(name="tokens")(keras.layers.Dense(config.width, name="patch_projection")(patches))
    for block in range(config.depth):
        x = _encoder_block(x, config, f"block{block}")
    x = keras.layers.LayerNormalization(epsilon=1e-6, name="final_norm")(x)
    pooled = x[:, 0]
    if config.mean_pool:
        pooled = keras.layers.Concatenate()([pooled, keras.ops.mean(x[:, 1:], axis=1)])
    return keras.Model(grid, keras.layers.Dense(tag_count, name="tag_logits")(pooled), name="vit_tagger")


class PhotoTagger:
    def __init__(self, tags: list[str], config: TaggerConfig):
        self.tags = tags
        self.config = config
        self.model = build_tagger_model(len(tags), config)
        grid_spec = tf.TensorSpec((None, config.grid_size, config.grid_size, config.feature_size))
        self._probabilities = tf.function(lambda g: tf.sigmoid(self.model(g, training=False)),
                                          autograph=False, input_signature=[grid_spec])

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        save_weights(self.model, directory / WEIGHTS_FILE)
        (directory / CONFIG_FILE).write_text(json.dumps({"config": asdict(self.config), "tags": self.tags}))

    @classmethod
    def load(cls, directory: Path) -> "PhotoTagger":
        stored = json.loads((directory / CONFIG_FILE).read_text())
        tagger = cls(stored["tags"], TaggerConfig(**stored["config"]))
        load_weights(tagger.model, directory / WEIGHTS_FILE)
        return tagger

    def scores(self, grids: np.ndarray) -> np.ndarray:
        """(N, 7, 7, C) grids -> (N, tags) probabilities."""
        return self._probabilities(np.asarray(grids, dtype=np.float32)).numpy()

    def tag(self, grids: np.ndarray) -> list[list[dict]]:
        """Per photo, ``[{"name", "score"}]`` of the tags scoring above the threshold, best first."""
        results = []
        for row in self.scores(grids):
            chosen = np.flatnonzero(row >= self.config.threshold)
            chosen = chosen[np.argsort(-row[chosen])]
            results.append([{"name": self.tags[i], "score": round(float(row[i]), 4)} for i in chosen])
        return results
