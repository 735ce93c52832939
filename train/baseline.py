"""The fast baseline: character n-gram TF-IDF + one logistic regression per label.

It exists to be beaten, and to show *how* a model fails: n-grams memorize the
generator's templates (ANCHORS.md: 0.995 on synthetic validation, 0.28 on hand-written
posts), so the gap between it and the encoder on unseen families and on the dev set is
the evidence that the encoder generalizes. It sees the same normalized text as the
encoder. Stored as JSON (vocabulary) + npz (idf, weights): no pickle.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from model.labels import LABELS
from model.normalize import normalize

BASELINE_FORMAT = "feedguard-ngram-baseline/1"


@dataclass(frozen=True)
class BaselineConfig:
    """Hyper-parameters; defaults are the usual strong choices for Chinese char n-grams."""

    ngram_min: int = 1
    ngram_max: int = 3
    min_df: int = 2
    max_features: int = 200_000
    C: float = 4.0
    max_iter: int = 2000


class NgramBaseline:
    """TF-IDF over normalized character n-grams, then a logistic regression per label."""

    def __init__(self, config: BaselineConfig | None = None) -> None:
        self.config = config or BaselineConfig()
        self.vocabulary_: dict[str, int] | None = None
        self.idf_: np.ndarray | None = None
        self.coef_: np.ndarray | None = None  # (len(LABELS), n_features)
        self.intercept_: np.ndarray | None = None  # (len(LABELS),)

    # -------------------------------------------------------------- features
    def _counter(self):
        from sklearn.feature_extraction.text import CountVectorizer

        c = self.config
        return CountVectorizer(
            analyzer="char",
            ngram_range=(c.ngram_min, c.ngram_max),
            lowercase=True,
            vocabulary=self.vocabulary_,
        )

    def _features(self, texts: Sequence[str]):
        """Sublinear TF x IDF, L2-normalized rows (what TfidfVectorizer computes, from stored arrays)."""
        from sklearn.preprocessing import normalize as l2_normalize

        counts = self._counter().transform([normalize(t).text for t in texts]).astype(np.float64)
        counts.data = 1.0 + np.log(counts.data)
        counts = counts.multiply(self.idf_).tocsr()
        return l2_normalize(counts, norm="l2", copy=False)

    # ------------------------------------------------------------------ fit
    def fit(self, texts: Sequence[str], y: np.ndarray) -> NgramBaseline:
        """Fit on raw texts and an ``(n, len(LABELS))`` 0/1 matrix."""
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        y = np.asarray(y)
        if y.shape != (len(texts), len(LABELS)):
            raise ValueError(
                f"The 'y' parameter of NgramBaseline.fit must have shape ({len(texts)}, {len(LABELS)});"
                f" got {y.shape} instead."
            )
        c = self.config
        vec = TfidfVectorizer(
            analyzer="char",
            ngram_range=(c.ngram_min, c.ngram_max),
            min_df=c.min_df,
            max_features=c.max_features,
            sublinear_tf=True,
            lowercase=True,
        )
        vec.fit([normalize(t).text for t in texts])
        self.vocabulary_ = {k: int(v) for k, v in vec.vocabulary_.items()}
        self.idf_ = vec.idf_.astype(np.float64)
        x = self._features(texts)
        coef = np.zeros((len(LABELS), x.shape[1]))
        intercept = np.zeros(len(LABELS))
        for j in range(len(LABELS)):
            column = y[:, j].astype(int)
            if column.min() == column.max():
                # One class only: a constant score, pushed far towards that class.
                intercept[j] = 10.0 if column[0] == 1 else -10.0
                continue
            lr = LogisticRegression(C=c.C, max_iter=c.max_iter, class_weight="balanced")
            lr.fit(x, column)
            coef[j] = lr.coef_[0]
            intercept[j] = lr.intercept_[0]
        self.coef_, self.intercept_ = coef, intercept
        return self

    def _check_fitted(self) -> None:
        if self.vocabulary_ is None or self.coef_ is None:
            raise ValueError(
                "This NgramBaseline is not fitted yet; call fit() or NgramBaseline.load() first."
            )

    def decision_function(self, texts: Sequence[str]) -> np.ndarray:
        """Logits, ``(n, len(LABELS))``."""
        self._check_fitted()
        if len(texts) == 0:
            return np.zeros((0, len(LABELS)))
        return np.asarray(self._features(texts) @ self.coef_.T) + self.intercept_

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Sigmoid probabilities, ``(n, len(LABELS))``."""
        return 1.0 / (1.0 + np.exp(-self.decision_function(texts)))

    # ---------------------------------------------------------------- files
    def save(self, directory: Path) -> Path:
        self._check_fitted()
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        meta = {"format": BASELINE_FORMAT, "labels": list(LABELS), "config": self.config.__dict__}
        (directory / "baseline.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
        (directory / "vocabulary.json").write_text(
            json.dumps(self.vocabulary_, ensure_ascii=False), encoding="utf-8"
        )
        np.savez_compressed(
            directory / "weights.npz", idf=self.idf_, coef=self.coef_, intercept=self.intercept_
        )
        return directory

    @classmethod
    def load(cls, directory: Path) -> NgramBaseline:
        directory = Path(directory)
        meta_path = directory / "baseline.json"
        if not meta_path.is_file():
            raise ValueError(
                f"The 'directory' parameter of NgramBaseline.load must hold baseline.json; got {str(directory)!r}."
            )
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("format") != BASELINE_FORMAT or tuple(meta.get("labels", ())) != LABELS:
            raise ValueError(
                f"{str(meta_path)!r} is not a baseline for labels {LABELS} (format {BASELINE_FORMAT})."
            )
        model = cls(BaselineConfig(**meta["config"]))
        model.vocabulary_ = json.loads((directory / "vocabulary.json").read_text(encoding="utf-8"))
        with np.load(directory / "weights.npz", allow_pickle=False) as arrays:
            model.idf_, model.coef_, model.intercept_ = arrays["idf"], arrays["coef"], arrays["intercept"]
        return model
