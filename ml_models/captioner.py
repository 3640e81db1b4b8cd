"""Show-and-Tell captioner: pooled CNN features set the state of an LSTM language model,
which is decoded with beam search and length normalisation."""

import json
from collections import Counter
from dataclasses import asdict, dataclass
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

    def __len__(self):
        return len(self.words)


@dataclass
class CaptionerConfig:
    feature_size: int = 1280
    embedding_size: int = 256
    units: int = 256
    dropout: float = 0.5
    max_words: int = 18
    beam_size: int = 3
    length_penalty: float = 0.7  # score / length**alpha; tuned on dev
    # "init": the image only sets the LSTM's initial state (Show and Tell); "merge": it also joins
    # the LSTM output at every step before the softmax (Tanti et al. 2018), a stronger image signal
    architecture: str = "init"


class Captioner:
    """Owns three Keras models sharing layers: ``training`` (teacher forcing), ``init`` (image -> LSTM
    state) and ``step`` (one word -> next-word log-probabilities), the last two for beam search."""

    def __init__(self, vocabulary: CaptionVocabulary, config: CaptionerConfig):
        self.vocabulary = vocabulary
        self.config = config
        c = config
        image_dropout = keras.layers.Dropout(c.dropout)
        image_projection = keras.layers.Dense(c.units, activation="relu", name="image_projection")
        initial_h = keras.layers.Dense(c.units, activation="tanh", name="initial_h")
        initial_c = keras.layers.Dense(c.units, name="initial_c")
        embedding = keras.layers.Embedding(len(vocabulary), c.embedding_size, name="word_embedding")
        word_dropout = keras.layers.Dropout(c.dropout)
        lstm = keras.layers.LSTM(c.units, return_sequences=True, return_state=True, name="lstm")
        output_dropout = keras.layers.Dropout(c.dropout)
        next_word = keras.layers.Dense(len(vocabulary), name="next_word")

        features = keras.Input((c.feature_size,), name="features")
        image = image_projection(image_dropout(features))
        state = [initial_h(image), initial_c(image)]
        words = keras.Input((None,), dtype="int32", name="words")
        sequence, _, _ = lstm(word_dropout(embedding(words)), initial_state=state)
        self.merged = c.architecture == "merge"
        if self.merged:
            merge_image = keras.layers.Dense(c.units, name="merge_image")
            merge_hidden = keras.layers.Dense(c.embedding_size, activation="relu", name="merge_hidden")

            def head(lstm_output, image_vector):  # (N, T, units), (N, units) -> (N, T, vocab)
                joined = output_dropout(lstm_output) + keras.ops.expand_dims(merge_image(image_vector), 1)
                return next_word(merge_hidden(joined))
        else:
            def head(lstm_output, image_vector):
                return next_word(output_dropout(lstm_output))
        self.training = keras.Model([features, words], head(sequence, image), name="captioner")
        self.init = keras.Model(features, state + [image])

        last_word = keras.Input((1,), dtype="int32")
        h, c_state, image_in = keras.Input((c.units,)), keras.Input((c.units,)), keras.Input((c.units,))
        out, new_h, new_c = lstm(embedding(last_word), initial_state=[h, c_state])
        log_probs = keras.ops.log_softmax(head(out, image_in)[:, 0])
        step_inputs = [last_word, h, c_state] + ([image_in] if self.merged else [])
        self.step = keras.Model(step_inputs, [log_probs, new_h, new_c])
        # One traced graph each, whatever the batch size, instead of eager layer-by-layer calls.
        # Batch dimensions are declared unknown so that no batch size retraces them.
        state_spec = tf.TensorSpec((None, c.units))
        self._init_fn = tf.function(lambda f: self.init(f, training=False),
                                    autograph=False, input_signature=[tf.TensorSpec((None, c.feature_size))])
        self._step_fn = tf.function(
            lambda w, h, c, i: self.step([w, h, c, i] if self.merged else [w, h, c], training=False),
            autograph=False, input_signature=[tf.TensorSpec((None, 1), tf.int32), state_spec, state_spec, state_spec])

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
    def caption(self, features: np.ndarray, beam_size: int | None = None, length_penalty: float | None = None) -> list[str]:
        """(N, feature_size) pooled features -> N sentences, capitalised, with a full stop."""
        word_lists = self.beam_search(features, beam_size or self.config.beam_size,
                                      self.config.length_penalty if length_penalty is None else length_penalty)
        return [" ".join(words).capitalize() + "." for words in word_lists]

    def beam_search(self, features: np.ndarray, beam_size: int, length_penalty: float) -> list[list[str]]:
        """Batched beam search; a finished hypothesis is ranked by log-probability / length**alpha."""
        images = len(features)
        vocab = len(self.vocabulary)
        h, c, image = (np.repeat(s.numpy(), beam_size, axis=0)
                       for s in self._init_fn(np.asarray(features, dtype=np.float32)))
        tokens = np.full((images, beam_size, 1), self.vocabulary.index[START], dtype=np.int32)
        scores = np.full((images, beam_size), -np.inf, dtype=np.float32)
        scores[:, 0] = 0.0  # all beams start identical: keep only one alive at first
        finished: list[list[tuple[float, list[int]]]] = [[] for _ in range(images)]
        never = [self.vocabulary.index[w] for w in (PAD, START, UNKNOWN)]
        end = self.vocabulary.index[END]
        for length in range(1, self.config.max_words + 2):
            log_probs, h, c = (t.numpy() for t in self._step_fn(tokens[:, :, -1].reshape(-1, 1), h, c, image))
            log_probs[:, never] = -np.inf
            if length > self.config.max_words:  # out of room: only ending is allowed
                log_probs[:, :end] = log_probs[:, end + 1:] = -np.inf
            total = (scores[:, :, None] + log_probs.reshape(images, beam_size, vocab)).reshape(images, -1)
            candidates = np.argsort(-total, axis=1)[:, :2 * beam_size]
            new_tokens = np.zeros((images, beam_size, length + 1), dtype=np.int32)
            new_scores = np.full((images, beam_size), -np.inf, dtype=np.float32)
            parents = np.zeros((images, beam_size), dtype=np.int64)
            for i in range(images):
                alive = 0
                for flat in candidates[i]:
                    score = total[i, flat]
                    if not np.isfinite(score) or alive == beam_size:
                        break
                    parent, word = divmod(int(flat), vocab)
                    if word == end:
                        finished[i].append((score / length ** length_penalty, tokens[i, parent, 1:].tolist()))
                    else:
                        new_tokens[i, alive, :-1] = tokens[i, parent]
                        new_tokens[i, alive, -1] = word
                        new_scores[i, alive] = score
                        parents[i, alive] = parent
                        alive += 1
            rows = (np.arange(images)[:, None] * beam_size + parents).ravel()
            h, c, tokens, scores = h[rows], c[rows], new_tokens, new_scores
            if all(len(f) >= beam_size for f in finished):
                break
        return [[self.vocabulary.words[t] for t in max(f)[1]] if f else [] for f in finished]
