"""`feedguard model ...` and `feedguard eval`: help texts and one-line usage errors (exit code 2)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eval.cli import app as eval_app
from train.cli import app as model_app


@pytest.mark.parametrize("verb", ["build", "baseline", "train-teacher", "distill", "calibrate", "shrink"])
def test_every_model_verb_has_help(verb: str) -> None:
    result = CliRunner().invoke(model_app, [verb, "--help"])
    assert result.exit_code == 0 and "Usage" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["build", "--size", "huge"], "--size must be one of small, default"),
        (["build", "--data", "/nonexistent"], "--data must be a dataset build"),
        (["build", "--budget-minutes", "0"], "--budget-minutes must be > 0"),
        (["build", "--student-minutes", "-5"], "--student-minutes must be > 0"),
        (["build", "--student-max-steps", "0"], "--student-max-steps must be > 0"),
        (["build", "--patience", "0"], "--patience must be > 0"),
        (
            ["build", "--student-layers", "6", "--teacher-layers", "4"],
            "--student-layers and --teacher-layers",
        ),
        (["build", "--threads", "0"], "--threads must be > 0"),
        (["build", "--label-bags", "-1"], "--label-bags must be >= 0"),
        (["build", "--threshold-posts", "/nonexistent.jsonl"], "--threshold-posts must be a JSON Lines file"),
        (["build", "--student-tolerance", "2"], "--student-tolerance must be in -1..1"),
        (["build", "--student-tolerance", "-1.5"], "--student-tolerance must be in -1..1"),
        (["build", "--distill-alpha", "1.5"], "--distill-alpha must be in 0..1"),
        (["build", "--distill-splice", "5"], "--distill-splice must be in 0..4"),
        (["build", "--distill-embed", "-1"], "--distill-embed must be in 0..100"),
        (["build", "--student-ema", "1"], "--student-ema must be in [0, 1)"),
        (["build", "--distill-repeat", "handwritten"], "--distill-repeat takes SOURCE=TIMES"),
        (["build", "--distill-repeat", "handwritten=0"], "--distill-repeat takes SOURCE=TIMES"),
        (["build", "--distill-repeat", "a=2,a=3"], "--distill-repeat names a source twice"),
        (["build", "--teacher-repeat", "handwritten=x"], "--teacher-repeat takes SOURCE=TIMES"),
        (["build", "--teacher-repeat", "a=2,a=3"], "--teacher-repeat names a source twice"),
        (["build", "--label-weights", "fake_proof"], "--label-weights takes LABEL=WEIGHT"),
        (["build", "--label-weights", "spam=2"], "--label-weights takes LABEL=WEIGHT"),
        (["build", "--label-weights", "fake_proof=0"], "--label-weights takes LABEL=WEIGHT"),
        (["build", "--label-weights", "fake_proof=2,fake_proof=3"], "--label-weights takes LABEL=WEIGHT"),
        (["build", "--quantization", "fp16"], "--quantization must be one of dynamic, static, per-token"),
        (["build", "--ffn-weights", "fp16"], "--ffn-weights must be one of fp32, int8"),
        (["build", "--escalate-band", "0"], "--escalate-band must be in (0, 20]"),
        (["build", "--escalate-band", "25"], "--escalate-band must be in (0, 20]"),
        (["build", "--student-pick", "top"], "--student-pick must be one of spread, bottom"),
        (["build", "--extra-teachers", "5"], "--extra-teachers must be in 0..4"),
        (
            ["build", "--extra-teachers", "1", "--distill-embed", "1"],
            "--distill-embed matches one teacher's post embedding",
        ),
        (["baseline", "--data", "/nonexistent"], "--data must be a dataset build"),
        (
            [
                "calibrate",
                "--data",
                "/nonexistent",
                "--model",
                "m.onnx",
                "--tokenizer",
                "t",
                "--out",
                "p.json",
            ],
            "--data must be a dataset build",
        ),
    ],
)
def test_model_usage_errors_exit_2_with_one_line(args: list[str], message: str) -> None:
    result = CliRunner().invoke(model_app, args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_eval_usage_errors_exit_2_with_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(eval_app, ["--data", str(tmp_path)])
    assert result.exit_code == 2 and "--data must be a dataset build" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert CliRunner().invoke(eval_app, ["--help"]).exit_code == 0


def test_release_config_refuses_a_tolerance_outside_minus_1_to_1() -> None:
    from train.release import ReleaseConfig

    with pytest.raises(ValueError, match="'student_tolerance' parameter of ReleaseConfig"):
        ReleaseConfig(student_tolerance=-1.1)


def test_release_config_refuses_an_unknown_student_pick_and_resolves_the_known_ones() -> None:
    from train.release import ReleaseConfig

    with pytest.raises(ValueError, match="'student_pick' parameter of ReleaseConfig"):
        ReleaseConfig(student_pick="top")
    assert ReleaseConfig(student_layers=6, student_pick="bottom").student_layer_indices() == list(range(6))
    assert ReleaseConfig(student_layers=4).student_layer_indices() == [0, 4, 7, 11]


def test_release_config_refuses_an_unknown_quantization_and_bad_post_counts() -> None:
    from train.release import ReleaseConfig

    with pytest.raises(
        ValueError,
        match="'quantization' parameter of ReleaseConfig must be one of dynamic, static, per-token",
    ):
        ReleaseConfig(quantization="int4")
    with pytest.raises(
        ValueError, match="'ffn_weights' parameter of ReleaseConfig must be one of fp32, int8"
    ):
        ReleaseConfig(ffn_weights="int4")
    for name in ("calibration_posts", "batch_check_posts"):
        for bad in (0, 2.5, True):
            with pytest.raises(
                ValueError, match=f"'{name}' parameter of ReleaseConfig must be a positive int"
            ):
                ReleaseConfig(**{name: bad})
    assert ReleaseConfig().quantization == "dynamic"  # static is opt-in until it is judged
    assert ReleaseConfig().ffn_weights == "fp32"  # int8 storage is opt-in until it is judged


def test_release_config_takes_threshold_posts_as_a_tuple_of_paths_and_reads_both_recorded_shapes(
    tmp_path: Path,
) -> None:
    from model.bundle import sha256_file
    from train.release import (
        ReleaseConfig,
        recorded_threshold_files,
        threshold_post_paths,
        threshold_post_record,
    )

    for bad in ("posts.jsonl", ("a.jsonl", ""), ["a.jsonl"]):
        with pytest.raises(ValueError, match="'threshold_posts' parameter of ReleaseConfig must be a tuple"):
            ReleaseConfig(threshold_posts=bad)
    assert ReleaseConfig().threshold_posts == ()
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    first.write_text('{"text": "a", "labels": []}\n', encoding="utf-8")
    second.write_text('{"text": "b", "labels": []}\n', encoding="utf-8")
    # One file is recorded as every release before several were allowed recorded it, so rebuilding one
    # of them writes the same policy; several become a list.
    one = threshold_post_record([first])
    assert one == {"path": str(first), "sha256": sha256_file(first)}
    both = threshold_post_record([first, second])
    assert both == [one, {"path": str(second), "sha256": sha256_file(second)}]
    assert recorded_threshold_files(one) == [one] and recorded_threshold_files(both) == both
    assert recorded_threshold_files(None) == []
    # Cards of older builds name one path (or none); later ones a list.
    assert threshold_post_paths(str(first)) == [str(first)]
    assert threshold_post_paths([str(first), str(second)]) == [str(first), str(second)]
    assert threshold_post_paths(None) == []


def test_release_config_refuses_bad_ngram_weights() -> None:
    from train.release import ReleaseConfig

    with pytest.raises(ValueError, match="'ngram_weights' parameter of ReleaseConfig must not be empty"):
        ReleaseConfig(ngram_weights=())
    with pytest.raises(ValueError, match=r"'ngram_weight' of ReleaseConfig must be a number in \[0, 1\)"):
        ReleaseConfig(ngram_weights=(0.0, 1.0))
    assert 0.0 in ReleaseConfig().ngram_weights  # the encoder alone is always a candidate


def test_release_config_refuses_a_band_that_is_not_positive() -> None:
    from train.release import ReleaseConfig

    with pytest.raises(
        ValueError, match=r"'band' of ReleaseConfig \(escalate_band\) must be a positive number"
    ):
        ReleaseConfig(escalate_band=-1.0)
    assert ReleaseConfig().escalate_band is None  # a cascade is opt-in


def test_a_student_seed_reseeds_the_student_alone() -> None:
    """The teacher's run (and so its cached stage) keeps the build seed; the student's takes its own."""
    from train.finetune import run_fingerprint
    from train.release import ReleaseConfig

    base, reseeded = ReleaseConfig(seed=13), ReleaseConfig(seed=13, student_seed=14)
    assert base.student_config().seed == 13 and reseeded.student_config().seed == 14
    assert run_fingerprint(reseeded.teacher_config()) == run_fingerprint(base.teacher_config())
    assert run_fingerprint(reseeded.student_config()) != run_fingerprint(base.student_config())


def test_student_minutes_set_the_students_budget_alone() -> None:
    """A longer student run keeps the teacher's run (and cached stage); without it the student has its share."""
    from train.finetune import run_fingerprint
    from train.release import ReleaseConfig

    base = ReleaseConfig(budget_minutes=75)
    longer = ReleaseConfig(budget_minutes=75, student_minutes=50)
    assert base.student_config().time_budget_s == pytest.approx(75 * 60 * 0.35)
    assert longer.student_config().time_budget_s == 50 * 60
    assert longer.teacher_config().time_budget_s == base.teacher_config().time_budget_s
    assert run_fingerprint(longer.teacher_config()) == run_fingerprint(base.teacher_config())
    assert run_fingerprint(longer.student_config()) != run_fingerprint(base.student_config())
    assert ReleaseConfig(student_minutes=20).student_config().time_budget_s == 20 * 60
    with pytest.raises(ValueError, match=r"'student_minutes' parameter of ReleaseConfig must be > 0"):
        ReleaseConfig(student_minutes=0)


