import numpy as np
import pytest
from PIL import Image

from ml_models import InvalidImageError
from ml_models.dataset import tokenize
from ml_models.images import open_image

from .conftest import DOG_PHOTO


def test_caption_of_a_real_photo_is_a_sentence_of_known_words(describer, photos):
    caption = describer.describe(open_image(photos[0])).caption
    assert caption[0].isupper() and caption.endswith(".")
    words = tokenize(caption)
    assert 3 <= len(words) <= describer.captioner.config.max_words
    assert set(words) <= set(describer.captioner.vocabulary.words)


def test_dog_photo_gets_the_dog_tag(describer, datasets_dir):
    tags = describer.describe(open_image(datasets_dir / "photos" / DOG_PHOTO)).tags
    # truly predicted, not let through by a tiny threshold: a confident score among the first few tags
    assert describer.tagger.config.threshold >= 0.15
    assert "dog" in [t["name"] for t in tags[:3]]
    assert next(t["score"] for t in tags if t["name"] == "dog") > 0.5
    assert [t["score"] for t in tags] == sorted((t["score"] for t in tags), reverse=True)


def test_new_batch_sizes_do_not_retrace_the_graphs(describer, photos):
    functions = [describer.encoder._forward, describer.captioner._image_side_fn, describer.tagger._probabilities]
    before = [f.experimental_get_tracing_count() for f in functions]
    describer.describe_many([open_image(p) for p in photos[:3]])
    assert [f.experimental_get_tracing_count() for f in functions] == before


def test_description_fields(describer, photos):
    first, second = describer.describe_many([open_image(p) for p in photos[:2]])
    assert np.isclose(np.linalg.norm(first.image_embedding), 1.0, atol=1e-3)
    assert len(first.text_embedding) == 384 and np.isclose(np.linalg.norm(first.text_embedding), 1.0, atol=1e-3)
    assert first.visual_text_embedding is None or len(first.visual_text_embedding) == 384
    assert first.visual_text_embedding is None or 0 < first.visual_text_hubness < 1
    assert first.timings_ms["total"] > 0
    assert first.caption != "" and second.caption != ""
    assert set(describer.versions) >= {"encoder", "captioner", "tagger", "nsfw", "text_embedding"}


def test_ordinary_photos_are_safe(describer, photos):
    scores = describer.nsfw_scorer.score([open_image(p) for p in photos[:10]])
    assert (scores < 0.2).all()


def test_truncated_image_raises_invalid_image_error(describer, photos, tmp_path):
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(photos[0].read_bytes()[:2000])
    with pytest.raises(InvalidImageError):
        describer.describe(open_image(truncated))
    with pytest.raises(InvalidImageError):
        open_image(b"not an image at all")


def test_paraphrases_are_closer_than_unrelated_sentences(describer):
    dog, puppy, office = describer.embed_text(
        ["A dog runs along the beach.", "A puppy is running on the sand by the sea.", "A man types on a laptop in an office."])
    assert dog @ puppy > dog @ office + 0.3


def test_describe_accepts_any_image_mode(describer):
    description = describer.describe(Image.new("L", (300, 200), color=128))
    assert description.caption.endswith(".")


def test_a_caption_does_not_depend_on_the_batch(describer, flickr8k_dir):
    # Alone, this photo's beam search finishes early; beside the second (which runs longer) it
    # once kept searching and found another caption.
    photo, longer = (open_image(flickr8k_dir / "images" / name)
                     for name in ("2831723637_30d4456665.jpg", "2090545563_a4e66ec76b.jpg"))
    assert describer.describe_many([photo, longer])[0].caption == describer.describe(photo).caption
