"""End to end on the `small` dataset: build -> train -> distil -> export -> INT8 -> calibrate -> parity ->
eval -> bench -> model card, then score with the release, evaluate it, and rebuild from the caches.

Tiny budgets (2-layer teacher, 1-layer student, a few dozen steps) keep it to a few minutes; the
model learns little in that time, which is not what is tested: the pipeline is.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from data.devset import DEFAULT_PATH as DEV_FILE
from data.manifest import code_version
from model.bundle import load_bundle, sha256_file
from model.labels import LABELS
from model.policy import Policy
from train.finetune import TrainConfig
from train.policy_stability import app as stability_app
from train.release import CARD_FILE, MODEL_FILE, POLICY_FILE, ReleaseConfig, build_release

pytestmark = pytest.mark.slow

TINY = TrainConfig(
    max_length=64,
    batch_size=16,
    max_steps=40,
    eval_every=20,
    checkpoint_every=20,
    eval_max_rows=200,
    probe_steps=3,
    learning_rate=2e-4,
    head_learning_rate=3e-3,
)
# The 40-step models here score most posts near their F1-best label cut, so INT8 rounding flips
# ~1.5 % of 330 test posts' decisions (the 12-layer release: 0.5 %); their gate is 0.97. Releases
# keep ReleaseConfig's 0.99; the INT8 score gap is checked below on its own.
CONFIG = ReleaseConfig(
    size="small",
    teacher_layers=2,
    student_layers=1,
    teacher=TINY,
    student=TINY,
    bench_posts=16,
    threads=1,
    min_parity=0.97,
)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from data.build import build_dataset

    root = tmp_path_factory.mktemp("e2e")
    data = build_dataset(root / "data", "small", seed=13)
    paths = {"data": data, "out": root / "release", "work": root / "work", "report": root / "report"}
    build_release(data, paths["out"], paths["work"], CONFIG, report_dir=paths["report"], progress=False)
    return paths


def test_release_has_every_file_and_loads(built) -> None:
    out = built["out"]
    for name in (MODEL_FILE, POLICY_FILE, CARD_FILE, "manifest.json", "tokenizer.json", "char_map.json"):
        assert (out / name).is_file(), name
    bundle = load_bundle(out)
    manifest = bundle.manifest
    assert manifest["model_role"] in ("teacher", "student")
    assert manifest["seed"] == 13 and len(manifest["data_manifest_hash"]) == 64
    assert manifest["max_length"] == 64
    data_manifest = json.loads((built["data"] / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["code_version"] == code_version()
    assert manifest["data_code_version"] == data_manifest["code_version"]
    probs = bundle.classifier.predict_proba(["面膜包邮，私聊下单", "周末去爬山"])
    assert probs.shape == (2, len(LABELS))
    policy = Policy.load(bundle.policy_path)
    assert policy.chosen_on["splits"] == ["validation", "dev"]
    assert policy.chosen_on["model"].endswith("onnx_int8")
    assert sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) < 40e6


def test_the_blend_weight_is_the_selection_best_and_the_release_scores_with_it(built) -> None:
    from model.text_ensemble import BlendedTextClassifier

    blend = json.loads((built["work"] / "blend.json").read_text(encoding="utf-8"))
    means = {float(w): s["mean"] for w, s in blend["selection"].items()}
    assert set(means) == set(CONFIG.ngram_weights)
    assert round(means[blend["ngram_weight"]], 3) == round(max(means.values()), 3)
    bundle = load_bundle(built["out"])
    if blend["ngram_weight"]:
        assert isinstance(bundle.classifier, BlendedTextClassifier)
        assert bundle.manifest["ngram_weight"] == blend["ngram_weight"]
        assert Policy.load(bundle.policy_path).chosen_on["ngram_weight"] == blend["ngram_weight"]
    else:
        assert "ngram_weight" not in bundle.manifest and not (built["out"] / "ngram").exists()


def test_int8_parity_on_the_whole_test_split(built) -> None:
    parity = json.loads((built["work"] / "stages" / "parity.json").read_text())["outputs"]
    int8 = parity["onnx_int8"]
    assert int8["rows"] > 100
    assert parity["ok"] and int8["decision_agreement"] >= CONFIG.min_parity
    assert int8["mean_abs_diff"] < 0.01 and int8["max_abs_diff"] < 0.1
    assert parity["onnx_fp32"]["max_abs_diff"] < 1e-4


def test_model_card_reports_what_the_issue_asks(built) -> None:
    card = (built["out"] / CARD_FILE).read_text(encoding="utf-8")
    for needle in (
        "Headline figures",
        "| dev (hand-written) |",
        "sha256 of its `manifest.json`",
        "MIT",
        "baseline",
        "teacher_torch",
        "student_torch",
        "Recall per evasion trick",
        "FP32 vs INT8 parity",
        "Blend with the n-gram baseline",
        "posts/s (batch 32)",
        "posts/s (calls of 32)",
        "Known weaknesses",
        "feedguard model build --data",
        "python -m eval.bench_text",
        "Expected calibration error",
        "Moderator labels in training: 0",
        "How precise these figures are",
        "Difference from `release` on the same draws",
        f"Scored all in one call against one post per call ({CONFIG.batch_check_posts} test posts",
        "decision (dynamic INT8 scales each call's activations together",
        "dynamic INT8 ONNX",
    ):
        assert needle in card, needle
    report = built["report"]
    assert "by generator family" in (report / "README.md").read_text(encoding="utf-8")
    assert {p.name for p in report.glob("*.png")} >= {
        "pr_test.png",
        "confusion_test.png",
        "hist_real_normal.png",
    }


def test_score_and_eval_commands_run_on_the_release(built, tmp_path: Path) -> None:
    from eval.cli import app as eval_app
    from model.score_cli import app as score_app

    posts = tmp_path / "posts.jsonl"
    posts.write_text(
        json.dumps({"id": "a", "text": "招 代 理，宝妈在家就能做，加薇信"}, ensure_ascii=False)
        + "\nnot json\n",
        encoding="utf-8",
    )
    scored = CliRunner().invoke(score_app, ["--in", str(posts), "--release", str(built["out"])])
    assert scored.exit_code == 1 and "line 2: not valid JSON" in scored.stderr
    row = json.loads(scored.stdout.splitlines()[0])
    assert row["id"] == "a" and set(row["scores"]) == set(LABELS)

    out = tmp_path / "report"
    result = CliRunner().invoke(
        eval_app,
        [
            "--data",
            str(built["data"]),
            "--release",
            str(built["out"]),
            "--work",
            str(built["work"]),
            "--out",
            str(out),
            "--threads",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "dev: macro-F1" in result.stdout and (out / "README.md").is_file()
    # feedguard eval and the build compute the release figures the same way, on every split: the
    # selection splits (dev, validation) have a post exactly on each threshold, so any drift shows.
    built_metrics = json.loads((built["report"] / "metrics.json").read_text())["release"]
    eval_metrics = json.loads((out / "metrics.json").read_text())["release"]
    assert set(eval_metrics) == set(built_metrics) >= {"test", "dev", "validation"}
    for split, figures in built_metrics.items():
        assert eval_metrics[split]["macro_f1"] == pytest.approx(figures["macro_f1"], abs=1e-9), split


def test_rerun_reuses_finished_stages_and_a_changed_student_reruns_from_there(built, tmp_path: Path) -> None:
    build_release(
        built["data"], built["out"], built["work"], CONFIG, report_dir=built["report"], progress=False
    )
    log = (built["work"] / "build.log").read_text()
    for stage in (
        "vocab",
        "baseline",
        "teacher",
        "student",
        "export",
        "predict",
        "blend",
        "calibrate",
        "eval",
        "bench",
    ):
        assert f"stage {stage}: cached" in log, stage
    teacher_before = (built["work"] / "stages" / "teacher.json").read_text()
    more_posts = tmp_path / "more_threshold_posts.jsonl"
    more_posts.write_text(
        '{"text": "新到的野生菌 私我下单", "labels": ["hard_sell"]}\n{"text": "今天带娃去公园", "labels": []}\n',
        encoding="utf-8",
    )
    changed = replace(
        CONFIG,
        student=replace(TINY, max_steps=20, ema_decay=0.9, source_repeat=(("generated+real", 2),)),
        student_seed=7,
        student_minutes=30,
        calibration=replace(CONFIG.calibration, label_bags=9),
        # The dev file is a valid holdout file; any labelled JSON Lines file would do. Two files are
        # read as one source, each recorded with its sha256.
        threshold_posts=(str(DEV_FILE), str(more_posts)),
        bench=False,
    )
    build_release(
        built["data"], built["out"], built["work"], changed, report_dir=built["report"], progress=False
    )
    assert (built["work"] / "stages" / "teacher.json").read_text() == teacher_before
    student = json.loads((built["work"] / "stages" / "student.json").read_text())["outputs"]
    assert student["steps"] == 20
    card = (built["out"] / CARD_FILE).read_text(encoding="utf-8")
    assert "--student-ema 0.9 " in card and "weights averaged with decay 0.9" in card
    assert "--distill-repeat generated+real=2 " in card and "generated+real posts 2× per pass" in card
    assert f"--seed {CONFIG.seed} --student-seed 7 " in card
    assert " --student-minutes 30 " in card and "student 30 minutes of its own" in card
    # TINY's patience (TrainConfig's 4) is not the release default (8), so the command names it.
    assert f" --max-steps {TINY.max_steps} --student-max-steps 20 --patience {TINY.patience} " in card
    assert " --label-bags 9" in card and "median of that cut over 9 bootstrap draws" in card
    chosen_on = Policy.load(built["out"] / POLICY_FILE).chosen_on
    assert chosen_on["label_bags"] == 9
    posts = [line for line in DEV_FILE.read_text(encoding="utf-8").split("\n") if line.strip()]
    assert chosen_on["rows"]["threshold_posts"] == len(posts) + 2
    assert [file["path"] for file in chosen_on["threshold_posts"]] == [str(DEV_FILE), str(more_posts)]
    assert chosen_on["threshold_posts"][1]["sha256"] == sha256_file(more_posts)
    assert f" --threshold-posts {DEV_FILE} --threshold-posts {more_posts}" in card
    assert (
        f"Thresholds are also set on {len(posts) + 2} threshold posts (`{DEV_FILE}`, `{more_posts}`)" in card
    )
    stability = CliRunner().invoke(
        stability_app, ["--work", str(built["work"]), "--data", str(built["data"]), "--resamples", "2"]
    )
    assert stability.exit_code == 0, stability.output
    load_bundle(built["out"])  # the rebuilt release is consistent


def test_an_extra_teacher_is_trained_and_the_student_learns_from_both(built, tmp_path: Path) -> None:
    """On a copy of the work dir: the first teacher stays cached, a second is trained, the student reruns."""
    work, out = tmp_path / "work", tmp_path / "release"
    shutil.copytree(built["work"], work)
    two = replace(CONFIG, extra_teachers=1, bench=False)
    build_release(built["data"], out, work, two, report_dir=tmp_path / "report", progress=False)
    log = (work / "build.log").read_text()
    assert "stage teacher: cached" in log and "stage teacher_2: cached" not in log
    second = json.loads((work / "stages" / "teacher_2.json").read_text())["outputs"]
    assert Path(second["best_dir"]) == work / "teacher_2" / "best" and second["steps"] == TINY.max_steps
    student_before = json.loads((built["work"] / "stages" / "student.json").read_text())["fingerprint"]
    assert json.loads((work / "stages" / "student.json").read_text())["fingerprint"] != student_before
    card = (out / CARD_FILE).read_text(encoding="utf-8")
    assert f"--seed {CONFIG.seed} --extra-teachers 1 " in card
    assert f"| teacher 2 (seed {CONFIG.seed + 1}) | 2 | " in card
    assert f"mean logits of 2 teachers (seeds {CONFIG.seed}, {CONFIG.seed + 1}" in card
    assert ", teacher_2 " in card.split("Stage times (s): ")[1]  # its training time is in the card
    load_bundle(out)


def test_a_teacher_repeat_retrains_the_teacher_and_an_absent_source_is_refused_first(
    built, tmp_path: Path
) -> None:
    """On a copy of the work dir: a source the build lacks stops it before any training; one it has
    retrains the teacher with those rows repeated (and, the same retraining, label loss weights), and
    the card's command and training line say so."""
    work, out = tmp_path / "work", tmp_path / "release"
    shutil.copytree(built["work"], work)
    log = work / "build.log"
    absent = replace(CONFIG, teacher=replace(TINY, source_repeat=(("moderator", 2),)), bench=False)
    before = len(log.read_text())
    with pytest.raises(ValueError, match="names source 'moderator', which split 'train' does not have"):
        build_release(built["data"], out, work, absent, report_dir=tmp_path / "report", progress=False)
    assert "stage teacher" not in log.read_text()[before:]
    repeated = replace(
        CONFIG,
        teacher=replace(TINY, source_repeat=(("generated+real", 2),), label_weights=(1.0, 1.0, 2.0)),
        student=replace(TINY, label_weights=(1.0, 1.0, 2.0)),
        bench=False,
    )
    before = len(log.read_text())
    build_release(built["data"], out, work, repeated, report_dir=tmp_path / "report", progress=False)
    assert "stage teacher: running" in log.read_text()[before:]
    card = (out / CARD_FILE).read_text(encoding="utf-8")
    assert "--teacher-repeat generated+real=2 --label-weights hard_sell=1,recruitment=1,fake_proof=2 " in card
    weights = "label loss weights hard_sell=1,recruitment=1,fake_proof=2 (scaled to mean 1)"
    assert f"steps, generated+real posts 2× per pass, {weights}. Student: " in card
    assert card.count(weights) == 2  # the student's training line too
    load_bundle(out)