def test_the_cards_budget_sentence_says_whether_minutes_or_step_caps_bounded_training() -> None:
    """A build under step caps alone trains the same steps on any host; the card must say which it was."""
    from train.release import ReleaseConfig, _budget_sentence

    capped = ReleaseConfig()
    capped = replace(
        capped,
        teacher=replace(capped.teacher, max_steps=5325),
        student=replace(capped.student, max_steps=5773),
    )
    sentence = _budget_sentence(capped.to_dict())
    assert "step caps teacher 5325, student 5773" in sentence and "do not depend on the host" in sentence
    assert "epochs" in _budget_sentence(ReleaseConfig().to_dict())
    timed = _budget_sentence(ReleaseConfig(budget_minutes=75, student_minutes=30).to_dict())
    assert timed == "Budget: 75 minutes (65% teacher); student 30 minutes of its own."


def test_extra_teachers_are_seeded_after_the_build_seed_and_keep_the_first_teachers_run() -> None:
    """Teacher 0 keeps its run (and cached stage); teacher i is the same run seeded ``seed + i``."""
    from train.finetune import run_fingerprint
    from train.release import ReleaseConfig, teacher_role

    base, two = ReleaseConfig(seed=13), ReleaseConfig(seed=13, extra_teachers=1)
    assert run_fingerprint(two.teacher_config()) == run_fingerprint(base.teacher_config())
    assert (
        two.teacher_config(1).seed == 14
        and two.teacher_config(1).time_budget_s == two.teacher_config().time_budget_s
    )
    assert [teacher_role(i) for i in range(3)] == ["teacher", "teacher_2", "teacher_3"]
    with pytest.raises(ValueError, match=r"'index' parameter of teacher_config must be in 0\.\.0"):
        base.teacher_config(1)
    with pytest.raises(
        ValueError, match=r"'extra_teachers' parameter of ReleaseConfig must be an int in 0\.\.4"
    ):
        ReleaseConfig(extra_teachers=-1)
    from dataclasses import replace

    from train.finetune import TrainConfig

    with pytest.raises(ValueError, match=r"cannot be combined with student\.distill_embed > 0"):
        ReleaseConfig(extra_teachers=1, student=replace(TrainConfig(), distill_embed=1.0))


def test_a_teacher_repeat_reaches_every_teacher_and_leaves_the_students_rows_alone() -> None:
    """``--teacher-repeat`` is the teachers' own knob: extra teachers share it, the student does not."""
    from dataclasses import replace

    from train.finetune import TrainConfig, run_fingerprint
    from train.release import ReleaseConfig

    repeat = (("handwritten", 4),)
    base = ReleaseConfig(seed=13, extra_teachers=1)
    repeated = replace(base, teacher=replace(TrainConfig(), source_repeat=repeat))
    assert repeated.teacher_config().source_repeat == repeat
    assert repeated.teacher_config(1).source_repeat == repeat
    assert repeated.student_config().source_repeat == ()
    assert run_fingerprint(repeated.teacher_config()) != run_fingerprint(base.teacher_config())
    assert run_fingerprint(repeated.student_config()) == run_fingerprint(base.student_config())
