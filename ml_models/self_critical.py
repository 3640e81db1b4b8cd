"""Self-critical sequence training of the captioner (Rennie et al. 2017).

Teacher forcing only ever shows the model the human captions' next words; it never sees a whole
caption of its own. Here the model captions each training photo several times by sampling, each
sample is rewarded with its CIDEr-D plus its BLEU against the photo's references, and the sample's
log-probability is pushed up or down by how far its reward beats the mean reward of the photo's
other samples (the baseline of Luo 2020, which needs no extra greedy decode).
"""

import keras
import numpy as np
import tensorflow as tf

from ml_models.captioner import END, START, Captioner
from ml_models.metrics import CiderD, SentenceBleu


class SelfCriticalTrainer:
    def __init__(self, captioner: Captioner, references: list[list[list[str]]], learning_rate: float = 3e-5,
                 samples: int = 5, seed: int = 0):
        """``references``: each training photo's tokenised human captions, by photo index."""
        self.captioner, self.samples = captioner, samples
        # CIDEr-D rewards what the references agree on, and counts <end> as a word, so a caption cut
        # off mid-phrase scores below a finished one; BLEU is the figure the captioner is judged on.
        self.cider = CiderD([[ref + [END] for ref in refs] for refs in references])
        self.bleu = SentenceBleu(references)
        self.optimizer = keras.optimizers.Adam(learning_rate, clipnorm=5.0)
        self.rng = np.random.default_rng(seed)
        c = captioner.config
        self._gradient_step = tf.function(self._policy_gradient_step, autograph=False, input_signature=[
            tf.TensorSpec((None, c.grid_size, c.grid_size, c.feature_size)), tf.TensorSpec((None, None), tf.int32),
            tf.TensorSpec((None, None), tf.int32), tf.TensorSpec((None,))])

    def train_batch(self, grids: np.ndarray, photos: np.ndarray) -> float:
        """One update from ``samples`` captions of each photo; the mean reward of the samples.
        ``photos``: the indices (into ``references``) of the photos whose ``grids`` these are."""
        tokens = self.captioner.sample(grids, self.samples, self.rng)
        rewards = self._rewards(tokens, np.repeat(photos, self.samples)).reshape(-1, self.samples)
        start = np.full((len(tokens), 1), self.captioner.vocabulary.index[START], dtype=np.int32)
        self._gradient_step(np.repeat(np.asarray(grids, dtype=np.float32), self.samples, axis=0),
                            np.concatenate([start, tokens[:, :-1]], axis=1), tokens,
                            advantages(rewards).ravel())
        self.captioner.weights_changed()
        return float(rewards.mean())

    def _rewards(self, tokens: np.ndarray, photos: np.ndarray) -> np.ndarray:
        words = self.captioner.vocabulary.words
        captions = [[words[t] for t in row if t] for row in tokens]  # each ends with <end>
        return np.array([self.cider.score(caption, photo) + self.bleu.score(caption[:-1], photo)
                         for caption, photo in zip(captions, photos, strict=True)], dtype=np.float32)

    def _policy_gradient_step(self, grids: tf.Tensor, inputs: tf.Tensor, targets: tf.Tensor,
                              sample_advantages: tf.Tensor) -> None:
        model = self.captioner.training
        with tf.GradientTape() as tape:
            # No dropout: the samples were drawn from the model without it.
            log_probs = tf.nn.log_softmax(model([grids, inputs], training=False))
            sampled = tf.gather(log_probs, targets, batch_dims=2)
            in_caption = tf.cast(targets != 0, tf.float32)
            loss = -tf.reduce_sum(sampled * in_caption * sample_advantages[:, None]) / tf.reduce_sum(in_caption)
        gradients = tape.gradient(loss, model.trainable_variables)
        self.optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))


def advantages(rewards: np.ndarray) -> np.ndarray:
    """(photos, samples) rewards -> how far each sample's reward beats its photo's other samples' mean."""
    samples = rewards.shape[1]
    return rewards - (rewards.sum(axis=1, keepdims=True) - rewards) / (samples - 1)
