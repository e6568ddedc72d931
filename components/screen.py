"""The screen: a char n-gram classifier trained beside the LM and run in front of it.

Char 1-4-gram TF-IDF + multinomial logistic regression, fitted in seconds on the LM's
training rows plus up to `extra_per_source_label` of each (source, label) of the
training-split rows the data caps left out (n-grams are cheap to learn; the LM's rows are
capped for time). `ChatModel.label_probs` uses it in two ways (params `model.screen`,
recorded with the model at training):
- cascade: a message the screen gives at least `confidence` for one label is decided by the
  screen alone, and the LM never runs for it;
- blend: for every other message, the probabilities are `(1 - weight) * LM + weight * screen`.
On real held-out chat, a 0.9 cascade with a 0.2 blend spares the LM about half the messages
and raises macro-F1 (docs/quality.md).

Saved as plain arrays in `screen.npz` (n-grams, idf, coefficients), never as a pickle: a
model version from the registry is data, not code.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from chatloop.errors import ChatloopError
from components.labels import LABELS, check_label, message_body

FILE = "screen.npz"
ANALYZER, NGRAMS = "char_wb", (1, 4)


class ScreenError(ChatloopError, ValueError):
    """A screen file that is missing a part or does not fit together."""


def _vectorizer(vocabulary=None):
    from sklearn.feature_extraction.text import TfidfVectorizer
    return TfidfVectorizer(analyzer=ANALYZER, ngram_range=NGRAMS, sublinear_tf=True,
                           vocabulary=vocabulary, dtype=np.float32)


class Screen:
    """TF-IDF features and a linear layer over LABELS; `probs` is an (n, 4) array."""

    def __init__(self, ngrams: Sequence[str], idf: np.ndarray, coef: np.ndarray,
                 intercept: np.ndarray):
        if not (len(ngrams) == len(idf) == coef.shape[1]) or coef.shape[0] != len(LABELS) \
                or intercept.shape != (len(LABELS),):
            raise ScreenError(f"screen parts do not fit: {len(ngrams)} n-grams, {len(idf)} idf, "
                              f"coefficients {coef.shape}, intercept {intercept.shape}")
        self.ngrams = list(ngrams)
        self.vectorizer = _vectorizer({g: i for i, g in enumerate(self.ngrams)})
        self.vectorizer.idf_ = np.asarray(idf, dtype=np.float64)
        self.coef = np.asarray(coef, dtype=np.float32)
        self.intercept = np.asarray(intercept, dtype=np.float32)

    @classmethod
    def fit(cls, texts: Sequence[str], labels: Sequence[str], max_features: int, c: float,
            seed: int) -> "Screen":
        """Fit on messages as sent (message_body applied here) and their labels."""
        from sklearn.linear_model import LogisticRegression
        if len(texts) != len(labels) or not texts:
            raise ValueError(f"the screen needs texts and labels of one length, got "
                             f"{len(texts)} and {len(labels)}")
        present = sorted({check_label(label) for label in labels})
        vectorizer = _vectorizer()
        vectorizer.max_features = int(max_features)
        features = vectorizer.fit_transform([message_body(t) for t in texts])
        clf = LogisticRegression(C=float(c), max_iter=2000, class_weight="balanced",
                                 random_state=int(seed))
        clf.fit(features, list(labels))
        # A label absent from training gets a constant very low score.
        coef = np.zeros((len(LABELS), features.shape[1]), dtype=np.float32)
        intercept = np.full(len(LABELS), -30.0, dtype=np.float32)
        rows = clf.coef_ if len(present) > 2 else np.vstack([-clf.coef_[0], clf.coef_[0]]) / 2
        bias = clf.intercept_ if len(present) > 2 else np.array([-1, 1]) * clf.intercept_[0] / 2
        for row, b, label in zip(rows, bias, clf.classes_):
            coef[LABELS.index(label)] = row
            intercept[LABELS.index(label)] = b
        ngrams = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.get)
        return cls(ngrams, vectorizer.idf_, coef, intercept)

    def probs(self, texts: Sequence[str]) -> np.ndarray:
        """Label probabilities of messages as sent, columns in LABELS order."""
        if not len(texts):
            return np.zeros((0, len(LABELS)), dtype=np.float32)
        features = self.vectorizer.transform([message_body(t) for t in texts])
        logits = np.asarray(features @ self.coef.T) + self.intercept
        logits -= logits.max(1, keepdims=True)
        odds = np.exp(logits)
        return (odds / odds.sum(1, keepdims=True)).astype(np.float32)

    def save(self, model_dir: str | Path) -> Path:
        path = Path(model_dir) / FILE
        np.savez_compressed(path, ngrams=np.array(self.ngrams, dtype=str),
                            idf=self.vectorizer.idf_, coef=self.coef, intercept=self.intercept)
        return path

    @classmethod
    def load(cls, model_dir: str | Path) -> "Screen":
        path = Path(model_dir) / FILE
        try:
            with np.load(path, allow_pickle=False) as parts:
                return cls(parts["ngrams"].tolist(), parts["idf"], parts["coef"], parts["intercept"])
        except FileNotFoundError:
            raise ScreenError(f"{path} is missing; the model's chatloop.json names a screen") from None
        except (KeyError, ValueError) as exc:
            raise ScreenError(f"{path} is not a chatloop screen: {exc}") from None


def combine(screen_probs: np.ndarray, lm, confidence: float, weight: float) -> tuple[np.ndarray, np.ndarray]:
    """(final probabilities, mask of the rows the LM scored): rows whose screen maximum is
    at least `confidence` keep the screen's; `lm(indices)` scores the rest, blended. A row
    `lm` returns as NaN (not scored: out of time) keeps the screen's too."""
    sure = screen_probs.max(1) >= confidence if len(screen_probs) else np.zeros(0, dtype=bool)
    out = screen_probs.copy()
    used = ~sure
    rest = np.flatnonzero(used)
    if len(rest):
        scored = lm(rest)
        done = ~np.isnan(scored).any(1)
        out[rest[done]] = (1.0 - weight) * scored[done] + weight * screen_probs[rest[done]]
        used[rest[~done]] = False
    return out, used
