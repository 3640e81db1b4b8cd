"""The captioner's NumPy word step must compute what its Keras training model computes."""

import numpy as np

from ml_models.captioner import Captioner, CaptionerConfig, CaptionVocabulary, _DecoderStep


def test_numpy_steps_match_the_keras_model_word_for_word():
    vocabulary = CaptionVocabulary.from_captions(["a dog runs on the grass", "a girl jumps into the water"],
                                                 min_count=1)
    captioner = Captioner(vocabulary, CaptionerConfig(feature_size=32, embedding_size=16, units=24))
    rng = np.random.default_rng(0)
    for layer in captioner.training.layers:  # random biases too: fresh ones are all zero
        layer.set_weights([rng.normal(0, 0.3, w.shape).astype(np.float32) for w in layer.get_weights()])
    grids = rng.random((3, 7, 7, 32), dtype=np.float32)
    words = np.array([vocabulary.encode(caption, 10)[:6] for caption in
                      ["a dog runs on the grass", "a girl jumps into the water", "the dog jumps into water"]])

    logits = captioner.training([grids, words], training=False).numpy()
    expected = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))

    step = _DecoderStep(captioner.training)
    h, c, merged_image, keys, values = (t.numpy() for t in captioner._image_side_fn(grids))
    for position in range(words.shape[1]):
        log_probs, h, c = step(words[:, position], h, c, merged_image, keys, values)
        assert np.allclose(log_probs, expected[:, position], atol=1e-4), f"differs at word {position}"
