"""Text-model metrics on hand-checkable arrays, and the report they feed."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from eval.bench_text import bench_table, wait_for_quiet
from eval.text_metrics import (
    agreement,
    confusion,
    errors_by_group,
    expected_calibration_error,
    flag_rate,
    label_metrics,
    parity,
    per_trick_recall,
    threshold_vector,
    top_scored_negatives,
)
from eval.text_report import EvalSplit, ModelScores, per_label_table, write_text_report
from model.labels import EVASION_TRICKS, LABELS

Y = np.array([[1, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 0], [0, 0, 0]], dtype=float)
P = np.array(
    [[0.9, 0.1, 0.1], [0.4, 0.1, 0.1], [0.2, 0.8, 0.1], [0.1, 0.1, 0.7], [0.6, 0.1, 0.1], [0.1, 0.1, 0.2]]
)


def test_label_metrics_match_a_hand_count() -> None:
    m = label_metrics(Y, P, 0.5)
    hs = m["per_label"]["hard_sell"]
    # hard_sell: TP row 0, FN row 1, FP row 4.
    assert hs["precision"] == pytest.approx(0.5) and hs["recall"] == pytest.approx(0.5) and hs["support"] == 2
    assert m["per_label"]["recruitment"]["f1"] == 1.0 and m["per_label"]["fake_proof"]["f1"] == 1.0
    assert m["macro_f1"] == pytest.approx((0.5 + 1 + 1) / 3)
    # A label threshold per label: raising hard_sell's removes the false positive and the true positive.
    strict = label_metrics(Y, P, {"hard_sell": 0.95, "recruitment": 0.5, "fake_proof": 0.5})
    assert strict["per_label"]["hard_sell"]["recall"] == 0.0


def test_flag_rate_is_the_false_positive_rate_over_normal_rows() -> None:
    assert flag_rate(P, 0.5, Y) == pytest.approx(0.5)  # row 4 of the two normal rows
    assert flag_rate(P, 0.5) == pytest.approx(4 / 6)
    assert np.isnan(flag_rate(P[:1], 0.5, Y[:1]))


def test_per_trick_recall_counts_true_labels_of_posts_with_the_trick() -> None:
    tricks = [("homophone",), ("homophone", "pinyin"), ("pinyin",), (), ("homophone",), ()]
    r = per_trick_recall(Y, P, tricks, 0.5)
    assert r["homophone"] == {"posts": 3, "recall": 0.5}  # rows 0 (found) and 1 (missed); row 4 is normal
    assert r["pinyin"] == {"posts": 2, "recall": 0.5}
    assert set(r) <= set(EVASION_TRICKS) and "digits" not in r


def test_none_threshold_never_fires() -> None:
    vec = threshold_vector({"hard_sell": None, "recruitment": 0.5, "fake_proof": 0.5})
    assert np.isinf(vec[0])
    assert (
        label_metrics(Y, P, {"hard_sell": None, "recruitment": 0.5, "fake_proof": 0.5})["per_label"][
            "hard_sell"
        ]["recall"]
        == 0.0
    )


def test_confusion_parity_agreement_and_ece() -> None:
    cm = confusion(Y, P, 0.5)["hard_sell"]
    np.testing.assert_array_equal(cm, [[3, 1], [1, 1]])
    p = parity(P, P + 0.15, 0.5)  # only row 1's hard_sell (0.40 -> 0.55) crosses the threshold
    assert p["max_abs_diff"] == pytest.approx(0.15) and p["label_decision_agreement"] == pytest.approx(5 / 6)
    assert p["decision_agreement"] == pytest.approx(17 / 18)
    assert agreement(["a", "b"], ["a", "c"]) == 0.5
    rng = np.random.default_rng(0)
    probs = rng.random((20_000, len(LABELS)))
    calibrated = (rng.random(probs.shape) < probs).astype(float)
    assert max(expected_calibration_error(probs, calibrated).values()) < 0.02
    assert min(expected_calibration_error(probs, 1 - calibrated).values()) > 0.3


def test_errors_by_group_counts_each_family_by_hand() -> None:
    # Rows 0-1 are family "a" (hard_sell hit, hard_sell missed); rows 2-5 are "b" (row 4 a false hard_sell).
    groups = ["a", "a", "b", "b", "b", "b"]
    out = errors_by_group(Y, P, groups, 0.5)
    assert out["a"]["posts"] == 2 and out["a"]["errors"] == 1
    assert out["a"]["per_label"]["hard_sell"] == {"positives": 2, "false_positives": 0, "false_negatives": 1}
    assert out["b"]["per_label"]["hard_sell"] == {"positives": 0, "false_positives": 1, "false_negatives": 0}
    assert out["b"]["per_label"]["fake_proof"]["positives"] == 1 and out["b"]["errors"] == 1
    with pytest.raises(ValueError, match="'groups' parameter"):
        errors_by_group(Y, P, ["a"], 0.5)


def test_bad_shapes_are_refused() -> None:
    with pytest.raises(ValueError, match="must both have shape"):
        label_metrics(Y, P[:, :2])
    with pytest.raises(ValueError, match="'tricks' parameter"):
        per_trick_recall(Y, P, [()], 0.5)


def test_top_scored_negatives_match_a_hand_count() -> None:
    groups = ["a", "a", "b", "b", "c", "c"]
    top = top_scored_negatives(Y, P, groups, top=3)
    # hard_sell's three highest: row 0 (0.9, positive), row 4 (0.6, normal), row 1 (0.4, positive).
    assert top["hard_sell"] == {"top": 3, "negatives": 1, "groups": {"c": 1}}
    # recruitment: row 2 (0.8, positive), then ties at 0.1 kept in row order: rows 0 and 1, both negative.
    assert top["recruitment"] == {"top": 3, "negatives": 2, "groups": {"a": 2}}
    # fake_proof: row 3 (0.7, positive), row 5 (0.2), row 0 (0.1).
    assert top["fake_proof"] == {"top": 3, "negatives": 2, "groups": {"a": 1, "c": 1}}
    with pytest.raises(ValueError, match="'groups'"):
        top_scored_negatives(Y, P, groups[:2])
    with pytest.raises(ValueError, match="'top'"):
        top_scored_negatives(Y, P, groups, top=0)


def test_report_names_what_crowds_the_top_of_the_selection_scores(tmp_path: Path) -> None:
    splits = {
        "validation": EvalSplit("validation", ["x"] * 6, Y, families=["a", "a", "b", "b", "c", "c"]),
        "dev": EvalSplit("dev", ["x"] * 2, np.zeros((2, 3))),
    }
    scores = {"validation": P, "dev": np.array([[0.95, 0.0, 0.0], [0.0, 0.0, 0.0]])}
    write_text_report(splits, [ModelScores("release", scores, 0.5, "calibrated")], tmp_path)
    md = (tmp_path / "README.md").read_text()
    assert "## `release`'s highest scores on validation + dev that are not the label (top 100)" in md
    # All 8 posts are within the top 100; hard_sell's negatives: rows 2-5 and both dev posts (ties by name).
    assert "| hard_sell | 8 | 6 | `b` 2, `c` 2, `dev` 2 |" in md
    assert "| release | 6 | 7 | 7 |" in md  # recruitment: every post but its one positive
    # Without dev scores the section is left out rather than computed on half the selection set.
    write_text_report(
        {"validation": splits["validation"]}, [ModelScores("release", {"validation": P})], tmp_path / "v"
    )
    assert "highest scores on validation + dev" not in (tmp_path / "v" / "README.md").read_text()


def test_report_has_tables_plots_and_the_same_figures(tmp_path: Path) -> None:
    splits = {
        "test": EvalSplit(
            "test", ["x"] * 6, Y, [("homophone",)] * 6, families=["a", "a", "b", "b", "b", "b"]
        ),
        "real_normal": EvalSplit(
            "real_normal", ["x"] * 3, np.zeros((3, 3)), families=["news", "review", "review"]
        ),
    }
    models = [
        ModelScores("baseline", {"test": P, "real_normal": np.full((3, 3), 0.2)}, 0.5, "n-grams"),
        ModelScores(
            "release",
            {"test": P, "real_normal": np.array([[0.9, 0, 0], [0, 0, 0], [0, 0, 0]])},
            {"hard_sell": 0.5, "recruitment": 0.5, "fake_proof": 0.5},
            "calibrated",
        ),
    ]
    result = write_text_report(splits, models, tmp_path)
    md = (tmp_path / "README.md").read_text()
    assert "| baseline |" in md and "| release |" in md and "33.33 %" in md  # 1 of 3 real posts flagged
    # Errors by family: "a" holds the hard_sell miss, "b" the false hard_sell; half the errors each.
    assert "## Where `release` errs on `test`, by generator family" in md
    assert "| `a` | 2 | 0 / 1 (2) | 0 / 0 (0) | 0 / 0 (0) | 50.0 % |" in md
    assert "| `b` | 4 | 1 / 0 (0) | 0 / 0 (1) | 0 / 0 (1) | 50.0 % |" in md
    # Real text by source: the one flagged post (row 0, hard_sell 0.9) is a "news" false positive.
    assert "## Where `release` errs on `real_normal`, by source" in md
    assert "| `news` | 1 | 1 / 0 (0) | 0 / 0 (0) | 0 / 0 (0) | 100.0 % |" in md
    assert result["metrics"]["release"]["test"]["macro_f1"] == pytest.approx(label_metrics(Y, P)["macro_f1"])
    assert {"pr_test.png", "confusion_test.png", "hist_test.png", "tricks_test.png"} <= set(result["files"])
    assert "pr_real_normal.png" not in result["files"]  # no positives: no PR curve
    for name in result["files"]:
        assert (tmp_path / name).stat().st_size > 1000
    assert (
        json.loads((tmp_path / "metrics.json").read_text())["baseline"]["real_normal"]["normal_flag_rate"]
        == 0.0
    )
    with pytest.raises(ValueError, match="scores of shape"):
        write_text_report(splits, [ModelScores("bad", {"test": P[:2]})], tmp_path / "bad")


def test_bench_table_lists_every_backend() -> None:
    result = {
        "posts": 10,
        "mean_tokens": 30.0,
        "p50_tokens": 28.0,
        "max_length": 128,
        "rounds": 3,
        "models": {
            "PyTorch FP32 teacher": {
                "posts_per_s_batch32": 50.0,
                "p50_ms_batch1": 40.0,
                "p99_ms_batch1": 60.0,
                "by_length": {"1-32 tokens": {"posts": 6, "p50_ms": 30.0}},
                "speedup_vs_torch_teacher": 1.0,
            },
            "ONNX INT8 student": {
                "posts_per_s_batch32": 400.0,
                "posts_per_s_calls32": 150.0,
                "p50_ms_batch1": 3.0,
                "p99_ms_batch1": 5.0,
                "by_length": {
                    "1-32 tokens": {"posts": 6, "p50_ms": 2.0},
                    "33-64 tokens": {"posts": 4, "p50_ms": 4.0},
                },
                "speedup_vs_torch_teacher": 8.0,
            },
        },
    }
    table = bench_table(result)
    assert "| ONNX INT8 student | 400 | 8.0 | 150 | 3.0 | 5.0 | 2.0 (n=6) | 4.0 (n=4) |" in table
    # A result from before calls of 32 were timed shows a dash there, not a made-up figure.
    assert "| PyTorch FP32 teacher | 50 | 1.0 | – | 40.0 | 60.0 | 30.0 (n=6) | – |" in table
    assert "load average" not in table
    result["load_average"] = {"before": 0.4, "after": 2.1, "cores": 2, "waited_s": 42.0, "quiet_below": 0.5}
    assert "Timing began once the load was under 0.5 (42 s of waiting)." in bench_table(result)


def test_a_timing_run_can_wait_for_a_quiet_machine_and_says_when_it_never_came() -> None:
    assert wait_for_quiet(1e9, 0.0) < 1.0  # any machine is under a billion: no wait
    with pytest.raises(ValueError, match="positive load bound"):
        wait_for_quiet(0.0, 10.0)
    if os.getloadavg()[0] < 1e-9:
        pytest.skip("the load average reads exactly 0 here, so no bound is unmet")
    with pytest.raises(TimeoutError, match="stayed at or above 1e-09 for 0 s"):
        wait_for_quiet(1e-9, 0.0)


def test_the_timing_command_refuses_a_bad_quiet_bound_in_one_line(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from eval.bench_text import app

    outcome = CliRunner().invoke(
        app, ["--data", str(tmp_path), "--release", str(tmp_path), "--quiet-below", "0"]
    )
    assert outcome.exit_code == 2
    assert "--quiet-below must be > 0" in outcome.output and len(outcome.output.strip().splitlines()) == 1


def test_a_label_without_positives_shows_no_precision_recall_or_f1() -> None:
    """real_normal has no positives: 0/1 precision and conventional recall 1 must not read as results."""
    y = np.zeros((4, 3))
    probs = np.array([[0.9, 0.1, 0.1], [0.1, 0.1, 0.1], [0.1, 0.1, 0.1], [0.1, 0.1, 0.1]])
    metrics = {
        "real_normal": label_metrics(y, probs) | {"normal_flag_rate": flag_rate(probs, 0.5, y)},
        "test": label_metrics(Y, P) | {"normal_flag_rate": flag_rate(P, 0.5, Y)},
    }
    rows = per_label_table(metrics, ["test", "real_normal"]).splitlines()
    assert "| real_normal | hard_sell | – | – | – | 0 | 25.00 % |" in rows
    assert "| real_normal | fake_proof | – | – | – | 0 | 25.00 % |" in rows
    assert "| test | hard_sell | 0.500 | 0.500 | 0.500 | 2 | 50.00 % |" in rows
