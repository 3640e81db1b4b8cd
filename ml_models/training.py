"""Training and evaluation entry points (called by the app's ``flask ml ...`` commands).

Each prints its progress and returns a dict of metrics measured on the dev split.
``data_dir`` is the Flickr8k folder (images/, Flickr8k.token.txt, split lists);
``limit`` trains on the first few images of each split only, for smoke tests.
"""

import math
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import keras
import numpy as np

from ml_models.captioner import Captioner, CaptionerConfig, CaptionVocabulary
from ml_models.dataset import cached_array, load_captions, load_grids, split_ids, tokenize
from ml_models.encoder import DEFAULT_WEIGHTS_DIR, ImageEncoder
from ml_models.hubness import REFERENCE_SIZE, HubnessReference
from ml_models.images import open_image
from ml_models.metrics import corpus_bleu, multilabel_scores, recall_at_k
from ml_models.projection import ImageToTextProjection, ProjectionConfig, symmetric_info_nce
from ml_models.self_critical import SelfCriticalTrainer
from ml_models.tag_vocabulary import image_labels, mine_tags
from ml_models.tagger import PhotoTagger, TaggerConfig
from ml_models.text_embedding import TextEmbedder

if TYPE_CHECKING:
    from ml_models.pipeline import PhotoDescriber

_LENGTH_PENALTIES = (0.0, 0.5, 0.8, 1.1)
_BEAM_SIZES = (3, 5)
_SELF_CRITICAL_PATIENCE = 2  # epochs without a better dev score before stopping


class _SplitFeatures:
    """Pooled (and, when asked, grid) encoder features of one split, plus its captions."""

    def __init__(self, data_dir: Path, split: str, limit: int | None, cache_dir: Path | None, encoder: ImageEncoder,
                 with_flipped: bool = False):
        self.ids = split_ids(data_dir, split, limit)
        captions = load_captions(data_dir)
        self.captions = [captions[i] for i in self.ids]
        self.grids = load_grids(data_dir, self.ids, encoder, cache_dir)
        self.flipped_grids = load_grids(data_dir, self.ids, encoder, cache_dir, flipped=True) if with_flipped else None

    def pooled(self, flipped: bool = False) -> np.ndarray:
        grids = self.flipped_grids if flipped else self.grids
        return np.asarray(grids, dtype=np.float32).mean(axis=(1, 2))


def _scores_line(scores: dict[str, float]) -> str:
    return " ".join(f"{name}={value:.3f}" for name, value in scores.items())


def _encoder_for(encoder: ImageEncoder | None) -> ImageEncoder:
    return encoder or ImageEncoder()


def _some_flipped(features: np.ndarray, flipped_features: np.ndarray | None, images: np.ndarray,
                  rng: np.random.Generator) -> np.ndarray:
    """The features of ``images``, each original or mirrored at random (when mirrored ones are given)."""
    chosen = features[images]
    if flipped_features is None:
        return chosen
    use_flipped = rng.random(len(images)) < 0.5
    return np.where(use_flipped.reshape((-1,) + (1,) * (chosen.ndim - 1)), flipped_features[images], chosen)


class _CaptionBatches(keras.utils.PyDataset):
    """Teacher-forcing batches padded to one fixed length (a single traced training graph),
    with each image's original or mirrored features picked at random."""

    def __init__(self, features: np.ndarray, flipped_features: np.ndarray | None, sequences: list[tuple[int, list[int]]],
                 batch_size: int, length: int, shuffle: bool, seed: int = 0):
        super().__init__()
        self.features, self.flipped_features = features, flipped_features
        self.words = np.zeros((len(sequences), length), dtype=np.int32)
        self.targets = np.zeros((len(sequences), length), dtype=np.int32)
        for row, (_, ids) in enumerate(sequences):
            self.words[row, :len(ids) - 1] = ids[:-1]
            self.targets[row, :len(ids) - 1] = ids[1:]
        self.images = np.array([image for image, _ in sequences])
        self.batch_size, self.shuffle = batch_size, shuffle
        self.rng = np.random.default_rng(seed)
        self.on_epoch_end()

    def on_epoch_end(self) -> None:
        self.order = self.rng.permutation(len(self.images)) if self.shuffle else np.arange(len(self.images))

    def __len__(self) -> int:
        return math.ceil(len(self.images) / self.batch_size)

    def __getitem__(self, index: int) -> tuple:
        rows = self.order[index * self.batch_size:(index + 1) * self.batch_size]
        features = _some_flipped(self.features, self.flipped_features, self.images[rows], self.rng)
        targets = self.targets[rows]
        return (features.astype(np.float32), self.words[rows]), targets, (targets != 0).astype(np.float32)


