"""Leakage check: runs on the small build and reports figures in [0, 1]."""

from __future__ import annotations

from pathlib import Path

import pytest

from data.build import build_dataset
from eval.leakage import run_leakage, source_check
from model.labels import LABELS


@pytest.fixture(scope="module")
def small_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same shared small build as tests/test_data_build.py (same basetemp path)."""
    root = tmp_path_factory.getbasetemp() / "feedguard_small_build"
    if not (root / "manifest.json").is_file():
        build_dataset(root, "small")
    return root


def test_leakage_on_small_build_reports_scores_in_unit_interval(small_build: Path, tmp_path: Path) -> None:
    report = tmp_path / "leakage.md"
    r = run_leakage(small_build, report_path=report, seed=1, folds=3)
    for v in (r.source_accuracy, r.source_majority, r.source_auc, r.real_normal_flagged):
        assert 0.0 <= v <= 1.0
    assert r.source_majority >= 0.5
    assert set(r.label_macro_f1) == {"validation", "test", "evasion"}
    for split, f1 in r.label_macro_f1.items():
        assert 0.0 <= f1 <= 1.0
        assert set(r.label_f1[split]) == set(LABELS)
    assert r.label_macro_f1["test"] > 0.2  # n-grams must find *some* signal, or the labels are broken
    text = report.read_text(encoding="utf-8")
    assert text == r.markdown
    assert f"{r.source_accuracy:.3f}" in text and f"{r.label_macro_f1['evasion']:.3f}" in text


def test_source_check_needs_both_classes() -> None:
    with pytest.raises(ValueError, match="real"):
        source_check(["今天天气很好"] * 20, [False] * 20, seed=0)
