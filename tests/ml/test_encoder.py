import numpy as np

from ml_models.encoder import ImageEncoder
from ml_models.images import open_image, to_model_input


def test_vgg16_builds_and_runs_without_pretrained_weights():
    encoder = ImageEncoder("vgg16", weights=None)
    grid, pooled = encoder.encode(np.zeros((2, 224, 224, 3), dtype=np.float32))
    assert grid.shape == (2, 7, 7, 512) and pooled.shape == (2, 512)


def test_efficientnet_features_have_the_documented_shapes(encoder, photos):
    grid, pooled = encoder.encode(to_model_input([open_image(photos[0])]))
    assert grid.shape == (1, 7, 7, 1280) and pooled.shape == (1, 1280)
    assert np.allclose(pooled, encoder.pooled(to_model_input([open_image(photos[0])])), atol=1e-4)


def test_a_batch_is_encoded_as_each_photo_alone(encoder, photos):
    # Batches go through in small passes (faster on one thread); order and values must hold.
    pixels = to_model_input([open_image(path) for path in photos[:5]])
    grid, pooled = encoder.encode(pixels)
    assert grid.shape == (5, 7, 7, 1280)
    alone = np.concatenate([encoder.pooled(pixels[index:index + 1]) for index in range(5)])
    assert np.allclose(pooled, alone, atol=1e-4)