@pytest.mark.parametrize(
    ("quantization", "why", "meta_start"),
    [
        ("static", "static INT8 fixes every activation scale", "static QInt8"),
        ("per-token", "per-token INT8 scales each token's activations alone", "per-token INT8"),
    ],
)
def test_another_int8_reruns_from_the_export_and_the_release_scores_a_post_alike_in_any_batch(
    built, tmp_path: Path, quantization: str, why: str, meta_start: str
) -> None:
    """On a copy of the work dir: the export reruns; the card names the quantization and measures 0 flips."""
    work, out = tmp_path / "work", tmp_path / "release"
    shutil.copytree(built["work"], work)
    before = len((work / "build.log").read_text())
    config = replace(CONFIG, quantization=quantization, calibration_posts=64, bench=False)
    build_release(built["data"], out, work, config, report_dir=tmp_path / "report", progress=False)
    log = (work / "build.log").read_text()[before:]
    # The teacher stays cached (an earlier test here retrained the shared work dir's student).
    assert "stage teacher: cached" in log and "stage export: running" in log
    card = (out / CARD_FILE).read_text(encoding="utf-8")
    assert f"{quantization} INT8 ONNX" in card and f" --quantization {quantization}" in card
    assert f"0 posts change their `label` decision ({why}" in card
    import onnx

    meta = {p.key: p.value for p in onnx.load(str(out / MODEL_FILE)).metadata_props}
    assert meta["quantization"].startswith(meta_start)
    if quantization == "static":
        assert "(min/max over 64 calibration posts)" in meta["quantization"]
    load_bundle(out)


