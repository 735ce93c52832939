"""Bootstrap intervals for the text figures: families resampled whole, differences paired."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from eval.cli import app as eval_app
from eval.holdout import HOLDOUT_SPLIT
from eval.text_intervals import MIN_CLUSTERS, bootstrap_weights, figure_intervals, macro_f1_draws
from eval.text_metrics import flag_rate, label_metrics
from model.bundle import sha256_file

ROOT = Path(__file__).resolve().parents[1]
DEV_FILE = ROOT / "data" / "devset" / "dev.jsonl"
RELEASE = ROOT / "model" / "release"


def _families(count: int, size: int) -> list[str]:
    return [f"fam{i}" for i in range(count) for _ in range(size)]


def _one_family_missed(count: int = 20, size: int = 30) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Every family is hard sell; the model finds every post but those of the first family."""
    families = _families(count, size)
    y = np.zeros((len(families), 3))
    y[:, 0] = 1
    y[::3, 1] = 1  # every label has positives in every family, so no draw lacks one
    y[1::3, 2] = 1
    probs = y.copy()
    probs[:size, 0] = 0.0
    return y, probs, families


def test_whole_families_are_drawn_and_posts_when_there_are_too_few() -> None:
    families = _families(12, 5)
    weights, unit, units = bootstrap_weights(len(families), families, resamples=50, seed=3)
    assert (unit, units, weights.shape) == ("families", 12, (50, 60))
    per_family = weights.reshape(50, 12, 5)
    assert (per_family == per_family[:, :, :1]).all(), "a family's posts are drawn together"
    np.testing.assert_array_equal(per_family[:, :, 0].sum(axis=1), 12)
    again, _, _ = bootstrap_weights(len(families), families, resamples=50, seed=3)
    np.testing.assert_array_equal(weights, again)

    few = _families(MIN_CLUSTERS - 1, 4)
    weights, unit, units = bootstrap_weights(len(few), few, resamples=20)
    assert (unit, units) == ("posts", len(few))
    np.testing.assert_array_equal(weights.sum(axis=1), len(few))
    assert bootstrap_weights(7, None, resamples=5)[1:] == ("posts", 7)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n": 0}, "'n' parameter must be >= 1"),
        ({"n": 3, "resamples": 0}, "'resamples' parameter must be >= 1"),
        ({"n": 3, "groups": ["a", "b"]}, "'groups' parameter must have 3 entries"),
    ],
)
def test_bad_bootstrap_arguments_are_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        bootstrap_weights(**kwargs)


def test_unit_weights_give_the_report_macro_f1() -> None:
    rng = np.random.default_rng(0)
    y = (rng.random((200, 3)) < 0.3).astype(float)
    probs = rng.random((200, 3))
    draws = macro_f1_draws(y, (probs >= 0.5).astype(float), np.ones((1, 200), dtype=np.float32))
    assert draws[0] == pytest.approx(label_metrics(y, probs, 0.5)["macro_f1"])


def test_a_missed_family_widens_the_interval_more_than_scattered_misses() -> None:
    """The same number of misses reads less certain when they are one family's than posts spread out."""
    y, clustered, families = _one_family_missed()
    scattered = y.copy()
    scattered[::20, 0] = 0.0  # 30 misses too, every 20th post, spread over all families
    assert (clustered != y).sum() == (scattered != y).sum()
    out = figure_intervals(y, {"c": (clustered, 0.5), "s": (scattered, 0.5)}, groups=families, resamples=400)
    assert out["c"]["value"] == pytest.approx(out["s"]["value"])
    assert out["c"]["unit"] == "families" and out["c"]["units"] == 20
    width = {name: e["interval"][1] - e["interval"][0] for name, e in out.items()}
    assert width["c"] > 2 * width["s"]
    lo, hi = out["c"]["interval"]
    assert lo < out["c"]["value"] <= hi <= 1.0


def test_differences_are_paired_and_identical_models_differ_by_exactly_zero() -> None:
    y, probs, families = _one_family_missed()
    better = y.copy()
    out = figure_intervals(
        y,
        {"a": (probs, 0.5), "same": (probs.copy(), 0.5), "better": (better, 0.5)},
        groups=families,
        reference="a",
    )
    assert "difference" not in out["a"]
    assert out["same"]["difference"] == 0 and out["same"]["difference_interval"] == [0.0, 0.0]
    # "better" fixes the missed family: it is ahead on every draw that holds that family.
    assert out["better"]["difference"] == pytest.approx(out["better"]["value"] - out["a"]["value"])
    assert out["better"]["difference_interval"][0] >= 0 and out["better"]["difference_interval"][1] > 0


