"""The near-duplicate evaluation scripts: metrics are computed right and the report renders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from eval import near_dup_report
from eval.edit_suite import Original, Query, Suite, evaluate


class _FakeMethod:
    """Matches by image size: enough to check the bookkeeping of TP / FN / FP."""

    name = "fake"

    def index(self, originals: list[Original]) -> None:
        self._by_size = {o.image.size: o.id for o in originals}

    def query(self, image: Image.Image) -> set[str]:
        found = self._by_size.get(image.size)
        return {found} if found else set()


def test_evaluate_counts_true_and_false_matches() -> None:
    a, b = Image.new("RGB", (10, 10)), Image.new("RGB", (20, 20))
    suite = Suite(
        originals=[Original("a", "photo", "a", a), Original("b", "photo", "b", b)],
        queries=[
            Query("a", "jpeg", "photo", a),  # found: TP
            Query("b", "crop", "photo", Image.new("RGB", (5, 5))),  # missed: FN
            Query(None, "none", "payment", b),  # a distractor that matches b: FP
            Query("a", "jpeg", "photo", b),  # wrong original: FN + FP
        ],
        seed=0,
    )
    result = evaluate(suite, _FakeMethod())
    assert result["per_edit"]["jpeg"] == {
        "tp": 1,
        "fn": 1,
        "fp": 1,
        "queries": 2,
        "recall": 0.5,
        "precision": 0.5,
    }
    assert result["per_edit"]["crop"]["recall"] == 0.0 and result["per_edit"]["crop"]["precision"] is None
    assert result["overall"]["tp"] == 1 and result["overall"]["fp"] == 2 and result["overall"]["fn"] == 2
    assert result["per_kind"]["payment"]["fp"] == 1


def test_report_renders_present_sections_and_lists_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(near_dup_report, "REPORTS", tmp_path)
    suite = Suite(
        [Original("a", "photo", "a", Image.new("RGB", (4, 4)))],
        [Query("a", "jpeg", "photo", Image.new("RGB", (4, 4)))],
        0,
    )
    result = evaluate(suite, _FakeMethod())
    payload = {
        "suite": {
            "originals": 1,
            "queries": 1,
            "positive_queries": 1,
            "distractor_queries": 0,
            "styles": 1,
            "contents": 1,
            "seed": 0,
            "screen_size": [540, 960],
            "build_seconds": 0.1,
        },
        "methods": [result],
    }
    (tmp_path / "edit_suite.json").write_text(json.dumps(payload), encoding="utf-8")
    report = near_dup_report.build_report("Findings go here.")
    assert "## Edit suite" in report and "| jpeg | 1.000 | 1.000 |" in report
    assert "Findings go here." in report
    assert "python -m eval.bench_index" in report.split("## Not run yet")[1]
