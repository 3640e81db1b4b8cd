"""Attention captioner: an LSTM language model over the CNN's feature grid, decoded with beam
search and length normalisation."""

import json
from collections import Counter
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from ml_models.dataset import tokenize
from ml_models.weights_io import load_weights, save_weights

PAD, START, END, UNKNOWN = "<pad>", "<start>", "<end>", "<unk>"
WEIGHTS_FILE = "captioner.npz"
CONFIG_FILE = "captioner.json"


class CaptionVocabulary:
    """Words seen at least ``min_count`` times in training captions; id 0 is padding."""

    def __init__(self, words: list[str]):
        self.words = words
        self.index = {w: i for i, w in enumerate(words)}

    @classmethod
    def from_captions(cls, captions: list[str], min_count: int = 5) -> "CaptionVocabulary":
        counts = Counter(word for caption in captions for word in tokenize(caption))
        frequent = sorted(w for w, c in counts.items() if c >= min_count)
        return cls([PAD, START, END, UNKNOWN] + frequent)

    def encode(self, caption: str, max_words: int) -> list[int]:
        words = tokenize(caption)[:max_words]
        unknown = self.index[UNKNOWN]
        return [self.index[START]] + [self.index.get(w, unknown) for w in words] + [self.index[END]]

    def __len__(self) -> int:
        return len(self.words)


@dataclass
class CaptionerConfig:
    feature_size: int = 1280
    grid_size: int = 7
    embedding_size: int = 256
    units: int = 256
    dropout: float = 0.5
    max_words: int = 18
    beam_size: int = 3
    length_penalty: float = 0.7  # score / length**alpha; tuned on dev


def _attend(query: keras.KerasTensor, keys: keras.KerasTensor, values: keras.KerasTensor) -> keras.KerasTensor:
    """Scaled dot-product attention of each step's query over the grid cells:
    (N, T, d), (N, cells, d), (N, cells, d) -> (N, T, d)."""
    scores = keras.ops.matmul(query, keras.ops.transpose(keys, (0, 2, 1))) / float(keys.shape[-1]) ** 0.5
    return keras.ops.matmul(keras.ops.softmax(scores, axis=-1), values)