class _SaveWhenBetter(keras.callbacks.Callback):
    """Writes the model after every epoch that lowers the dev loss, so a long run that has
    to be stopped early still leaves its best weights behind."""

    def __init__(self, save: Callable[[Path], object], directory: Path):
        super().__init__()
        self.save, self.directory, self.best = save, directory, math.inf

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:  # Keras passes the epoch's logs
        if logs["val_loss"] < self.best:
            self.best = logs["val_loss"]
            self.save(self.directory)


def _caption_sequences(vocabulary: CaptionVocabulary, captions_per_image: list[list[str]],
                       max_words: int) -> list[tuple[int, list[int]]]:
    return [(image, vocabulary.encode(caption, max_words))
            for image, captions in enumerate(captions_per_image) for caption in captions]


def train_captioner(data_dir: Path, out_dir: Path = DEFAULT_WEIGHTS_DIR, epochs: int = 30, limit: int | None = None,
                    cache_dir: Path | None = None, batch_size: int = 128, encoder: ImageEncoder | None = None,
                    self_critical_epochs: int = 4) -> dict[str, float]:
    """Train on the train split with teacher forcing, early-stopped on dev loss; then fine-tune
    self-critically (``self_critical_epochs``, kept while dev BLEU rises); tune the beam's size and
    length penalty on dev BLEU (the mean of BLEU-1 and BLEU-4)."""
    encoder = _encoder_for(encoder)
    train = _SplitFeatures(data_dir, "train", limit, cache_dir, encoder, with_flipped=True)
    dev = _SplitFeatures(data_dir, "dev", limit, cache_dir, encoder)
    vocabulary = CaptionVocabulary.from_captions([c for cs in train.captions for c in cs], min_count=1 if limit else 5)
    config = CaptionerConfig(feature_size=encoder.channels)
    print(f"captioner: {len(train.ids)} train / {len(dev.ids)} dev images, {len(vocabulary)} words")
    captioner = Captioner(vocabulary, config)
    captioner.training.compile(
        optimizer=keras.optimizers.Adam(1e-3, clipnorm=5.0),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    train_batches = _CaptionBatches(np.asarray(train.grids), np.asarray(train.flipped_grids),
                                    _caption_sequences(vocabulary, train.captions, config.max_words), batch_size,
                                    config.max_words + 1, shuffle=True)
    dev_batches = _CaptionBatches(np.asarray(dev.grids), None,
                                  _caption_sequences(vocabulary, dev.captions, config.max_words), batch_size,
                                  config.max_words + 1, shuffle=False)
    captioner.training.fit(
        train_batches, validation_data=dev_batches, epochs=epochs, verbose=2,
        callbacks=[keras.callbacks.EarlyStopping(patience=3, restore_best_weights=True),
                   keras.callbacks.ReduceLROnPlateau(factor=0.5, patience=1, min_lr=1e-4),
                   _SaveWhenBetter(captioner.save, Path(out_dir))],
    )
    captioner = _self_critical_training(captioner, train, dev, self_critical_epochs, Path(out_dir))
    return _tune_beam(captioner, dev, Path(out_dir))


def _tune_beam(captioner: Captioner, dev: _SplitFeatures, out_dir: Path) -> dict[str, float]:
    """Choose the beam size and length penalty on dev, save them with the model; their dev BLEU."""
    scores_by_setting = {(beam, alpha): _caption_bleu(captioner, dev, alpha, beam)
                         for beam in _BEAM_SIZES for alpha in _LENGTH_PENALTIES}
    for (beam, alpha), scores in scores_by_setting.items():
        print(f"beam {beam}, length penalty {alpha}: " + _scores_line(scores))
    best = max(scores_by_setting, key=lambda setting: _goal_score(scores_by_setting[setting]))
    captioner.config.beam_size, captioner.config.length_penalty = best
    captioner.save(out_dir)
    return scores_by_setting[best]


def _self_critical_training(captioner: Captioner, train: _SplitFeatures, dev: _SplitFeatures, epochs: int, out_dir: Path,
                            photos_per_batch: int = 50, seed: int = 0) -> Captioner:
    """Self-critical fine-tuning, epoch by epoch while the dev BLEU goal score rises; the best epoch's model."""
    trainer = SelfCriticalTrainer(captioner, [[tokenize(c) for c in cs] for cs in train.captions], seed=seed)
    grids, flipped_grids = np.asarray(train.grids), np.asarray(train.flipped_grids)
    rng = np.random.default_rng(seed)
    best, epochs_without_gain = _goal_score(_caption_bleu(captioner, dev)), 0
    for epoch in range(1, epochs + 1):
        order = rng.permutation(len(grids))
        rewards = [trainer.train_batch(_some_flipped(grids, flipped_grids, photos, rng), photos)
                   for photos in np.array_split(order, math.ceil(len(order) / photos_per_batch))]
        scores = _caption_bleu(captioner, dev)
        print(f"self-critical epoch {epoch}: mean reward of samples {np.mean(rewards):.3f}, dev " +
              _scores_line(scores), flush=True)
        if _goal_score(scores) > best:
            best, epochs_without_gain = _goal_score(scores), 0
            captioner.save(out_dir)
        else:
            epochs_without_gain += 1
            if epochs_without_gain == _SELF_CRITICAL_PATIENCE:
                break
    return Captioner.load(out_dir)


def _goal_score(scores: dict[str, float]) -> float:
    """What model and beam settings are chosen on: the mean of the two figures our goal names."""
    return (scores["bleu1"] + scores["bleu4"]) / 2


def _caption_bleu(captioner: Captioner, split: _SplitFeatures, length_penalty: float | None = None,
                  beam_size: int | None = None) -> dict[str, float]:
    sentences = captioner.caption(split.grids, beam_size=beam_size, length_penalty=length_penalty)
    return corpus_bleu([tokenize(s) for s in sentences], [[tokenize(c) for c in cs] for cs in split.captions])


def evaluate_captioner(data_dir: Path, split: str = "dev", weights_dir: Path | None = None, limit: int | None = None,
                       cache_dir: Path | None = None, encoder: ImageEncoder | None = None) -> dict[str, float]:
    """Corpus BLEU-1..4 of beam-search captions against each image's five human captions."""
    captioner = Captioner.load(Path(weights_dir or DEFAULT_WEIGHTS_DIR))
    scores = _caption_bleu(captioner, _SplitFeatures(data_dir, split, limit, cache_dir, _encoder_for(encoder)))
    print(_scores_line(scores))
    return scores


class _AugmentedBatches(keras.utils.PyDataset):
    """Shuffled (x, y) batches: x from the original or the mirrored features at random; when
    ``targets`` holds several per sample (N, K, ...), one of the K is drawn each time."""

    def __init__(self, features: np.ndarray, flipped_features: np.ndarray, targets: np.ndarray, batch_size: int,
                 several_targets: bool = False, seed: int = 0):
        super().__init__()
        self.features, self.flipped_features, self.targets = features, flipped_features, targets
        self.batch_size, self.several_targets = batch_size, several_targets
        self.rng = np.random.default_rng(seed)
        self.on_epoch_end()

    def on_epoch_end(self) -> None:
        self.order = self.rng.permutation(len(self.features))

    def __len__(self) -> int:
        return math.ceil(len(self.features) / self.batch_size)

    def __getitem__(self, index: int) -> tuple:
        rows = np.sort(self.order[index * self.batch_size:(index + 1) * self.batch_size])
        use_flipped = self.rng.random(len(rows)) < 0.5
        features = np.where(use_flipped.reshape((-1,) + (1,) * (self.features.ndim - 1)),
                            self.flipped_features[rows], self.features[rows]).astype(np.float32)
        targets = self.targets[rows]
        if self.several_targets:
            targets = targets[np.arange(len(rows)), self.rng.integers(targets.shape[1], size=len(rows))]
        return features, targets


def _tag_labels(captions_per_image: list[list[str]], tags: list[str]) -> np.ndarray:
    column = {t: i for i, t in enumerate(tags)}
    labels = np.zeros((len(captions_per_image), len(tags)), dtype=bool)
    for row, captions in enumerate(captions_per_image):
        labels[row, [column[t] for t in image_labels(captions, tags)]] = True
    return labels


def train_tagger(data_dir: Path, out_dir: Path = DEFAULT_WEIGHTS_DIR, epochs: int = 40, limit: int | None = None,
                 cache_dir: Path | None = None, batch_size: int = 64, encoder: ImageEncoder | None = None) -> dict[str, float]:
    """Mine tags from train captions, train the ViT head on train grids (early-stopped on dev loss),
    tune the global threshold on dev micro-F1."""
    encoder = _encoder_for(encoder)
    train = _SplitFeatures(data_dir, "train", limit, cache_dir, encoder, with_flipped=True)
    dev = _SplitFeatures(data_dir, "dev", limit, cache_dir, encoder)
    tags = mine_tags(train.captions, min_images=2 if limit else 25)
    print(f"tagger: {len(train.ids)} train / {len(dev.ids)} dev images, {len(tags)} tags")
    # LayerNorm on the raw grid cells and a mean-of-tokens path next to the class token: without
    # them the 2-block ViT learns far slower than a linear probe on the pooled features
    tagger = PhotoTagger(tags, TaggerConfig(feature_size=encoder.channels, input_norm=True, mean_pool=True))
    tagger.model.compile(optimizer=keras.optimizers.AdamW(1e-3, weight_decay=0.05),
                         loss=keras.losses.BinaryCrossentropy(from_logits=True))
    train_labels = _tag_labels(train.captions, tags).astype(np.float32)
    dev_labels = _tag_labels(dev.captions, tags)
    tagger.model.fit(
        _AugmentedBatches(np.asarray(train.grids), np.asarray(train.flipped_grids), train_labels, batch_size),
        validation_data=(np.asarray(dev.grids, dtype=np.float32), dev_labels.astype(np.float32)),
        epochs=epochs, verbose=2,
        callbacks=[keras.callbacks.EarlyStopping(patience=4, restore_best_weights=True),
                   keras.callbacks.ReduceLROnPlateau(factor=0.5, patience=1, min_lr=5e-5),
                   _SaveWhenBetter(tagger.save, Path(out_dir))],
    )
    scores = tagger.scores(dev.grids)
    by_threshold = {t: multilabel_scores(dev_labels, scores, t) for t in np.arange(0.1, 0.65, 0.05).round(2)}
    tagger.config.threshold = float(max(by_threshold, key=lambda t: by_threshold[t]["micro_f1"]))
    tagger.save(Path(out_dir))
    result = by_threshold[tagger.config.threshold] | {"threshold": tagger.config.threshold}
    print(_scores_line(result))
    return result


def evaluate_tagger(data_dir: Path, split: str = "dev", weights_dir: Path | None = None, limit: int | None = None,
                    cache_dir: Path | None = None, encoder: ImageEncoder | None = None) -> dict[str, float]:
    """Micro/macro F1 at the stored threshold and mAP, against tags found in the five captions."""
    tagger = PhotoTagger.load(Path(weights_dir or DEFAULT_WEIGHTS_DIR))
    features = _SplitFeatures(data_dir, split, limit, cache_dir, _encoder_for(encoder))
    result = multilabel_scores(_tag_labels(features.captions, tagger.tags), tagger.scores(features.grids),
                               tagger.config.threshold)
    print(_scores_line(result))
    return result


def _caption_embeddings(split: _SplitFeatures, cache_dir: Path | None, text_embedder: TextEmbedder) -> np.ndarray:
    """(N, 5, 384) MiniLM embeddings of each image's captions (cached)."""
    def embed_all() -> np.ndarray:
        flat = text_embedder.embed([c for captions in split.captions for c in captions[:5]])
        return flat.reshape(len(split.ids), 5, -1).astype(np.float16)

    return cached_array("minilm_captions", split.ids, embed_all, cache_dir)


def train_projection(data_dir: Path, out_dir: Path = DEFAULT_WEIGHTS_DIR, epochs: int = 60, limit: int | None = None,
                     cache_dir: Path | None = None, batch_size: int = 256,
                     encoder: ImageEncoder | None = None) -> dict[str, float]:
    """Contrastive (symmetric InfoNCE) training of the image -> MiniLM projection, one random
    caption per image and step; early-stopped on dev loss."""
    encoder = _encoder_for(encoder)
    text_embedder = TextEmbedder()
    train = _SplitFeatures(data_dir, "train", limit, cache_dir, encoder, with_flipped=True)
    dev = _SplitFeatures(data_dir, "dev", limit, cache_dir, encoder)
    train_captions = np.asarray(_caption_embeddings(train, cache_dir, text_embedder), dtype=np.float32)
    dev_captions = np.asarray(_caption_embeddings(dev, cache_dir, text_embedder), dtype=np.float32)
    projection = ImageToTextProjection(ProjectionConfig(feature_size=encoder.channels))
    projection.model.compile(optimizer=keras.optimizers.AdamW(1e-3, weight_decay=0.01),
                             loss=symmetric_info_nce(projection.config.temperature))
    print(f"projection: {len(train.ids)} train / {len(dev.ids)} dev images")
    projection.model.fit(
        _AugmentedBatches(train.pooled(), train.pooled(flipped=True), train_captions, batch_size, several_targets=True),
        validation_data=(dev.pooled(), dev_captions[:, 0]), validation_batch_size=batch_size,
        epochs=epochs, verbose=2,
        callbacks=[keras.callbacks.EarlyStopping(patience=5, restore_best_weights=True)],
    )
    projection.save(Path(out_dir))
    return _search_recall(projection, dev, dev_captions)


def build_search_reference(data_dir: str | Path, out_dir: str | Path = DEFAULT_WEIGHTS_DIR, limit: int | None = None,
                           text_embedder: TextEmbedder | None = None) -> dict[str, float]:
    """The captions search measures each photo's hubness against (``ml_models/hubness.py``):
    MiniLM embeddings of the first caption of the first REFERENCE_SIZE train photos, never dev's."""
    captions = load_captions(Path(data_dir))
    ids = split_ids(Path(data_dir), "train", min(limit or REFERENCE_SIZE, REFERENCE_SIZE))
    reference = HubnessReference((text_embedder or TextEmbedder()).embed([captions[image][0] for image in ids]))
    reference.save(Path(out_dir))
    return {"captions": float(len(ids))}


def _search_recall(projection: ImageToTextProjection, split: _SplitFeatures, caption_embeddings: np.ndarray) -> dict[str, float]:
    """Every caption is a query against all of the split's images; recall@K of its own image."""
    images = projection.project(split.pooled())
    queries = np.asarray(caption_embeddings, dtype=np.float32).reshape(-1, images.shape[1])
    result = recall_at_k(queries @ images.T, np.repeat(np.arange(len(images)), caption_embeddings.shape[1]))
    print(_scores_line(result))
    return result


def evaluate_search(data_dir: Path, split: str = "dev", weights_dir: Path | None = None, limit: int | None = None,
                    cache_dir: Path | None = None, encoder: ImageEncoder | None = None) -> dict[str, float]:
    """Text -> image recall@1/5/10 of the projection, human captions as queries."""
    projection = ImageToTextProjection.load(Path(weights_dir or DEFAULT_WEIGHTS_DIR))
    features = _SplitFeatures(data_dir, split, limit, cache_dir, _encoder_for(encoder))
    return _search_recall(projection, features, _caption_embeddings(features, cache_dir, TextEmbedder()))


def describe_files(paths: Iterable[Path], weights_dir: Path | None = None,
                   describer: "PhotoDescriber | None" = None) -> Iterator[dict[str, Any]]:
    """Yield ``{"file", "caption", "tags", "nsfw", "timings_ms"}`` for each image file."""
    from ml_models.pipeline import PhotoDescriber

    describer = describer or PhotoDescriber.load(weights_dir)
    for path in paths:
        description = describer.describe(open_image(path))
        yield {"file": str(path), "caption": description.caption, "tags": description.tags,
               "nsfw": description.nsfw, "timings_ms": description.timings_ms}
