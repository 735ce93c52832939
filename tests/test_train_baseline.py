"""The n-gram baseline: it learns, it round-trips through JSON + npz, and it refuses bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from model.labels import LABELS
from model.ngram_model import (
    LEGACY_NGRAM_FORMAT,
    LEGACY_VOCABULARY_FILE,
    META_FILE,
    NGRAM_FILES,
    WEIGHTS_FILE,
)
from train.baseline import NgramBaseline
from train.dataset import labels_to_matrix

TEXTS = [
    "面膜包邮，私聊下单",
    "加微信下单今天特价",
    "招代理宝妈在家就能做",
    "零门槛加盟月入过万",
    "今天又发了两百单",
    "客户反馈图又来了",
    "周末和家人去爬山",
    "今天做了红烧肉",
] * 3
LABELS_PER_TEXT = [
    ["hard_sell"],
    ["hard_sell"],
    ["recruitment"],
    ["recruitment"],
    ["fake_proof"],
    ["fake_proof"],
    [],
    [],
] * 3


def test_fits_predicts_and_round_trips(tmp_path: Path) -> None:
    y = labels_to_matrix(LABELS_PER_TEXT)
    model = NgramBaseline().fit(TEXTS, y)
    probs = model.predict_proba(TEXTS)
    assert probs.shape == (len(TEXTS), len(LABELS))
    assert ((probs >= 0.5) == (y == 1)).all()
    # Evasion is normalized away before the n-grams: 薇信 reads as 微信.
    evaded = model.predict_proba(["加薇信下单今天特价"])[0]
    assert evaded[LABELS.index("hard_sell")] > 0.5
    model.save(tmp_path / "b")
    assert not list((tmp_path / "b").glob("*.pkl"))
    again = NgramBaseline.load(tmp_path / "b")
    np.testing.assert_allclose(again.predict_proba(TEXTS), probs)


def test_a_label_with_one_class_gets_a_constant_score() -> None:
    y = labels_to_matrix([[], ["hard_sell"]] * 4)
    probs = NgramBaseline().fit(["周末爬山", "面膜包邮"] * 4, y).predict_proba(["随便什么"])
    assert probs[0, LABELS.index("recruitment")] < 0.01


def test_bad_input_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"'y' parameter of NgramBaseline\.fit"):
        NgramBaseline().fit(["a", "b"], np.zeros((3, 3)))
    with pytest.raises(ValueError, match="not fitted"):
        NgramBaseline().predict_proba(["a"])
    with pytest.raises(ValueError, match=r"baseline\.json"):
        NgramBaseline.load(tmp_path)


def test_a_saved_model_is_two_files_written_the_same_each_time_and_a_format_1_folder_still_loads(
    tmp_path: Path,
) -> None:
    model = NgramBaseline().fit(TEXTS, labels_to_matrix(LABELS_PER_TEXT))
    first, second = model.save(tmp_path / "a"), model.save(tmp_path / "b")
    assert sorted(p.name for p in first.iterdir()) == sorted(NGRAM_FILES)
    assert all((first / name).read_bytes() == (second / name).read_bytes() for name in NGRAM_FILES)
    # Format 1, as releases in git history hold it: the vocabulary as a JSON object beside the npz.
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    meta = json.loads((first / META_FILE).read_text(encoding="utf-8")) | {"format": LEGACY_NGRAM_FORMAT}
    (legacy / META_FILE).write_text(json.dumps(meta), encoding="utf-8")
    (legacy / LEGACY_VOCABULARY_FILE).write_text(
        json.dumps(model.vocabulary_, ensure_ascii=False), encoding="utf-8"
    )
    np.savez(legacy / WEIGHTS_FILE, idf=model.idf_, coef=model.coef_, intercept=model.intercept_)
    old = NgramBaseline.load(legacy)
    assert old.vocabulary_ == model.vocabulary_
    np.testing.assert_array_equal(
        old.decision_function(TEXTS), NgramBaseline.load(first).decision_function(TEXTS)
    )
    # Saving what was read from format 1 writes format 2 and drops the old vocabulary file.
    old.save(legacy)
    assert not (legacy / LEGACY_VOCABULARY_FILE).exists()
    assert (legacy / WEIGHTS_FILE).read_bytes() == (first / WEIGHTS_FILE).read_bytes()
    (legacy / META_FILE).write_text(
        json.dumps(meta | {"format": "feedguard-ngram-baseline/9"}), encoding="utf-8"
    )
    with pytest.raises(ValueError, match="is not an n-gram model"):
        NgramBaseline.load(legacy)


def test_an_n_gram_ending_in_nul_survives_saving(tmp_path: Path) -> None:
    texts = [t + ("\x00" if i % 2 else "") for i, t in enumerate(TEXTS)]  # a post may carry a NUL
    model = NgramBaseline().fit(texts, labels_to_matrix(LABELS_PER_TEXT))
    assert any(term.endswith("\x00") for term in model.vocabulary_)
    again = NgramBaseline.load(model.save(tmp_path / "b"))
    assert again.vocabulary_ == model.vocabulary_
    np.testing.assert_array_equal(again.decision_function(texts), model.decision_function(texts))
