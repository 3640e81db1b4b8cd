"""Evaluation measures: corpus BLEU, multi-label F1 / mAP, and retrieval recall@K."""

import math
from collections import Counter

import numpy as np


def _ngrams(tokens: list[str], n: int) -> Counter:
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def corpus_bleu(hypotheses: list[list[str]], references: list[list[list[str]]], max_n: int = 4) -> dict[str, float]:
    """Papineni et al. corpus BLEU-1..max_n: clipped n-gram counts summed over the corpus,
    brevity penalty against the reference closest in length (as nltk does)."""
    totals = _BleuCounts(max_n)
    for hypothesis, refs in zip(hypotheses, references, strict=False):
        totals.add(hypothesis, refs, _reference_ngram_counts(refs, max_n))
    return totals.scores()


class SentenceBleu:
    """The mean of BLEU-1..4 of one caption against its photo's references, whose n-gram counts are
    gathered once: a training reward that follows the figure the captioner is judged on."""

    def __init__(self, references: list[list[list[str]]], max_n: int = 4):
        self.max_n = max_n
        self._references = [(refs, _reference_ngram_counts(refs, max_n)) for refs in references]

    def score(self, tokens: list[str], photo: int) -> float:
        counts = _BleuCounts(self.max_n)
        counts.add(tokens, *self._references[photo])
        scores = counts.scores()
        return sum(scores.values()) / len(scores)


def _reference_ngram_counts(refs: list[list[str]], max_n: int) -> list[Counter]:
    """Per order, each n-gram's largest count in any one reference (what a hypothesis is clipped to)."""
    most: list[Counter] = [Counter() for _ in range(max_n)]
    for ref in refs:
        for n in range(1, max_n + 1):
            most[n - 1] |= _ngrams(ref, n)
    return most


class _BleuCounts:
    """Clipped n-gram matches, n-gram totals and lengths, summed over the hypotheses added."""

    def __init__(self, max_n: int):
        self.max_n = max_n
        self.matches, self.totals = [0] * max_n, [0] * max_n
        self.hypothesis_length = self.reference_length = 0

    def add(self, hypothesis: list[str], refs: list[list[str]], reference_counts: list[Counter]) -> None:
        self.hypothesis_length += len(hypothesis)
        self.reference_length += min((abs(len(r) - len(hypothesis)), len(r)) for r in refs)[1]
        for n in range(1, self.max_n + 1):
            clip = reference_counts[n - 1]
            self.matches[n - 1] += sum(min(c, clip[g]) for g, c in _ngrams(hypothesis, n).items())
            self.totals[n - 1] += max(len(hypothesis) - n + 1, 0)

    def scores(self) -> dict[str, float]:
        brevity = (1.0 if self.hypothesis_length > self.reference_length
                   else math.exp(1 - self.reference_length / max(self.hypothesis_length, 1)))
        scores = {}
        log_precision_sum = 0.0
        for n in range(1, self.max_n + 1):
            precision = self.matches[n - 1] / self.totals[n - 1] if self.totals[n - 1] else 0.0
            log_precision_sum += math.log(precision) if precision > 0 else -math.inf
            scores[f"bleu{n}"] = brevity * math.exp(log_precision_sum / n)
        return scores


def multilabel_scores(labels: np.ndarray, scores: np.ndarray, threshold: float | np.ndarray) -> dict[str, float]:
    """Micro and macro F1 at ``threshold``, and mAP (mean over tags with a positive of average precision)."""
    predicted = scores >= threshold
    true_pos = (predicted & labels).sum(axis=0)
    false_pos = (predicted & ~labels).sum(axis=0)
    false_neg = (~predicted & labels).sum(axis=0)
    micro = 2 * true_pos.sum() / max(2 * true_pos.sum() + false_pos.sum() + false_neg.sum(), 1)
    per_tag_f1 = 2 * true_pos / np.maximum(2 * true_pos + false_pos + false_neg, 1)
    present = labels.any(axis=0)
    return {
        "micro_f1": float(micro),
        "macro_f1": float(per_tag_f1[present].mean()),
        "map": float(np.mean([average_precision(labels[:, t], scores[:, t]) for t in np.flatnonzero(present)])),
    }


def average_precision(relevant: np.ndarray, scores: np.ndarray) -> float:
    order = np.argsort(-scores, kind="stable")
    hits = relevant[order]
    precision_at_hit = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float(precision_at_hit[hits].mean())


def recall_at_k(similarity: np.ndarray, target: np.ndarray, ks: tuple[int, ...] = (1, 5, 10)) -> dict[str, float]:
    """similarity: (queries, items); target: (queries,) index of the right item for each query."""
    target_score = similarity[np.arange(len(target)), target]
    rank = (similarity > target_score[:, None]).sum(axis=1)
    return {f"r@{k}": float((rank < k).mean()) for k in ks}


class CiderD:
    """CIDEr-D (Vedantam et al. 2015) of a caption against its photo's references: per n-gram
    order 1..4, the cosine of TF-IDF vectors with the caption's counts clipped to the reference's,
    damped by a Gaussian on the length difference, averaged over references and orders, x10.
    Document frequencies come from the reference sets given (one document per photo)."""

    sigma = 6.0

    def __init__(self, references: list[list[list[str]]], max_n: int = 4):
        self.max_n = max_n
        document_frequency = Counter(gram for refs in references
                                     for gram in {g for ref in refs for g in self._all_ngrams(ref)})
        self._log_documents = math.log(len(references))
        self._log_frequency = {gram: math.log(count) for gram, count in document_frequency.items()}
        self._references = [[self._vectors(ref) for ref in refs] for refs in references]

    def _all_ngrams(self, tokens: list[str]) -> Counter:
        return sum((_ngrams(tokens, n) for n in range(1, self.max_n + 1)), Counter())

    def _vectors(self, tokens: list[str]) -> tuple[list[dict], list[float], int]:
        """Per order: TF-IDF weights by n-gram and their norm; and the length."""
        weights: list[dict] = [{} for _ in range(self.max_n)]
        for gram, count in self._all_ngrams(tokens).items():
            # An n-gram no reference holds gets the largest idf (document frequency 1).
            weights[len(gram) - 1][gram] = count * (self._log_documents - self._log_frequency.get(gram, 0.0))
        return weights, [math.sqrt(sum(w * w for w in order.values())) for order in weights], len(tokens)

    def score(self, tokens: list[str], photo: int) -> float:
        weights, norms, length = self._vectors(tokens)
        total = 0.0
        for ref_weights, ref_norms, ref_length in self._references[photo]:
            damping = math.exp(-((length - ref_length) ** 2) / (2 * self.sigma ** 2))
            for order in range(self.max_n):
                if norms[order] and ref_norms[order]:
                    ref = ref_weights[order]
                    overlap = sum(min(w, ref[g]) * ref[g] for g, w in weights[order].items() if g in ref)
                    total += damping * overlap / (norms[order] * ref_norms[order])
        return 10.0 * total / (self.max_n * len(self._references[photo]))
