"""The fast baseline: fitting the character n-gram TF-IDF + logistic regression model.

It exists to be beaten, and to show *how* a model fails: n-grams memorize the
generator's templates (ANCHORS.md: 0.995 on synthetic validation, 0.28 on hand-written
posts), so the gap between it and the encoder on unseen families and on the dev set is
the evidence that the encoder generalizes. It is also the release's second opinion: the
build blends its logits with the encoder's when that scores better on the selection sets
(``train.release``). Scoring and loading live in :mod:`model.ngram_model`, which the
release embeds; this module adds what only training needs: ``fit`` and ``save``.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from model.labels import LABELS
from model.ngram_model import (
    LEGACY_VOCABULARY_FILE,
    META_FILE,
    NGRAM_FORMAT,
    TERM_LENGTHS_ARRAY,
    TERMS_ARRAY,
    WEIGHTS_FILE,
    NgramModel,
)
from model.normalize import normalize


class NgramBaseline(NgramModel):
    """:class:`model.ngram_model.NgramModel` that can be fitted and saved."""

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
        self._counter_cache = None  # a refit must not count with the previous vocabulary
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

    def save(self, directory: Path) -> Path:
        """Write the current format (:data:`model.ngram_model.NGRAM_FORMAT`) into ``directory``."""
        self._check_fitted()
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        terms = self.terms()
        arrays = {
            TERMS_ARRAY: np.array(terms),
            "idf": self.idf_,
            "coef": self.coef_,
            "intercept": self.intercept_,
        }
        if any(term.endswith("\x00") for term in terms):  # a numpy string array drops trailing NULs
            arrays[TERM_LENGTHS_ARRAY] = np.array([len(term) for term in terms], dtype=np.int32)
        meta = {"format": NGRAM_FORMAT, "labels": list(LABELS), "config": self.config.__dict__}
        (directory / META_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")
        (directory / LEGACY_VOCABULARY_FILE).unlink(missing_ok=True)
        write_npz(directory / WEIGHTS_FILE, arrays)
        return directory


#: A fixed timestamp for the npz members, so writing the same arrays twice writes the same bytes.
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def write_npz(path: Path, arrays: Mapping[str, np.ndarray]) -> Path:
    """A compressed npz, byte-identical for identical arrays (``np.savez_compressed`` stamps the time).

    A release is rebuilt by its command and compared file by file with the committed one.
    """
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(arrays):
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(arrays[name]), allow_pickle=False)
            entry = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_TIME)
            archive.writestr(entry, member.getvalue(), compress_type=zipfile.ZIP_DEFLATED)
    Path(path).write_bytes(buffer.getvalue())
    return Path(path)