def test_a_draw_without_a_label_averages_the_labels_it_has() -> None:
    """Validation has few families per label; a draw missing one must not read as F1 0 on it."""
    families = _families(12, 10)
    y = np.zeros((120, 3))
    y[:10, 0] = 1  # hard sell only in fam0
    y[10:20, 1] = 1
    y[20:30, 2] = 1
    probs = y.copy()
    probs[50, 0] = 1.0  # one false hard-sell flag in a normal family (fam5)
    out = figure_intervals(y, {"m": (probs, 0.5)}, groups=families, resamples=300)
    # Without the rule, draws with fam5 and no fam0 would score hard sell 0 and macro-F1 <= 0.667.
    assert out["m"]["interval"][0] > 0.9


def test_a_split_without_seller_posts_reads_the_flag_rate() -> None:
    y = np.zeros((400, 3))
    probs = np.zeros((400, 3))
    probs[:8, 2] = 0.9
    out = figure_intervals(y, {"m": (probs, 0.5)})
    assert out["m"]["figure"] == "normal_flag_rate"
    assert out["m"]["value"] == pytest.approx(flag_rate(probs, 0.5, y)) == pytest.approx(0.02)
    assert out["m"]["interval"][0] < 0.02 < out["m"]["interval"][1]


def test_bad_interval_arguments_are_refused() -> None:
    y, probs, _ = _one_family_missed(12, 2)
    with pytest.raises(ValueError, match="'level' parameter"):
        figure_intervals(y, {"m": (probs, 0.5)}, level=1.0)
    with pytest.raises(ValueError, match="'reference' parameter"):
        figure_intervals(y, {"m": (probs, 0.5)}, reference="x")


def _stricter_copy(tmp_path: Path) -> Path:
    """The committed release with its `label` cuts raised: the same model, fewer posts labelled."""
    copy = tmp_path / "stricter"
    shutil.copytree(RELEASE, copy)
    policy = json.loads((copy / "policy.json").read_text())
    policy["thresholds"]["label"] = {label: 0.9 for label in policy["thresholds"]["label"]}
    (copy / "policy.json").write_text(json.dumps(policy))
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["files"]["policy.json"] = sha256_file(copy / "policy.json")
    (copy / "manifest.json").write_text(json.dumps(manifest))
    return copy


def test_eval_against_another_release_reports_the_paired_difference(tmp_path: Path) -> None:
    out = tmp_path / "report"
    result = CliRunner().invoke(
        eval_app,
        ["--holdout", str(DEV_FILE), "--against", str(_stricter_copy(tmp_path)), "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    release, against = metrics["release"][HOLDOUT_SPLIT], metrics["against"][HOLDOUT_SPLIT]
    assert against["macro_f1"] < release["macro_f1"], "cuts at 0.9 label fewer posts"
    gap = against["interval"]
    assert gap["difference"] == pytest.approx(against["macro_f1"] - release["macro_f1"])
    assert gap["difference_interval"][0] <= gap["difference"] <= gap["difference_interval"][1]
    assert release["interval"]["unit"] == "posts" and release["interval"]["units"] == 480
    assert f"against - release {gap['difference']:+.3f}" in result.stdout
    assert "95% interval" in result.stdout
    assert "## How precise these figures are" in (out / "README.md").read_text()


@pytest.mark.parametrize(
    ("against", "message"),
    [
        (str(RELEASE), "--against names the same release as --release"),
        ("/nonexistent-release", "/nonexistent-release"),
    ],
)
def test_eval_against_a_bad_release_exits_2(tmp_path: Path, against: str, message: str) -> None:
    out = tmp_path / "report"
    result = CliRunner().invoke(
        eval_app, ["--holdout", str(DEV_FILE), "--against", against, "--out", str(out)]
    )
    assert result.exit_code == 2 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_eval_with_a_work_dir_scores_its_n_gram_baseline_on_the_holdout(tmp_path: Path) -> None:
    """The build's predictions stop at its own splits; the baseline is re-scored on the holdout."""
    from data.devset import label_matrix, load_devset
    from model.ngram_model import NgramModel
    from train.baseline import NgramBaseline

    rows = load_devset(DEV_FILE)
    work = tmp_path / "work"
    (work / "predictions").mkdir(parents=True)
    # Any fitted baseline will do (the released cascade blends none in); fitted on the holdout itself, its
    # figure there is high, which is fine: the test is that eval re-scores it, not how well it does.
    NgramBaseline().fit([r["text"] for r in rows], label_matrix(rows)).save(work / "baseline")
    out = tmp_path / "report"
    result = CliRunner().invoke(
        eval_app, ["--holdout", str(DEV_FILE), "--work", str(work), "--out", str(out), "--threads", "1"]
    )
    assert result.exit_code == 0, result.output
    direct = NgramModel.load(work / "baseline").predict_proba([r["text"] for r in rows])
    expected = label_metrics(label_matrix(rows), direct, 0.5)["macro_f1"]
    baseline = json.loads((out / "metrics.json").read_text())["baseline"][HOLDOUT_SPLIT]
    assert baseline["macro_f1"] == pytest.approx(expected, abs=1e-12)
    assert "| baseline |" in (out / "README.md").read_text()
