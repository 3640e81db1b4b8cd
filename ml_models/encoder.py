"""Image encoders that turn a 224x224 RGB photo into a 7x7 feature grid and a pooled vector."""

from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from ml_models.images import MODEL_INPUT_SIZE

DEFAULT_WEIGHTS_DIR = Path(__file__).parent / "weights"
EFFICIENTNET_WEIGHTS_FILE = "efficientnet_lite0.weights.h5"
FORWARD_BATCH = 2  # photos per forward pass; measured on one thread: 1-2 best, 16 costs 60 % more each

# EfficientNet-Lite0 stages: (kernel, stride, expansion, output channels, repeats).
# Lite variants drop squeeze-excitation, use ReLU6 and keep stem (32) and head (1280) fixed.
_LITE0_STAGES = [
    (3, 1, 1, 16, 1),
    (3, 2, 6, 24, 2),
    (5, 2, 6, 40, 2),
    (3, 2, 6, 80, 3),
    (5, 1, 6, 112, 3),
    (5, 2, 6, 192, 4),
    (3, 1, 6, 320, 1),
]
_BN_EPSILON = 1e-3  # what the TF-trained weights were trained with


def _conv(x: keras.KerasTensor, filters: int, kernel: int, stride: int, name: str) -> keras.KerasTensor:
    # The PyTorch port pads symmetrically by kernel//2; Keras "same" would pad
    # asymmetrically on stride 2 and shift every feature by half a pixel.
    if kernel > 1:
        x = keras.layers.ZeroPadding2D(kernel // 2, name=f"{name}_pad")(x)
    return keras.layers.Conv2D(filters, kernel, stride, use_bias=False, name=name)(x)


def _depthwise(x: keras.KerasTensor, kernel: int, stride: int, name: str) -> keras.KerasTensor:
    x = keras.layers.ZeroPadding2D(kernel // 2, name=f"{name}_pad")(x)
    return keras.layers.DepthwiseConv2D(kernel, stride, use_bias=False, name=name)(x)


def _bn_relu6(x: keras.KerasTensor, name: str, activate: bool = True) -> keras.KerasTensor:
    x = keras.layers.BatchNormalization(epsilon=_BN_EPSILON, name=name)(x)
    return keras.layers.ReLU(6.0, name=f"{name}_relu6")(x) if activate else x


def build_efficientnet_lite0() -> keras.Model:
    """EfficientNet-Lite0 backbone taking 0..255 RGB and returning the 7x7x1280 head activations."""
    pixels = keras.Input((MODEL_INPUT_SIZE, MODEL_INPUT_SIZE, 3), name="pixels")
    x = keras.layers.Rescaling(1 / 128.0, offset=-127.0 / 128.0, name="normalize")(pixels)
    x = _bn_relu6(_conv(x, 32, 3, 2, "stem_conv"), "stem_bn")
    channels = 32
    block = 0
    for kernel, stride, expansion, out_channels, repeats in _LITE0_STAGES:
        for repeat in range(repeats):
            name = f"block{block}"
            block_input = x
            if expansion != 1:
                x = _bn_relu6(_conv(x, channels * expansion, 1, 1, f"{name}_expand"), f"{name}_bn0")
            x = _bn_relu6(_depthwise(x, kernel, stride if repeat == 0 else 1, f"{name}_dw"), f"{name}_bn1")
            x = _bn_relu6(_conv(x, out_channels, 1, 1, f"{name}_project"), f"{name}_bn2", activate=False)
            if repeat > 0:  # same shape in and out: residual connection
                x = keras.layers.Add(name=f"{name}_add")([x, block_input])
            channels = out_channels
            block += 1
    x = _bn_relu6(_conv(x, 1280, 1, 1, "head_conv"), "head_bn")
    return keras.Model(pixels, x, name="efficientnet_lite0")


def build_vgg16(weights: str | Path | None) -> keras.Model:
    """VGG16 convolutional part on 0..255 RGB; its last pooling gives 7x7x512."""
    pixels = keras.Input((MODEL_INPUT_SIZE, MODEL_INPUT_SIZE, 3), name="pixels")
    # VGG16 expects caffe-style BGR with the ImageNet mean removed.
    bgr = keras.layers.Lambda(lambda rgb: rgb[..., ::-1], name="rgb_to_bgr")(pixels)
    centered = keras.layers.Normalization(mean=[103.939, 116.779, 123.68], variance=[1.0, 1.0, 1.0])(bgr)
    vgg = keras.applications.VGG16(include_top=False, weights=weights, input_shape=(224, 224, 3))
    return keras.Model(pixels, vgg(centered), name="vgg16")


class ImageEncoder:
    """A frozen ImageNet CNN giving a (N,7,7,C) feature grid and its (N,C) average."""

    def __init__(self, backbone: str = "efficientnet_lite0", weights: str | Path | None = "default"):
        """``weights``: for efficientnet_lite0 "default" (the bundled file), a file path or None;
        for vgg16 "imagenet" (the default; needs internet) or None (random, for tests)."""
        if backbone == "efficientnet_lite0":
            self.model = build_efficientnet_lite0()
            if weights == "default":
                weights = DEFAULT_WEIGHTS_DIR / EFFICIENTNET_WEIGHTS_FILE
            if weights is not None:
                self.model.load_weights(str(weights))
        elif backbone == "vgg16":
            self.model = build_vgg16("imagenet" if weights == "default" else weights)
        else:
            raise ValueError(f"unknown backbone {backbone!r}")
        self.backbone = backbone
        self.channels = self.model.output_shape[-1]
        # one traced graph for any batch size (declared up front, so a new batch size never retraces):
        # eager layer-by-layer calls cost more than the maths
        self._forward = tf.function(lambda pixels: self.model(pixels, training=False),
                                    autograph=False, input_signature=[tf.TensorSpec((None, MODEL_INPUT_SIZE, MODEL_INPUT_SIZE, 3))])

    def feature_map(self, pixels: np.ndarray) -> np.ndarray:
        """(N,224,224,3) 0..255 RGB -> (N,7,7,C) float32."""
        pixels = np.asarray(pixels, dtype=np.float32)
        # A few photos per pass: on one CPU thread a photo costs 27 ms alone and 44 ms in a batch
        # of 16 (a big batch's activations no longer fit the caches).
        passes = [pixels[start:start + FORWARD_BATCH] for start in range(0, len(pixels), FORWARD_BATCH)] or [pixels]
        return np.concatenate([self._forward(batch).numpy() for batch in passes])

    def encode(self, pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Both the (N,7,7,C) grid and its (N,C) spatial mean from one forward pass."""
        grid = self.feature_map(pixels)
        return grid, grid.mean(axis=(1, 2))

    def pooled(self, pixels: np.ndarray) -> np.ndarray:
        return self.encode(pixels)[1]
