"""train.policy_stability: the spread of test/evasion figures over thresholds refitted on bootstrap
draws of the selection sets, on synthetic scores whose spread is known, and the CLI's refusals."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from eval.text_metrics import label_metrics
from train.calibrate import CalibrationConfig, build_policy
from train.policy_stability import app, policy_spread


def _split(n: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Labels at random and logits that say them (+4 / -4) under Gaussian noise of sd ``noise``."""
    rng = np.random.default_rng(seed)
    y = (rng.random((n, 3)) < 0.3).astype(float)
    return np.where(y == 1, 4.0, -4.0) + rng.normal(0, noise, y.shape), y


def test_the_spread_grows_with_the_noise_in_the_scores() -> None:
    def spread(noise: float) -> dict:
        selection = {"validation": _split(120, noise, 3), "dev": _split(60, noise, 4)}
        return policy_spread(selection, {"test": _split(2000, noise, 5)}, resamples=20, seed=7)["test"]

    clean, noisy = spread(0.5), spread(4.0)
    assert clean["at_0.5"] == 1.0 and clean["policy"] > 0.95
    assert noisy["resampled_sd"] > clean["resampled_sd"] > 0.0
    for figures in (clean, noisy):
        assert figures["resampled_p05"] <= figures["resampled_mean"] <= figures["resampled_p95"]


def test_noisy_scores_spread_and_the_full_fit_is_the_builds_policy() -> None:
    selection = {"validation": _split(120, 4.0, 3), "dev": _split(60, 4.0, 4)}
    test = _split(2000, 4.0, 5)
    out = policy_spread(selection, {"test": test}, resamples=20, seed=7)
    assert out["test"]["resampled_sd"] > 0.002
    assert out["test"]["resampled_p05"] < out["test"]["resampled_p95"]
    policy = build_policy(
        np.concatenate([selection["validation"][0], selection["dev"][0]]),
        np.concatenate([selection["validation"][1], selection["dev"][1]]),
        ["validation"] * 120 + ["dev"] * 60,
        CalibrationConfig(),
    )
    direct = label_metrics(test[1], policy.calibrate(test[0], kind="logits"), policy.thresholds["label"])[
        "macro_f1"
    ]
    assert out["test"]["policy"] == pytest.approx(direct)
    assert out == policy_spread(selection, {"test": test}, resamples=20, seed=7)  # seeded


def test_bagged_label_thresholds_are_what_the_draws_refit() -> None:
    selection = {"validation": _split(120, 4.0, 3), "dev": _split(60, 4.0, 4)}
    test = _split(2000, 4.0, 5)
    bagged = CalibrationConfig(label_bags=15)
    out = policy_spread(selection, {"test": test}, resamples=5, seed=7, config=bagged)
    policy = build_policy(
        np.concatenate([selection["validation"][0], selection["dev"][0]]),
        np.concatenate([selection["validation"][1], selection["dev"][1]]),
        ["validation"] * 120 + ["dev"] * 60,
        bagged,
    )
    direct = label_metrics(test[1], policy.calibrate(test[0], kind="logits"), policy.thresholds["label"])[
        "macro_f1"
    ]
    assert out["test"]["policy"] == pytest.approx(direct)
    assert out != policy_spread(selection, {"test": test}, resamples=5, seed=7)


def test_bad_input_is_refused(tmp_path) -> None:
    good = {"validation": _split(50, 1.0, 1)}
    with pytest.raises(ValueError, match="at least one split"):
        policy_spread({}, good)
    with pytest.raises(ValueError, match="'resamples' parameter"):
        policy_spread(good, good, resamples=1)
    with pytest.raises(ValueError, match="one non-empty shape"):
        policy_spread(good, {"test": (np.zeros((4, 3)), np.zeros((5, 3)))})
    (tmp_path / "blend.json").write_text(
        json.dumps({"role": "teacher", "ngram_weight": 0.6}), encoding="utf-8"
    )
    for args, message in (
        (["--work", str(tmp_path / "none"), "--data", str(tmp_path)], "blend.json is missing"),
        (["--work", str(tmp_path), "--data", str(tmp_path), "--resamples", "1"], "--resamples must be >= 2"),
        (
            ["--work", str(tmp_path), "--data", str(tmp_path), "--label-bags", "-1"],
            "--label-bags must be >= 0",
        ),
        (["--work", str(tmp_path), "--data", str(tmp_path / "none")], "--data"),
    ):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 2, result.output
        assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    cascade = tmp_path / "cascade"
    cascade.mkdir()
    (cascade / "blend.json").write_text(
        json.dumps({"role": "student", "ngram_weight": 0.3, "escalation": {"band": 1.0}}), encoding="utf-8"
    )
    result = CliRunner().invoke(app, ["--work", str(cascade), "--data", str(tmp_path)])
    assert result.exit_code == 2 and "released a cascade" in result.stderr
