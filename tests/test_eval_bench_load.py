"""eval.bench_load: a release loaded in fresh processes, its load time and memory reported per release."""

from __future__ import annotations

import json

import pytest
from support.release_fixtures import POSTS, blended_release
from typer.testing import CliRunner

from eval.bench_load import FIGURES, app, bench_load, load_table


def test_each_release_is_loaded_in_fresh_processes_and_reported(tmp_path) -> None:
    release = blended_release(tmp_path / "tiny", layers=1, hidden=32, seed=13, weight=0.3)
    result = bench_load([release], runs=2, threads=1)
    row = result[str(release)]
    assert row["runs"] == 2 and set(FIGURES) <= set(row)
    # A ready scorer takes longer than loading alone and a Python process with onnxruntime holds tens of MB.
    assert 0 < row["load_s"] < row["ready_s"] and row["rss_mb"] > 20 and row["peak_rss_mb"] >= row["rss_mb"]
    assert str(release) in load_table(result) and "RSS after the posts" not in load_table(result)

    posts = tmp_path / "posts.jsonl"
    posts.write_text("".join(json.dumps({"text": t}) + "\n" for t in POSTS), encoding="utf-8")
    with_posts = bench_load([release], runs=1, threads=1, posts=posts)[str(release)]
    assert with_posts["rss_after_posts_mb"] > 20
    assert "RSS after the posts" in load_table({"tiny": with_posts})

    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / "manifest.json").write_text("{", encoding="utf-8")
    with pytest.raises(RuntimeError, match=r"loading .*damaged failed: .*not valid JSON"):
        bench_load([damaged], runs=1)
    with pytest.raises(ValueError, match="'runs' parameter of bench_load must be at least 1"):
        bench_load([release], runs=0)


def test_the_command_refuses_bad_input_in_one_line(tmp_path) -> None:
    runner = CliRunner()
    empty = tmp_path / "empty"
    empty.mkdir()
    out = runner.invoke(app, ["--release", str(empty)])
    assert out.exit_code == 2 and "no release (manifest.json) in" in out.output
    out = runner.invoke(app, ["--release", str(empty), "--runs", "0"])
    assert out.exit_code == 2 and "--runs must be at least 1" in out.output
    release = blended_release(tmp_path / "tiny", layers=1, hidden=32, seed=13, weight=0.3)
    out = runner.invoke(app, ["--release", str(release), "--posts", str(tmp_path / "none.jsonl")])
    assert out.exit_code == 2 and "is not a file" in out.output