def test_int8_weight_storage_and_a_negative_tolerance_release_a_smaller_teacher(
    built, tmp_path: Path
) -> None:
    """On a copy of the work dir: the export reruns with the down-projections stored INT8, and a
    tolerance of -1 (the student must lead by 1) releases the teacher; the card says both."""
    work, out = tmp_path / "work", tmp_path / "release"
    shutil.copytree(built["work"], work)
    before = len((work / "build.log").read_text())
    config = replace(CONFIG, ffn_weights="int8", student_tolerance=-1.0, bench=False)
    build_release(built["data"], out, work, config, report_dir=tmp_path / "report", progress=False)
    log = (work / "build.log").read_text()[before:]
    assert "stage teacher: cached" in log and "stage export: running" in log
    card = (out / CARD_FILE).read_text(encoding="utf-8")
    assert " --ffn-weights int8" in card and "FFN down-projection weights stored INT8 (computed FP32)" in card
    assert " --student-tolerance -1 " in card
    assert "the student is released only if it leads by at least 1.00 → released: **teacher**." in card
    teacher_int8 = Path("onnx") / "teacher_int8.onnx"
    assert (work / teacher_int8).stat().st_size < (built["work"] / teacher_int8).stat().st_size
    assert (out / MODEL_FILE).read_bytes() == (work / teacher_int8).read_bytes()
    import onnx

    meta = {p.key: p.value for p in onnx.load(str(out / MODEL_FILE)).metadata_props}
    assert meta["quantization"].endswith("INT8 storage (blocks of 32)")
    load_bundle(out)