class Captioner:
    """CNN grid + LSTM with spatial attention: the mean of the grid sets the LSTM's initial state;
    at each step the LSTM output attends over the 7x7 grid cells (Lu et al. 2017, attention driven by
    the current hidden state) and the output, the attended context and the whole-image vector are
    merged before the softmax (Tanti et al. 2018).

    Owns two Keras models sharing layers: ``training`` (teacher forcing) and ``image_side`` (grid ->
    initial LSTM state, merged image vector, attention keys and values) for beam search, whose
    word steps run in NumPy (``_DecoderStep``)."""

    def __init__(self, vocabulary: CaptionVocabulary, config: CaptionerConfig):
        self.vocabulary = vocabulary
        self.config = config
        c = config
        cells = c.grid_size * c.grid_size
        cell_norm = keras.layers.LayerNormalization(name="cell_norm")
        image_dropout = keras.layers.Dropout(c.dropout)
        image_projection = keras.layers.Dense(c.units, activation="relu", name="image_projection")
        attention_keys = keras.layers.Dense(c.units, name="attention_keys")
        attention_values = keras.layers.Dense(c.units, name="attention_values")
        attention_query = keras.layers.Dense(c.units, name="attention_query")
        initial_h = keras.layers.Dense(c.units, activation="tanh", name="initial_h")
        initial_c = keras.layers.Dense(c.units, name="initial_c")
        embedding = keras.layers.Embedding(len(vocabulary), c.embedding_size, name="word_embedding")
        word_dropout = keras.layers.Dropout(c.dropout)
        lstm = keras.layers.LSTM(c.units, return_sequences=True, return_state=True, name="lstm")
        output_dropout = keras.layers.Dropout(c.dropout)
        merge_image = keras.layers.Dense(c.units, name="merge_image")
        merge_context = keras.layers.Dense(c.units, name="merge_context")
        merge_hidden = keras.layers.Dense(c.embedding_size, activation="relu", name="merge_hidden")
        next_word = keras.layers.Dense(len(vocabulary), name="next_word")

        def head(lstm_output: keras.KerasTensor, image_vector: keras.KerasTensor, keys: keras.KerasTensor,
                 values: keras.KerasTensor) -> keras.KerasTensor:  # (N, T, units) ... -> (N, T, vocab)
            context = _attend(attention_query(lstm_output), keys, values)
            joined = (output_dropout(lstm_output) + merge_context(context)
                      + keras.ops.expand_dims(merge_image(image_vector), 1))
            return next_word(merge_hidden(joined))

        grid = keras.Input((c.grid_size, c.grid_size, c.feature_size), name="grid")
        normed = cell_norm(keras.layers.Reshape((cells, c.feature_size))(grid))
        dropped = image_dropout(normed)
        image = image_projection(keras.ops.mean(dropped, axis=1))
        keys, values = attention_keys(dropped), attention_values(dropped)
        state = [initial_h(image), initial_c(image)]
        words = keras.Input((None,), dtype="int32", name="words")
        sequence, _, _ = lstm(word_dropout(embedding(words)), initial_state=state)
        self.training = keras.Model([grid, words], head(sequence, image, keys, values), name="captioner")
        self.image_side = keras.Model(grid, state + [merge_image(image), keys, values])
        # One traced graph for any batch size (declared unknown, so no batch size retraces it)
        # instead of eager layer-by-layer calls.
        self._image_side_fn = tf.function(
            lambda g: self.image_side(g, training=False), autograph=False,
            input_signature=[tf.TensorSpec((None, c.grid_size, c.grid_size, c.feature_size))])

    # -- persistence -------------------------------------------------------------------------
    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        save_weights(self.training, directory / WEIGHTS_FILE)
        (directory / CONFIG_FILE).write_text(json.dumps({"config": asdict(self.config), "words": self.vocabulary.words}))

    @classmethod
    def load(cls, directory: Path) -> "Captioner":
        stored = json.loads((directory / CONFIG_FILE).read_text())
        captioner = cls(CaptionVocabulary(stored["words"]), CaptionerConfig(**stored["config"]))
        load_weights(captioner.training, directory / WEIGHTS_FILE)
        return captioner

    # -- inference ---------------------------------------------------------------------------
    @cached_property
    def _decoder_step(self) -> "_DecoderStep":
        # The weights are copied out once (the copy costs as much as a word step), not per call.
        return _DecoderStep(self.training)

    def weights_changed(self) -> None:
        """Training calls this after it moves the weights, so the next caption reads them afresh."""
        self.__dict__.pop("_decoder_step", None)

    @cached_property
    def _articles(self) -> list[int]:
        return [self.vocabulary.index[w] for w in ("a", "an", "the") if w in self.vocabulary.index]

    @cached_property
    def _never_said(self) -> list[int]:
        return [self.vocabulary.index[w] for w in (PAD, START, UNKNOWN)]

    def _image_side_rows(self, grids: np.ndarray, copies: int) -> list[np.ndarray]:
        """The image side of each photo, repeated ``copies`` times (a row per beam or sample)."""
        return [np.repeat(s.numpy(), copies, axis=0) for s in self._image_side_fn(np.asarray(grids, dtype=np.float32))]

    def caption(self, grids: np.ndarray, beam_size: int | None = None, length_penalty: float | None = None) -> list[str]:
        """(N, 7, 7, feature_size) encoder grids -> N sentences, capitalised, with a full stop."""
        word_lists = self.beam_search(grids, beam_size or self.config.beam_size,
                                      self.config.length_penalty if length_penalty is None else length_penalty)
        return [" ".join(words).capitalize() + "." for words in word_lists]

    def beam_search(self, grids: np.ndarray, beam_size: int, length_penalty: float) -> list[list[str]]:
        """Batched beam search; a finished hypothesis is ranked by log-probability / length**alpha.
        A photo stops searching once it has ``beam_size`` finished hypotheses, so its caption does
        not depend on the rest of the batch (and its rows leave the batch)."""
        vocab = len(self.vocabulary)
        h, c, merged_image, keys, values = self._image_side_rows(grids, beam_size)
        searching = np.arange(len(grids))  # the photos still searching, in the order of the rows
        tokens = np.full((len(grids), beam_size, 1), self.vocabulary.index[START], dtype=np.int32)
        scores = np.full((len(grids), beam_size), -np.inf, dtype=np.float32)
        scores[:, 0] = 0.0  # all beams start identical: keep only one alive at first
        finished: list[list[tuple[float, list[int]]]] = [[] for _ in range(len(grids))]
        end = self.vocabulary.index[END]
        for length in range(1, self.config.max_words + 2):
            log_probs, h, c = self._decoder_step(tokens[:, :, -1].ravel(), h, c, merged_image, keys, values)
            log_probs[:, self._never_said] = -np.inf
            _forbid_repetition(log_probs, tokens.reshape(len(log_probs), -1)[:, 1:], self._articles)
            if length > self.config.max_words:  # out of room: only ending is allowed
                log_probs[:, :end] = log_probs[:, end + 1:] = -np.inf
            photos = len(searching)
            total = (scores[:, :, None] + log_probs.reshape(photos, beam_size, vocab)).reshape(photos, -1)
            best = np.argpartition(-total, 2 * beam_size - 1, axis=1)[:, :2 * beam_size]
            candidates = np.take_along_axis(best, np.argsort(-np.take_along_axis(total, best, 1), axis=1), 1)
            new_tokens = np.zeros((photos, beam_size, length + 1), dtype=np.int32)
            new_scores = np.full((photos, beam_size), -np.inf, dtype=np.float32)
            parents = np.zeros((photos, beam_size), dtype=np.int64)
            for row, photo in enumerate(searching):
                alive = 0
                for flat in candidates[row]:
                    score = total[row, flat]
                    if not np.isfinite(score) or alive == beam_size:
                        break
                    parent, word = divmod(int(flat), vocab)
                    if word == end:
                        finished[photo].append((score / length ** length_penalty, tokens[row, parent, 1:].tolist()))
                    else:
                        new_tokens[row, alive, :-1] = tokens[row, parent]
                        new_tokens[row, alive, -1] = word
                        new_scores[row, alive] = score
                        parents[row, alive] = parent
                        alive += 1
            beam_rows = (np.arange(photos)[:, None] * beam_size + parents).ravel()
            h, c, tokens, scores = h[beam_rows], c[beam_rows], new_tokens, new_scores
            still_searching = np.array([len(finished[photo]) < beam_size for photo in searching])
            if not still_searching.any():
                break
            if not still_searching.all():
                kept_rows = np.repeat(still_searching, beam_size)
                h, c, merged_image, keys, values = (a[kept_rows] for a in (h, c, merged_image, keys, values))
                searching, tokens, scores = (a[still_searching] for a in (searching, tokens, scores))
        return [[self.vocabulary.words[t] for t in max(f)[1]] if f else [] for f in finished]

    def sample(self, grids: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
        """``count`` captions per photo drawn word by word from the model (self-critical training):
        (N * count, max_words + 1) word ids, a photo's samples in consecutive rows, each ending with
        <end> and then padding."""
        h, c, merged_image, keys, values = self._image_side_rows(grids, count)
        end, length = self.vocabulary.index[END], self.config.max_words + 1
        tokens = np.zeros((len(h), length), dtype=np.int32)
        words = np.full(len(h), self.vocabulary.index[START], dtype=np.int32)
        ended = np.zeros(len(h), dtype=bool)
        for position in range(length):
            log_probs, h, c = self._decoder_step(words, h, c, merged_image, keys, values)
            log_probs[:, self._never_said] = -np.inf
            # Gumbel-max: the argmax of log-probabilities plus Gumbel noise is a draw from them.
            words = (np.full(len(h), end, dtype=np.int32) if position == length - 1
                     else np.argmax(log_probs + rng.gumbel(size=log_probs.shape), axis=1).astype(np.int32))
            tokens[~ended, position] = words[~ended]
            ended |= words == end
            if ended.all():
                break
        return tokens


def _forbid_repetition(log_probs: np.ndarray, words: np.ndarray, articles: list[int]) -> None:
    """Forbid each hypothesis the next words that would repeat one of its three-word phrases ("in a
    bathtub in a bathtub") or, after an article, one of its article-noun pairs ("riding a bike on a
    bike"): a beam otherwise keeps a repetition whose words each score well. ``words``: (rows, length)."""
    length = words.shape[1]
    if length >= 3:
        # Earlier bigrams (w_i, w_i+1) equal to the last one: w_i+2 would repeat a trigram.
        earlier = (words[:, :length - 2] == words[:, length - 2:length - 1]) & (words[:, 1:length - 1] == words[:, length - 1:])
        rows, starts = np.nonzero(earlier)
        log_probs[rows, words[rows, starts + 2]] = -np.inf
    if length >= 2:
        for row in np.flatnonzero(np.isin(words[:, -1], articles)):
            before = words[row, :-1]
            log_probs[row, before[1:][before[:-1] == words[row, -1]]] = -np.inf


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (np.tanh(0.5 * x) + 1.0)


class _DecoderStep:
    """One word step of the trained decoder in NumPy, with the Keras layers' current weights: on a
    few beams the maths takes well under a millisecond, a TensorFlow call several (dispatch), and
    a caption takes a dozen steps. Inference only: dropout is the identity."""

    def __init__(self, model: keras.Model):
        def weights(layer_name: str) -> list[np.ndarray]:
            return [np.asarray(w, dtype=np.float32) for w in model.get_layer(layer_name).get_weights()]

        (self.embedding,) = weights("word_embedding")
        self.kernel, self.recurrent_kernel, self.bias = weights("lstm")  # gates in Keras order i, f, c, o
        self.query, self.query_bias = weights("attention_query")
        self.merge_context, self.merge_context_bias = weights("merge_context")
        self.merge_hidden, self.merge_hidden_bias = weights("merge_hidden")
        self.next_word, self.next_word_bias = weights("next_word")

    def __call__(self, words: np.ndarray, h: np.ndarray, c: np.ndarray, merged_image: np.ndarray, keys: np.ndarray,
                 values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(B,) last words, (B, units) LSTM state and merged image vector, (B, cells, units) attention
        keys and values -> (B, vocab) next-word log-probabilities and the new state."""
        gates = self.embedding[words] @ self.kernel + h @ self.recurrent_kernel + self.bias
        input_gate, forget_gate, candidate, output_gate = np.split(gates, 4, axis=1)
        c = _sigmoid(forget_gate) * c + _sigmoid(input_gate) * np.tanh(candidate)
        h = _sigmoid(output_gate) * np.tanh(c)
        query = h @ self.query + self.query_bias
        scores = np.einsum("bd,bkd->bk", query, keys) / np.sqrt(keys.shape[-1])
        attention = np.exp(scores - scores.max(axis=1, keepdims=True))
        context = np.einsum("bk,bkd->bd", attention / attention.sum(axis=1, keepdims=True), values)
        joined = h + context @ self.merge_context + self.merge_context_bias + merged_image
        hidden = np.maximum(joined @ self.merge_hidden + self.merge_hidden_bias, 0.0)
        logits = hidden @ self.next_word + self.next_word_bias
        logits -= logits.max(axis=1, keepdims=True)
        return logits - np.log(np.exp(logits).sum(axis=1, keepdims=True)), h, c
