"""Character n-gram TF-IDF + one logistic regression per label: the scoring half.

A release blends these logits with the encoder's (:mod:`model.text_ensemble`) when its build's
blend step gives them weight: n-grams remember the exact selling phrases the encoder's pooled
vector blurs, and on the held-out splits the blend beat either model alone for the releases before r23
(train/RELEASES.md, "Why a blend"); r23, trained on the retired holdouts as well, gave it weight 0
and ships no n-gram files. The same model is every build's baseline. Training lives in
``train.baseline``, which writes the files this module reads: JSON (settings) + npz (the
vocabulary's n-grams in feature order, idf, weights), no pickle, so a release never runs code it
loads. Format 1 kept the vocabulary as a JSON object beside the npz, 3.7 of a release's MB for
200,000 n-grams; format 2 stores them as one array in the compressed npz (0.6 MB). Releases in
git history are format 1 and are still read (``feedguard model cascade`` composes them).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from model.labels import LABELS
from model.normalize import PostText, normalized

NGRAM_FORMAT = "feedguard-ngram-baseline/2"
#: The format that kept the vocabulary in its own JSON file (:data:`LEGACY_VOCABULARY_FILE`); read only.
LEGACY_NGRAM_FORMAT = "feedguard-ngram-baseline/1"
META_FILE = "baseline.json"
LEGACY_VOCABULARY_FILE = "vocabulary.json"
WEIGHTS_FILE = "weights.npz"
#: The npz member holding the vocabulary: n-gram ``i`` is feature ``i``.
TERMS_ARRAY = "terms"
#: Present only when some n-gram ends in NUL (a post held one), which a numpy string array drops.
TERM_LENGTHS_ARRAY = "term_lengths"
#: The files every saved model has, all of which a release must hash.
NGRAM_FILES = (META_FILE, WEIGHTS_FILE)


@dataclass(frozen=True)
class NgramConfig:
    """Hyper-parameters; defaults are the usual strong choices for Chinese char n-grams."""

    ngram_min: int = 1
    ngram_max: int = 3
    min_df: int = 2
    max_features: int = 200_000
    C: float = 4.0
    max_iter: int = 2000


class NgramModel:
    """TF-IDF over normalized character n-grams, then a logistic regression per label."""

    def __init__(self, config: NgramConfig | None = None) -> None:
        self.config = config or NgramConfig()
        self.vocabulary_: dict[str, int] | None = None
        self.idf_: np.ndarray | None = None
        self.coef_: np.ndarray | None = None  # (len(LABELS), n_features)
        self.intercept_: np.ndarray | None = None  # (len(LABELS),)
        self._counter_cache = None

    def _counter(self):
        """The counting vectorizer over the stored vocabulary, built once.

        Checking a 160k-entry vocabulary takes about half a second, so doing it per call
        would make one-post calls (the service's) cost that much.
        """
        from sklearn.feature_extraction.text import CountVectorizer

        if self._counter_cache is None:
            c = self.config
            counter = CountVectorizer(
                analyzer="char",
                ngram_range=(c.ngram_min, c.ngram_max),
                lowercase=True,
                vocabulary=self.vocabulary_,
            )
            self._counter_cache = counter.fit([""])  # checks the fixed vocabulary once; learns nothing
        return self._counter_cache

    def _features(self, texts: Sequence[PostText]):
        """Sublinear TF x IDF, L2-normalized rows (what TfidfVectorizer computes, from stored arrays)."""
        from sklearn.preprocessing import normalize as l2_normalize

        counts = self._counter().transform([normalized(t).text for t in texts]).astype(np.float64)
        counts.data = 1.0 + np.log(counts.data)
        counts = counts.multiply(self.idf_).tocsr()
        return l2_normalize(counts, norm="l2", copy=False)

    def _check_fitted(self) -> None:
        if self.vocabulary_ is None or self.coef_ is None:
            raise ValueError(
                f"This {type(self).__name__} is not fitted yet; fit it (train.baseline) or load() a saved one."
            )

    def decision_function(self, texts: Sequence[PostText]) -> np.ndarray:
        """Logits, ``(n, len(LABELS))``, float32.

        float32 like the encoder's and like the build's saved predictions: policy thresholds sit
        exactly on a selection post's score, so serving must reproduce the build's numbers to
        the bit, or that post's decision flips between the model card and ``feedguard eval``.
        """
        self._check_fitted()
        if len(texts) == 0:
            return np.zeros((0, len(LABELS)), dtype=np.float32)
        return (np.asarray(self._features(texts) @ self.coef_.T) + self.intercept_).astype(np.float32)

    def predict_proba(self, texts: Sequence[PostText]) -> np.ndarray:
        """Sigmoid probabilities, ``(n, len(LABELS))``."""
        return 1.0 / (1.0 + np.exp(-self.decision_function(texts)))

    @classmethod
    def load(cls, directory: Path):
        """Read a saved model (``train.baseline.NgramBaseline.save``); a clear error when the folder is not one."""
        directory = Path(directory)
        meta_path = directory / META_FILE
        if not meta_path.is_file():
            raise ValueError(
                f"The 'directory' parameter of {cls.__name__}.load must hold {META_FILE}; got {str(directory)!r}."
            )
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        formats = (NGRAM_FORMAT, LEGACY_NGRAM_FORMAT)
        if meta.get("format") not in formats or tuple(meta.get("labels", ())) != LABELS:
            raise ValueError(
                f"{str(meta_path)!r} is not an n-gram model for labels {LABELS} (format {' or '.join(formats)})."
            )
        model = cls(NgramConfig(**meta["config"]))
        with np.load(directory / WEIGHTS_FILE, allow_pickle=False) as arrays:
            model.idf_, model.coef_, model.intercept_ = arrays["idf"], arrays["coef"], arrays["intercept"]
            if meta["format"] == NGRAM_FORMAT:
                terms = arrays[TERMS_ARRAY].tolist()
                if TERM_LENGTHS_ARRAY in arrays.files:
                    lengths = arrays[TERM_LENGTHS_ARRAY].tolist()
                    terms = [t + "\x00" * (n - len(t)) for t, n in zip(terms, lengths, strict=True)]
                model.vocabulary_ = {term: i for i, term in enumerate(terms)}
        if meta["format"] == LEGACY_NGRAM_FORMAT:
            model.vocabulary_ = json.loads((directory / LEGACY_VOCABULARY_FILE).read_text(encoding="utf-8"))
        return model

    def terms(self) -> list[str]:
        """The vocabulary's n-grams in feature order (what format 2 stores)."""
        self._check_fitted()
        terms = sorted(self.vocabulary_, key=self.vocabulary_.__getitem__)
        if [self.vocabulary_[t] for t in terms] != list(range(len(terms))):
            raise ValueError(f"This {type(self).__name__}'s vocabulary does not number its n-grams 0..n-1.")
        return terms
