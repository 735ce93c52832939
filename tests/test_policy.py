"""The policy file: validation, calibration maps, the action rules, and the JSON round trip."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from model.labels import LABELS
from model.policy import LabelCalibration, Policy

THRESHOLDS = {
    "label": {"hard_sell": 0.5, "recruitment": 0.6, "fake_proof": 0.7},
    "review": {"recruitment": 0.8, "fake_proof": 0.85},
    "hide": {"recruitment": 0.95, "fake_proof": None},
}


def scores(hs: float = 0.0, rec: float = 0.0, fp: float = 0.0) -> dict[str, float]:
    return {"hard_sell": hs, "recruitment": rec, "fake_proof": fp}


@pytest.fixture
def policy() -> Policy:
    return Policy(thresholds=THRESHOLDS, targets={"label": 0.9, "review": 0.97, "hide": 0.99}, rules={"x": 3})


@pytest.mark.parametrize(
    ("given", "action", "over", "escalated"),
    [
        (scores(), "allow", (), ()),
        (scores(hs=0.49), "allow", (), ()),
        (scores(hs=0.5), "label", ("hard_sell",), ()),  # at the threshold counts as over
        # Selling alone is labelled, never reviewed or hidden, however sure the model is.
        (scores(hs=1.0), "label", ("hard_sell",), ()),
        (scores(rec=0.8), "review", ("recruitment",), ("recruitment",)),
        (scores(rec=0.95), "hide", ("recruitment",), ("recruitment",)),
        (scores(fp=0.99), "review", ("fake_proof",), ("fake_proof",)),  # fake_proof has no hide threshold
        (scores(hs=0.9, rec=0.97, fp=0.9), "hide", LABELS, ("recruitment",)),
    ],
)
def test_decide_follows_the_documented_rules(policy, given, action, over, escalated) -> None:
    decision = policy.decide(given)
    assert decision.action == action
    assert decision.labels_over == over
    assert decision.escalated_by == escalated


def test_a_null_threshold_never_fires() -> None:
    never = Policy(
        thresholds={
            "label": dict.fromkeys(LABELS),
            "review": {"recruitment": None, "fake_proof": None},
            "hide": {"recruitment": None, "fake_proof": None},
        }
    )
    assert never.decide(scores(1.0, 1.0, 1.0)).action == "allow"


def test_seller_is_the_largest_label_score() -> None:
    assert Policy.seller(scores(0.2, 0.7, 0.4)) == 0.7


def test_calibration_maps_logits_and_probs_the_same_way() -> None:
    cal = {
        "hard_sell": LabelCalibration("platt", 2.0, -1.0),
        "recruitment": LabelCalibration("temperature", 0.5, 0.0),
        "fake_proof": LabelCalibration(),
    }
    pol = Policy(thresholds=THRESHOLDS, calibration=cal)
    logits = np.array([[0.0, 2.0, -3.0], [1.5, -1.0, 4.0]])
    from_logits = pol.calibrate(logits, kind="logits")
    from_probs = pol.calibrate(1 / (1 + np.exp(-logits)))
    np.testing.assert_allclose(from_logits, from_probs, atol=1e-9)
    np.testing.assert_allclose(from_logits[:, 0], 1 / (1 + np.exp(-(2.0 * logits[:, 0] - 1.0))))
    np.testing.assert_allclose(from_logits[:, 1], 1 / (1 + np.exp(-(logits[:, 1] / 2.0))))
    np.testing.assert_allclose(from_logits[:, 2], 1 / (1 + np.exp(-logits[:, 2])))
    # Monotone: calibration never reorders posts, so thresholds keep their meaning.
    assert np.all(
        np.diff(pol.calibrate(np.linspace(-5, 5, 50)[:, None].repeat(3, 1), kind="logits"), axis=0) > 0
    )


def test_save_and_load_round_trip(policy, tmp_path: Path) -> None:
    path = policy.save(tmp_path / "policy.json")
    loaded = Policy.load(path)
    assert loaded.to_dict() == policy.to_dict()
    assert loaded.rule("x") == 3
    assert json.loads(path.read_text())["labels"] == list(LABELS)


@pytest.mark.parametrize(
    ("thresholds", "message"),
    [
        ({**THRESHOLDS, "label": {"hard_sell": 0.5, "recruitment": 0.6}}, "must cover exactly"),
        ({**THRESHOLDS, "label": {**THRESHOLDS["label"], "hard_sell": 1.5}}, "must be a number in"),
        ({**THRESHOLDS, "review": {**THRESHOLDS["review"], "hard_sell": 0.9}}, "must cover exactly"),
        ({k: v for k, v in THRESHOLDS.items() if k != "hide"}, "exactly the actions"),
    ],
)
def test_bad_thresholds_are_refused(thresholds, message) -> None:
    with pytest.raises(ValueError, match=message):
        Policy(thresholds=thresholds)


def test_bad_inputs_name_the_parameter(policy, tmp_path: Path) -> None:
    with pytest.raises(
        ValueError, match=r"'scores' parameter of Policy\.decide must have label 'fake_proof'"
    ):
        policy.decide({"hard_sell": 0.1, "recruitment": 0.1})
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\]"):
        policy.decide(scores(hs=1.2))
    with pytest.raises(ValueError, match="shape"):
        policy.calibrate(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="kind='logits'"):
        policy.calibrate(np.full((1, 3), 3.0))
    with pytest.raises(ValueError, match="'scale' parameter of LabelCalibration must be > 0"):
        LabelCalibration("platt", -1.0, 0.0)
    with pytest.raises(KeyError, match="no rule 'missing'"):
        policy.rule("missing")
    with pytest.raises(ValueError, match="feedguard model build"):
        Policy.load(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**policy.to_dict(), "labels": ["a", "b", "c"]}))
    with pytest.raises(ValueError, match="'labels'"):
        Policy.load(bad)


def test_thresholds_table_names_every_action_and_unmet_target() -> None:
    pol = Policy(
        thresholds={**THRESHOLDS, "hide": {"recruitment": None, "fake_proof": None}}, targets={"hide": 0.99}
    )
    table = pol.thresholds_markdown()
    assert table.count("| hide |") == 2 and "never (target not met)" in table


def test_missing_cuts_name_exactly_the_actions_that_never_fire(tmp_path: Path, capsys) -> None:
    from train.cli import _warn_missing_cuts

    complete = Policy(thresholds={**THRESHOLDS, "hide": {"recruitment": 0.95, "fake_proof": 0.97}})
    assert complete.missing_cuts() == []
    gappy = Policy(thresholds={**THRESHOLDS, "review": {**THRESHOLDS["review"], "fake_proof": None}})
    assert gappy.missing_cuts() == [("review", "fake_proof"), ("hide", "fake_proof")]
    # `feedguard model build` says so on stderr after writing a release with such a policy.
    _warn_missing_cuts(gappy.save(tmp_path / "policy.json"))
    err = capsys.readouterr().err
    assert "no 'review' threshold for 'fake_proof'" in err and err.count("warning:") == 2
    _warn_missing_cuts(complete.save(tmp_path / "complete.json"))
    assert capsys.readouterr().err == ""
