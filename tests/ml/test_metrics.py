import numpy as np
import pytest

from ml_models.metrics import CiderD, SentenceBleu, corpus_bleu, multilabel_scores, recall_at_k
from ml_models.tag_vocabulary import image_labels, singular


def test_bleu_of_a_reference_is_one_and_of_a_stranger_zero():
    reference = "a dog runs on the beach".split()
    assert corpus_bleu([reference], [[reference]])["bleu4"] == pytest.approx(1.0)
    assert corpus_bleu(["cats sleep".split()], [[reference]])["bleu1"] == 0.0


def test_sentence_bleu_is_the_mean_of_bleu_1_to_4_against_the_photos_references():
    references = [["a dog runs on the beach".split(), "a dog on sand".split()], ["two cats sleep".split()]]
    bleu = SentenceBleu(references)
    assert bleu.score("a dog runs on the beach".split(), 0) == pytest.approx(1.0)
    assert bleu.score("a dog runs on the beach".split(), 1) == 0.0
    caption = "a dog on the beach".split()
    assert bleu.score(caption, 0) == pytest.approx(sum(corpus_bleu([caption], [references[0]]).values()) / 4)


def test_cider_d_weighs_rare_ngrams_and_damps_length():
    cider = CiderD([[["a", "dog"]], [["a", "cat"]]])
    # "a" is in every photo's references, so only "dog" and the bigram count: two of four orders match.
    assert cider.score(["a", "dog"], 0) == pytest.approx(5.0)
    assert cider.score(["a", "cat"], 0) == 0.0
    assert 0 < cider.score(["a", "dog", "a", "dog"], 0) < 5.0


def test_multilabel_scores_and_recall():
    labels = np.array([[True, False], [False, True]])
    assert multilabel_scores(labels, np.array([[0.9, 0.1], [0.2, 0.8]]), 0.5) == {"micro_f1": 1.0, "macro_f1": 1.0, "map": 1.0}
    assert recall_at_k(np.array([[0.1, 0.9], [0.2, 0.3]]), np.array([0, 1]), ks=(1, 2)) == {"r@1": 0.5, "r@2": 1.0}


def test_tag_mining_singularises_and_folds_verbs_into_activities():
    assert singular("dogs") == "dog" and singular("puppies") == "puppy" and singular("children") == "child"
    assert image_labels(["Two dogs run through the snow ."], ["dog", "running", "snow"]) == {"dog", "running", "snow"}