def test_an_escalation_band_makes_the_release_a_cascade_that_eval_reproduces(built, tmp_path: Path) -> None:
    """Last in this file: it rewrites the shared work dir's blend, policy and report for a cascade."""
    from eval.cli import app as eval_app
    from model.bundle import ESCALATION_FIELD
    from model.text_cascade import CascadeTextClassifier
    from train.release import ESCALATION_MODEL_FILE

    # Tolerance 1 releases the student, the only role that escalates; no benchmark, to keep it short.
    cascade = replace(CONFIG, escalate_band=1.0, student_tolerance=1.0, bench=False)
    out, report = tmp_path / "cascade", tmp_path / "built-report"
    build_release(built["data"], out, built["work"], cascade, report_dir=report, progress=False)
    blend = json.loads((built["work"] / "blend.json").read_text(encoding="utf-8"))
    escalation = blend["escalation"]
    teacher_means = {float(w): s["mean"] for w, s in escalation["teacher_selection"].items()}
    assert round(teacher_means[escalation["ngram_weight"]], 3) == round(max(teacher_means.values()), 3)
    assert escalation["band"] == 1.0 and escalation["role"] == "teacher"
    assert escalation["escalated"]["test"] > 0  # the tiny student is unsure of many posts

    bundle = load_bundle(out)
    assert isinstance(bundle.classifier, CascadeTextClassifier)
    assert bundle.manifest[ESCALATION_FIELD]["ngram_weight"] == escalation["ngram_weight"]
    teacher_onnx = built["work"] / "onnx" / "teacher_int8.onnx"
    assert (out / ESCALATION_MODEL_FILE).read_bytes() == teacher_onnx.read_bytes()
    assert Policy.load(bundle.policy_path).chosen_on["escalation"]["band"] == 1.0
    card = (out / CARD_FILE).read_text(encoding="utf-8")
    assert "--escalate-band 1" in card and "a **cascade**" in card and "Cascade (`--escalate-band 1`" in card

    result = CliRunner().invoke(
        eval_app,
        [
            "--data",
            str(built["data"]),
            "--release",
            str(out),
            "--out",
            str(tmp_path / "eval"),
            "--threads",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    # The served cascade (bundle) and the build's figures (saved INT8 predictions) agree.
    built_metrics = json.loads((report / "metrics.json").read_text())["release"]
    eval_metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())["release"]
    for split in ("test", "dev", "validation"):
        assert eval_metrics[split]["macro_f1"] == pytest.approx(built_metrics[split]["macro_f1"], abs=1e-9), (
            split
        )

    # Without the cascade's served scores a stage that needs them stops and says how to recompute
    # them, rather than falling back to the saved scores (which serving would not reproduce).
    shutil.rmtree(built["work"] / "predictions" / "cascade_onnx_int8")
    (built["work"] / "stages" / "calibrate.json").unlink()
    with pytest.raises(ValueError, match=r"cascade_onnx_int8 is missing; delete .*blend\.json and rerun"):
        build_release(built["data"], out, built["work"], cascade, report_dir=report, progress=False)
