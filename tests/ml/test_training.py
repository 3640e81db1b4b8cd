"""Every training entry point runs end to end on a handful of images, writing to a temporary folder."""

import numpy as np

from ml_models.captioner import Captioner
from ml_models.hubness import NEIGHBOURS, HubnessReference
from ml_models.training import (
    build_search_reference,
    evaluate_captioner,
    evaluate_search,
    evaluate_tagger,
    train_captioner,
    train_projection,
    train_tagger,
)

TINY = 12


def test_captioner_trains_and_evaluates(flickr8k_dir, encoder, tmp_path):
    train_captioner(flickr8k_dir, tmp_path, epochs=1, limit=TINY, cache_dir=tmp_path, encoder=encoder,
                    self_critical_epochs=1)
    assert Captioner.load(tmp_path).vocabulary.words[:3] == ["<pad>", "<start>", "<end>"]
    assert set(evaluate_captioner(flickr8k_dir, weights_dir=tmp_path, limit=TINY, cache_dir=tmp_path,
                                  encoder=encoder)) == {"bleu1", "bleu2", "bleu3", "bleu4"}


def test_tagger_trains_and_evaluates(flickr8k_dir, encoder, tmp_path):
    train_tagger(flickr8k_dir, tmp_path, epochs=1, limit=TINY, cache_dir=tmp_path, encoder=encoder)
    scores = evaluate_tagger(flickr8k_dir, weights_dir=tmp_path, limit=TINY, cache_dir=tmp_path, encoder=encoder)
    assert set(scores) == {"micro_f1", "macro_f1", "map"}


def test_projection_trains_and_evaluates(flickr8k_dir, encoder, tmp_path):
    train_projection(flickr8k_dir, tmp_path, epochs=1, limit=TINY, cache_dir=tmp_path, encoder=encoder)
    recall = evaluate_search(flickr8k_dir, weights_dir=tmp_path, limit=TINY, cache_dir=tmp_path, encoder=encoder)
    assert 0.0 <= recall["r@1"] <= recall["r@5"] <= recall["r@10"] <= 1.0


def test_the_search_reference_is_train_captions_and_measures_hubness(flickr8k_dir, describer, tmp_path):
    build_search_reference(flickr8k_dir, tmp_path, limit=TINY, text_embedder=describer.text_embedder)
    reference = HubnessReference.load(tmp_path)
    assert reference.captions.shape == (TINY, 384)
    # A photo's hubness: the mean cosine to its nearest reference captions (all of them, here).
    photo = reference.captions[:3] + reference.captions[3:6]
    photo /= np.linalg.norm(photo, axis=1, keepdims=True)
    expected = np.sort(photo @ reference.captions.T, axis=1)[:, -min(NEIGHBOURS, TINY):].mean(axis=1)
    assert np.allclose(reference.hubness(photo), expected, atol=1e-5)
    assert HubnessReference.load(tmp_path / "missing") is None
