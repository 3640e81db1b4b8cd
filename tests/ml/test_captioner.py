"""The captioner's NumPy word steps, its sampling and its self-critical update, on a small random
model (no data needed)."""

import numpy as np

from ml_models.captioner import (
    END,
    START,
    Captioner,
    CaptionerConfig,
    CaptionVocabulary,
    _DecoderStep,
    _forbid_repetition,
)
from ml_models.dataset import tokenize
from ml_models.self_critical import SelfCriticalTrainer, advantages

CAPTIONS = ["a dog runs on the grass", "a girl jumps into the water"]


def random_captioner(seed=0) -> Captioner:
    captioner = Captioner(CaptionVocabulary.from_captions(CAPTIONS, min_count=1),
                          CaptionerConfig(feature_size=32, embedding_size=16, units=24, max_words=6))
    rng = np.random.default_rng(seed)
    for layer in captioner.training.layers:  # random biases too: fresh ones are all zero
        layer.set_weights([rng.normal(0, 0.3, w.shape).astype(np.float32) for w in layer.get_weights()])
    return captioner


def log_probabilities(captioner, grids, words) -> np.ndarray:
    """(N, T, vocab) next-word log-probabilities of the Keras training model."""
    logits = captioner.training([grids, words], training=False).numpy()
    return logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))


def caption_rows(vocabulary, captions, width=7) -> np.ndarray:
    """Captions as sampled rows: word ids, <end>, then padding."""
    rows = np.zeros((len(captions), width), dtype=np.int32)
    for row, caption in enumerate(captions):
        ids = vocabulary.encode(caption, width - 1)[1:]
        rows[row, :len(ids)] = ids
    return rows


def test_numpy_steps_match_the_keras_model_word_for_word():
    captioner = random_captioner()
    vocabulary = captioner.vocabulary
    rng = np.random.default_rng(0)
    grids = rng.random((3, 7, 7, 32), dtype=np.float32)
    words = np.array([vocabulary.encode(caption, 10)[:6] for caption in
                      ["a dog runs on the grass", "a girl jumps into the water", "the dog jumps into water"]])

    expected = log_probabilities(captioner, grids, words)

    step = _DecoderStep(captioner.training)
    h, c, merged_image, keys, values = (t.numpy() for t in captioner._image_side_fn(grids))
    for position in range(words.shape[1]):
        log_probs, h, c = step(words[:, position], h, c, merged_image, keys, values)
        assert np.allclose(log_probs, expected[:, position], atol=1e-4), f"differs at word {position}"


def test_beam_search_may_not_repeat_a_three_word_phrase_or_an_article_and_its_noun():
    # "in a bath in a" may not go on with "bath"; "in a bath" may go on with anything.
    words = np.array([[7, 3, 9, 7, 3], [7, 3, 9, 4, 5]])
    log_probs = np.zeros((2, 12))
    _forbid_repetition(log_probs, words, articles=[])
    assert np.isneginf(log_probs[0, 9]) and np.isneginf(log_probs).sum() == 1
    # "a bike on a" may not go on with "bike"; "a bike on" may.
    words = np.array([[3, 9, 4, 3], [8, 3, 9, 4]])
    log_probs = np.zeros((2, 12))
    _forbid_repetition(log_probs, words, articles=[3])
    assert np.isneginf(log_probs[0, 9]) and np.isneginf(log_probs).sum() == 1


def test_samples_are_drawn_from_the_models_distribution():
    captioner = random_captioner()
    grids = np.random.default_rng(1).random((1, 7, 7, 32), dtype=np.float32)
    samples = captioner.sample(grids, 4000, np.random.default_rng(2))

    end = captioner.vocabulary.index[END]
    for row in samples[:50]:
        stop = list(row).index(end)
        assert row[:stop].all() and not row[stop + 1:].any()  # words, <end>, then only padding
    first = log_probabilities(captioner, grids, np.array([[captioner.vocabulary.index[START]]]))[0, 0]
    first[captioner._never_said] = -np.inf
    expected = np.exp(first) / np.exp(first).sum()
    seen = np.bincount(samples[:, 0], minlength=len(expected)) / len(samples)
    assert np.abs(seen - expected).max() < 0.03


def test_a_self_critical_step_makes_better_rewarded_samples_likelier():
    captioner = random_captioner()
    trainer = SelfCriticalTrainer(captioner, [[tokenize(c) for c in CAPTIONS]], learning_rate=1e-3)
    grids = np.random.default_rng(1).random((1, 7, 7, 32), dtype=np.float32)
    vocabulary = captioner.vocabulary
    tokens = caption_rows(vocabulary, ["a dog runs on the grass", "water water the"])
    inputs = np.concatenate([np.full((2, 1), vocabulary.index[START], dtype=np.int32), tokens[:, :-1]], axis=1)

    def caption_log_probabilities():
        chosen = np.take_along_axis(log_probabilities(captioner, np.repeat(grids, 2, axis=0), inputs),
                                    tokens[..., None], axis=2)[..., 0]
        return (chosen * (tokens != 0)).sum(axis=1)

    before = caption_log_probabilities()
    trainer._gradient_step(np.repeat(grids, 2, axis=0), inputs, tokens, np.array([1.0, -1.0], dtype=np.float32))
    after = caption_log_probabilities()
    # The update follows the advantage-weighted sum: the rewarded caption gains on the other.
    assert after[0] - after[1] > before[0] - before[1] + 0.1


def test_a_samples_advantage_is_against_its_own_photos_other_samples():
    assert np.allclose(advantages(np.array([[3.0, 1.0, 2.0], [0.0, 0.0, 0.0]])), [[1.5, -1.5, 0.0], [0, 0, 0]])


def test_a_reference_caption_earns_more_reward_than_a_cut_off_one():
    captioner = random_captioner()
    trainer = SelfCriticalTrainer(captioner, [[tokenize(c)] for c in CAPTIONS])
    tokens = caption_rows(captioner.vocabulary, ["a dog runs on the grass", "a dog runs on the"])
    rewards = trainer._rewards(tokens, np.array([0, 0]))
    assert rewards[0] > rewards[1] > 0
