"""`feedguard model cascade`: two real (tiny) releases composed into one, routed, re-fitted, refused."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
from support.release_fixtures import PAIRED, PAIRED_Y, blended_release
from typer.testing import CliRunner

from eval.text_report import EvalSplit
from model.bundle import (
    ESCALATION_FIELD,
    MANIFEST,
    NGRAM_WEIGHT_FIELD,
    SHARED_WEIGHTS_FIELD,
    SHARED_WEIGHTS_FILE,
    load_bundle,
    read_manifest,
    write_manifest,
)
from model.labels import LABELS
from model.packed_weights import PACKED_SUFFIX, unpack_file
from model.policy import LabelCalibration, Policy
from model.text_cascade import CascadeTextClassifier, escalated
from train.baseline import NgramBaseline
from train.calibrate import CalibrationConfig, build_policy, load_default_rules
from train.cascade import (
    EMBEDDING_STORAGE_FIELD,
    FAST_MODEL_FILE,
    SLOW_MODEL_FILE,
    calibration_config_of,
    compose_cascade,
    escalation_window,
)
from train.cli import app as model_app
from train.release import CARD_FILE, MODEL_FILE, build_untrained_release
from train.shrink import COMPOSED_FIELD, shrink_release

TEXTS, Y = PAIRED, PAIRED_Y

#: The fast release's calibration and cuts: a window's place depends on all three.
FAST_CAL = {"hard_sell": (2.0, 0.5), "recruitment": (1.0, 0.0), "fake_proof": (0.5, -1.0)}
FAST_CUTS = {"hard_sell": 0.6, "recruitment": 0.5, "fake_proof": 0.3}


def _fast_policy() -> Policy:
    return Policy(
        thresholds={
            "label": dict(FAST_CUTS),
            "review": {"recruitment": None, "fake_proof": None},
            "hide": {"recruitment": None, "fake_proof": None},
        },
        calibration={label: LabelCalibration("platt", *FAST_CAL[label]) for label in LABELS},
        rules=load_default_rules(),
        chosen_on={"note": "test"},
    )


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("sources")
    fast = blended_release(root / "fast", layers=1, hidden=32, seed=13, weight=0.3, policy=_fast_policy())
    slow = blended_release(root / "slow", layers=2, hidden=32, seed=14, weight=0.6)
    return fast, slow


def _selection() -> dict[str, EvalSplit]:
    half = len(TEXTS) // 2
    return {
        "validation": EvalSplit("validation", TEXTS[:half], Y[:half]),
        "dev": EvalSplit("dev", TEXTS[half:], Y[half:]),
    }


def _widest(fast: Path) -> tuple[float, float]:
    """lower/upper that put about half of TEXTS inside some label's window (random weights, so measured)."""
    logits = load_bundle(fast, intra_op_threads=1).classifier.logits(TEXTS)
    policy = Policy.load(fast / "policy.json")
    distance = np.stack(
        [
            policy.calibration[label].scale * logits[:, j]
            + policy.calibration[label].bias
            - math.log(FAST_CUTS[label] / (1 - FAST_CUTS[label]))
            for j, label in enumerate(LABELS)
        ],
        axis=1,
    )
    nearest = np.sort(np.abs(distance).min(axis=1))[len(TEXTS) // 2]
    return float(nearest), float(nearest)


def test_the_window_sits_around_each_fast_label_cut_in_calibrated_log_odds() -> None:
    window = escalation_window(_fast_policy(), 3.0, 1.0)
    for label in LABELS:
        scale, bias = FAST_CAL[label]
        cut = math.log(FAST_CUTS[label] / (1 - FAST_CUTS[label]))
        low, high = window[label]
        assert math.isclose(scale * low + bias, cut - 3.0) and math.isclose(scale * high + bias, cut + 1.0)
    with pytest.raises(ValueError, match="'lower' parameter of escalation_window must be a positive number"):
        escalation_window(_fast_policy(), 0, 1.0)
    no_cut = _fast_policy()
    no_cut.thresholds["label"]["fake_proof"] = None
    with pytest.raises(ValueError, match="no 'label' cut for fake_proof"):
        escalation_window(no_cut, 3.0, 1.0)


def test_a_composed_cascade_routes_as_its_window_says_and_fits_its_policy_on_what_it_serves(
    sources, tmp_path
):
    fast, slow = sources
    lower, upper = _widest(fast)
    out = tmp_path / "cascade"
    result = compose_cascade(
        fast,
        slow,
        out,
        lower=lower,
        upper=upper,
        selection=_selection(),
        splits={"dev": _selection()["dev"]},
        command="feedguard model cascade ...",
    )
    manifest = read_manifest(out)
    assert (out / FAST_MODEL_FILE).read_bytes() == (fast / MODEL_FILE).read_bytes()
    assert (out / SLOW_MODEL_FILE).read_bytes() == (slow / MODEL_FILE).read_bytes()
    for same in ("tokenizer.json", "char_map.json", "ngram/baseline.json", "ngram/weights.npz"):
        assert (out / same).read_bytes() == (slow / same).read_bytes()
    assert SHARED_WEIGHTS_FIELD not in manifest  # the two tiny sources hold no weight in common
    assert manifest[NGRAM_WEIGHT_FIELD] == 0.3 and manifest[ESCALATION_FIELD]["ngram_weight"] == 0.6
    window = escalation_window(Policy.load(fast / "policy.json"), lower, upper)
    assert manifest[ESCALATION_FIELD]["window"] == result["window"] == window
    assert manifest[COMPOSED_FIELD]["lower"] == lower and manifest[COMPOSED_FIELD]["upper"] == upper

    # Served: the fast release's own blended logits, the slow release's on the posts inside the window.
    bundle = load_bundle(out, intra_op_threads=1)
    assert isinstance(bundle.classifier, CascadeTextClassifier)
    alone_fast = load_bundle(fast, intra_op_threads=1).classifier
    alone_slow = load_bundle(slow, intra_op_threads=1).classifier
    fast_logits = alone_fast.logits(TEXTS)
    unsure = escalated(fast_logits, window)
    assert 0 < unsure.sum() < len(TEXTS)
    got = bundle.classifier.logits(TEXTS)
    np.testing.assert_allclose(got[~unsure], fast_logits[~unsure], atol=1e-5)
    np.testing.assert_allclose(
        got[unsure], alone_slow.logits([t for t, u in zip(TEXTS, unsure, strict=True) if u]), atol=1e-5
    )
    assert result["escalated"]["validation"] == pytest.approx(unsure[: len(TEXTS) // 2].mean())

    # The policy is the one build_policy fits on those served logits, with the slow release's settings.
    selection = _selection()
    served = np.concatenate([bundle.classifier.logits(s.texts) for s in selection.values()])
    groups = [name for name, s in selection.items() for _ in s.texts]
    expected = build_policy(served, Y, groups, calibration_config_of(Policy.load(slow / "policy.json")))
    policy = Policy.load(out / "policy.json")
    assert policy.thresholds == expected.thresholds
    assert policy.chosen_on["model"] == "cascade" and policy.chosen_on["rows"] == {
        "dev": 32,
        "validation": 32,
    }
    assert policy.chosen_on["escalation"]["window"] == window

    card = (out / CARD_FILE).read_text(encoding="utf-8")
    assert "cascade of two released models" in card and "feedguard model cascade ..." in card
    assert set(result["figures"]) == {"source", "release"} and "dev" in result["figures"]["release"]
    for section in ("## Per label and split", "## Recall per evasion trick", "## Known weaknesses"):
        assert section in card
    assert (
        f"more than {lower:g} below its cut" in card
        and f"Ships both encoders: {result['size_mb']:.1f} MB" in card
    )
    assert "### Untrained plumbing release" not in card and "Random weights; for tests only." in card
    # The same sources give the same files again.
    again = tmp_path / "again"
    compose_cascade(fast, slow, again, lower=lower, upper=upper, selection=_selection())
    for name in ("model.onnx", "escalation.onnx", "policy.json", "ngram/weights.npz"):
        assert (again / name).read_bytes() == (out / name).read_bytes()


def test_a_table_both_sources_hold_is_stored_once_packed_and_scores_as_it_would_unpacked(tmp_path):
    # One shape and seed, so both untrained encoders draw the same word table (2,222 pieces x 32: 71 KB).
    fast = blended_release(tmp_path / "fast", layers=1, hidden=32, seed=13, weight=0.3, policy=_fast_policy())
    slow = blended_release(tmp_path / "slow", layers=1, hidden=32, seed=13, weight=0.6)
    out = tmp_path / "cascade"
    lower, upper = _widest(fast)
    result = compose_cascade(fast, slow, out, lower=lower, upper=upper, selection=_selection(), command="c")
    manifest = read_manifest(out)
    assert manifest[SHARED_WEIGHTS_FIELD] == SHARED_WEIGHTS_FILE + PACKED_SUFFIX
    assert not (out / SHARED_WEIGHTS_FILE).exists() and (out / manifest[SHARED_WEIGHTS_FIELD]).is_file()
    assert result["loaded_mb"] > result["size_mb"]
    assert "xz-compressed, lossless" in (out / CARD_FILE).read_text(encoding="utf-8")

    # The same release with the file unpacked on disk, as r21 shipped it, serves the same logits.
    unpacked = shutil.copytree(out, tmp_path / "unpacked")
    (unpacked / SHARED_WEIGHTS_FILE).write_bytes(unpack_file(unpacked / manifest[SHARED_WEIGHTS_FIELD]))
    (unpacked / manifest[SHARED_WEIGHTS_FIELD]).unlink()
    fields = {k: v for k, v in manifest.items() if k not in ("files", "format", "labels")}
    write_manifest(unpacked, **fields | {SHARED_WEIGHTS_FIELD: SHARED_WEIGHTS_FILE})
    np.testing.assert_array_equal(
        load_bundle(out, intra_op_threads=1).classifier.logits(TEXTS),
        load_bundle(unpacked, intra_op_threads=1).classifier.logits(TEXTS),
    )

    # A damaged packed file is refused by name even when the manifest was rewritten to match it.
    damaged = shutil.copytree(out, tmp_path / "damaged")
    packed = damaged / manifest[SHARED_WEIGHTS_FIELD]
    data = bytearray(packed.read_bytes())
    data[len(data) // 2] ^= 0xFF
    packed.write_bytes(bytes(data))
    write_manifest(damaged, **fields)
    with pytest.raises(ValueError, match=r"shared_weights\.bin\.xz is not an intact xz file"):
        load_bundle(damaged)


def test_the_policy_settings_are_the_slow_release_s() -> None:
    policy = build_policy(
        np.array([[2.0, -1.0, 0.5], [-2.0, 1.0, -0.5]] * 10),
        np.array([[1, 0, 1], [0, 1, 0]] * 10, dtype=float),
        ["validation"] * 20,
        CalibrationConfig(
            review_precision=0.95, hide_precision=0.98, min_support=3, label_bags=4, bag_seed=2
        ),
    )
    config = calibration_config_of(policy)
    assert (config.review_precision, config.hide_precision, config.min_support) == (0.95, 0.98, 3)
    assert (config.label_bags, config.bag_seed, config.method, config.label_precision) == (
        4,
        2,
        "platt",
        None,
    )


def test_a_cascade_with_a_4bit_word_table_says_so_and_scores_nearly_as_the_8bit_one(sources, tmp_path):
    fast, slow = sources
    lower, upper = _widest(fast)
    args = {
        "lower": lower,
        "upper": upper,
        "selection": _selection(),
        "command": "feedguard model cascade ...",
    }
    compose_cascade(fast, slow, tmp_path / "eight", **args)
    compose_cascade(fast, slow, tmp_path / "four", embedding_bits=4, **args)
    manifest = read_manifest(tmp_path / "four")
    assert manifest[EMBEDDING_STORAGE_FIELD].startswith("4-bit, blocks of 32")
    assert EMBEDDING_STORAGE_FIELD not in read_manifest(tmp_path / "eight")
    for name in (FAST_MODEL_FILE, SLOW_MODEL_FILE):
        ops = {n.op_type for n in onnx.load(str(tmp_path / "four" / name)).graph.node}
        assert "EmbedLayerNormalization" in ops and "QEmbedLayerNormalization" not in ops
    assert "stored 4-bit, blocks of 32" in (tmp_path / "four" / CARD_FILE).read_text(encoding="utf-8")
    eight = load_bundle(tmp_path / "eight", intra_op_threads=1).classifier.predict_proba(TEXTS)
    four = load_bundle(tmp_path / "four", intra_op_threads=1).classifier.predict_proba(TEXTS)
    assert float(((eight >= 0.5) == (four >= 0.5)).mean()) >= 0.9 and not np.array_equal(eight, four)
    with pytest.raises(ValueError, match="'embedding_bits' parameter of compose_cascade must be 8 or 4"):
        compose_cascade(fast, slow, tmp_path / "six", embedding_bits=6, **args)


def test_sources_that_cannot_share_one_tokenizer_or_n_gram_are_refused_and_nothing_is_left(sources, tmp_path):
    fast, slow = sources
    out = tmp_path / "out"

    def refused(match: str, **kwargs) -> None:
        args = {"fast": fast, "slow": slow, "out": out, "lower": 3.0, "upper": 1.0, "selection": _selection()}
        with pytest.raises(ValueError, match=match):
            compose_cascade(**(args | kwargs))
        assert not out.exists() and not (tmp_path / ".out.partial").exists()

    refused("the same release", slow=fast)
    refused("--out must not be the source release", out=fast / "inside")
    other = tmp_path / "other-vocabulary"
    build_untrained_release(other, ["完全不同的词汇表", "另一批帖子"], layers=1, hidden=32)
    refused("different tokenizer.json files", slow=other)
    refit = shutil.copytree(slow, tmp_path / "other-ngram")
    NgramBaseline().fit(TEXTS, 1 - Y).save(refit / "ngram")
    manifest = read_manifest(slow)
    write_manifest(refit, **{k: v for k, v in manifest.items() if k not in ("files", "format", "labels")})
    refused("blend different n-gram models", slow=refit)
    refused("must name at least one split", selection={})
    composed = compose_cascade(
        fast, slow, tmp_path / "composed", lower=3.0, upper=1.0, selection=_selection()
    )
    assert composed["size_mb"] > 0
    # One tokenizer written indented (as releases before r21 were) and compact is still one tokenizer.
    indented = shutil.copytree(slow, tmp_path / "indented")
    spec = json.loads((slow / "tokenizer.json").read_text(encoding="utf-8"))
    (indented / "tokenizer.json").write_text(json.dumps(spec, indent=2, ensure_ascii=False), encoding="utf-8")
    write_manifest(indented, **{k: v for k, v in manifest.items() if k not in ("files", "format", "labels")})
    compose_cascade(fast, indented, tmp_path / "from-indented", lower=3.0, upper=1.0, selection=_selection())
    assert (tmp_path / "from-indented" / "tokenizer.json").read_bytes() == (
        slow / "tokenizer.json"
    ).read_bytes()
    refused("already a cascade", slow=tmp_path / "composed")
    with pytest.raises(ValueError, match="is a cascade composed of two releases"):
        shrink_release(tmp_path / "composed", tmp_path / "shrunk")
    tampered = shutil.copytree(fast, tmp_path / "tampered")
    (tampered / "policy.json").write_text("{}", encoding="utf-8")
    refused("changed after the release was built", fast=tampered)


def test_the_command_line_says_in_one_line_what_to_fix(sources, tmp_path):
    fast, slow = sources
    runner = CliRunner()
    base = ["cascade", "--fast", str(fast), "--slow", str(slow), "--out", str(tmp_path / "out")]
    cases = [
        (["--data", str(tmp_path)], "--data must be a dataset build"),
    ]
    data = tmp_path / "data"
    (data / "dataset").mkdir(parents=True)
    (data / "dataset" / "dataset_dict.json").write_text(json.dumps({"splits": []}), encoding="utf-8")
    cases += [
        (["--data", str(data), "--lower", "0"], "--lower must be in (0, 20]"),
        (["--data", str(data), "--upper", "25"], "--upper must be in (0, 20]"),
        (["--data", str(data), "--threads", "0"], "--threads must be >= 1"),
        (["--data", str(data), "--bench-posts", "-1"], "--bench-posts must be >= 0"),
        (["--data", str(data), "--quiet-below", "0"], "--quiet-below must be > 0"),
        (
            ["--data", str(data), "--bench-work", str(tmp_path)],
            "--bench-work must be a release build's work dir",
        ),
        (["--data", str(data), "--embedding-bits", "6"], "--embedding-bits must be 8"),
    ]
    for extra, message in cases:
        outcome = runner.invoke(model_app, base + extra)
        assert outcome.exit_code == 2, outcome.output
        assert message in outcome.output and len(outcome.output.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()
    assert not any(p.name == MANIFEST for p in tmp_path.rglob("*") if "out" in p.parts)
