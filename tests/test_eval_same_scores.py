"""eval.same_scores: the check that lets a repacked release go out without a judge."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from support.release_fixtures import POSTS, blended_release
from typer.testing import CliRunner

from eval.same_scores import app, compare_releases


@pytest.fixture(scope="module")
def releases(tmp_path_factory) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("same")
    first = blended_release(root / "first", layers=1, hidden=32, seed=13, weight=0.3)
    copy = shutil.copytree(first, root / "copy")
    other = blended_release(root / "other", layers=1, hidden=32, seed=14, weight=0.3)
    return first, copy, other


def test_a_copy_serves_bit_identical_logits_and_another_model_does_not(releases) -> None:
    first, copy, other = releases
    same = compare_releases(first, copy, POSTS, threads=1)
    assert same == {
        "posts": len(POSTS),
        "identical": True,
        "max_abs_logit_gap": 0.0,
        "posts_decided_otherwise": 0,
    }
    differ = compare_releases(first, other, POSTS, threads=1)
    assert not differ["identical"] and differ["max_abs_logit_gap"] > 0


def test_the_command_reports_in_one_line_and_refuses_bad_input_in_one_line(releases, tmp_path) -> None:
    first, copy, _ = releases
    posts = tmp_path / "posts.jsonl"
    posts.write_text(
        "".join(
            json.dumps({"id": f"p{i}", "text": t, "labels": []}, ensure_ascii=False) + "\n"
            for i, t in enumerate(POSTS)
        ),
        encoding="utf-8",
    )
    runner = CliRunner()
    ok = runner.invoke(
        app, ["--release", str(first), "--release", str(copy), "--posts", str(posts), "--threads", "1"]
    )
    assert ok.exit_code == 0, ok.output
    assert (
        ok.output.strip()
        == f"{len(POSTS)} posts: logits bit-identical (largest gap 0); 0 posts given other labels or another action"
    )
    for args, message in (
        (["--release", str(first), "--posts", str(posts)], "give --release exactly twice"),
        (
            ["--release", str(first), "--release", str(copy), "--posts", str(tmp_path / "none.jsonl")],
            "--posts:",
        ),
        (["--release", str(first), "--release", str(tmp_path), "--posts", str(posts)], "No model release in"),
    ):
        outcome = runner.invoke(app, args)
        assert outcome.exit_code == 2 and message in outcome.output, outcome.output
        assert len(outcome.output.strip().splitlines()) == 1
