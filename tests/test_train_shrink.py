"""`feedguard model shrink`: a release rewritten with smaller weight storage, on real (tiny) releases."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from support.release_fixtures import ORDINARY, POSTS, SELLING, blended_release
from typer.testing import CliRunner

from eval.text_report import EvalSplit
from model.bundle import (
    MANIFEST,
    NGRAM_WEIGHT_FIELD,
    load_bundle,
    read_manifest,
)
from model.ngram_model import WEIGHTS_FILE
from model.onnx_export import ffn_down_projections
from train.cli import app as model_app
from train.release import CARD_FILE, MODEL_FILE
from train.shrink import STORAGE_FIELD, shrink_release


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """An untrained two-layer release blended with a fitted n-gram model, as a build writes one."""
    return blended_release(tmp_path_factory.mktemp("source") / "release", layers=2, hidden=64, weight=0.4)


def _files(directory: Path) -> dict[str, bytes]:
    return {p.relative_to(directory).as_posix(): p.read_bytes() for p in directory.rglob("*") if p.is_file()}


def test_a_shrunk_release_loads_scores_like_its_source_and_records_what_changed(source, tmp_path):
    before = _files(source)
    result = shrink_release(
        source, tmp_path / "shrunk", command="feedguard model shrink ...", code_version="test"
    )
    out = tmp_path / "shrunk"
    assert _files(source) == before  # the source is left as it was
    assert result["size_mb"] < result["source_mb"]
    assert (out / MODEL_FILE).stat().st_size < (source / MODEL_FILE).stat().st_size
    # The policy, tokenizer and n-gram settings are the source's bytes; the n-gram weights are float32 now.
    for same in (
        "policy.json",
        "tokenizer.json",
        "char_map.json",
        "ngram/baseline.json",
    ):
        assert (out / same).read_bytes() == (source / same).read_bytes()
    with np.load(out / "ngram" / WEIGHTS_FILE) as stored, np.load(source / "ngram" / WEIGHTS_FILE) as old:
        assert set(stored.files) == set(old.files)
        floats = [k for k in old.files if np.issubdtype(old[k].dtype, np.floating)]
        assert floats and all(
            stored[k].dtype == np.float32 and np.allclose(stored[k], old[k], rtol=1e-6) for k in floats
        )
        assert all(np.array_equal(stored[k], old[k]) for k in set(old.files) - set(floats))  # the n-grams
    assert ffn_down_projections(out / MODEL_FILE) == ffn_down_projections(source / MODEL_FILE)
    manifest = read_manifest(out)
    storage = manifest[STORAGE_FIELD]
    assert storage["source_manifest_sha256"] == result["source_manifest_sha256"]
    assert storage["ngram_weights"] == "float32" and storage["code_version"] == "test"
    assert manifest[NGRAM_WEIGHT_FIELD] == 0.4 and manifest["seed"] == read_manifest(source)["seed"]
    shrunk, original = load_bundle(out, intra_op_threads=1), load_bundle(source, intra_op_threads=1)
    got, want = shrunk.classifier.logits(POSTS), original.classifier.logits(POSTS)
    assert not np.array_equal(got, want)  # the weights really were rounded
    np.testing.assert_allclose(got, want, atol=0.05)
    card = (out / CARD_FILE).read_text(encoding="utf-8")
    assert result["source_manifest_sha256"] in card and "feedguard model shrink ..." in card
    assert "Not re-measured" in card and "## The model as built" in card and "Random weights" in card


def test_the_same_source_gives_the_same_bytes(source, tmp_path):
    for name in ("a", "b"):
        shrink_release(source, tmp_path / name, command="same", code_version="test")
    assert _files(tmp_path / "a") == _files(tmp_path / "b")
    with zipfile.ZipFile(tmp_path / "a" / "ngram" / WEIGHTS_FILE) as archive:
        assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in archive.infolist())


def test_the_card_gives_figures_measured_on_both_releases_when_posts_are_passed(source, tmp_path):
    y = np.array([[1, 1, 1]] * len(SELLING) + [[0, 0, 0]] * len(ORDINARY), dtype=np.float32)
    splits = {"test": EvalSplit("test", POSTS, y), "real_normal": EvalSplit("real_normal", ORDINARY, y[4:])}
    result = shrink_release(
        source, tmp_path / "shrunk", splits=splits, bench_texts=POSTS, threads=1, quiet_below=1e9
    )
    assert result["bench"]["load_average"]["quiet_below"] == 1e9  # any machine is that quiet: no wait
    figures = result["figures"]
    assert set(figures) == {"source", "release"} and set(figures["release"]) == {"test", "real_normal"}
    assert "difference" in figures["release"]["test"]["interval"]
    card = (tmp_path / "shrunk" / CARD_FILE).read_text(encoding="utf-8")
    assert (
        "## Figures of these files beside the source's" in card
        and "| release |" in card
        and "| source |" in card
    )
    test_f1 = figures["release"]["test"]["macro_f1"]
    assert card.index(f"| test | {test_f1:.3f} |") < card.index(
        "## The model as built"
    )  # the first test row is ours
    assert list(result["bench"]["models"]) == ["the source (as served)", "this release (as served)"]
    assert (
        "## Speed of these files and the source's, in one run" in card
        and "Timing began once the load was under 1e+09" in card
        and "| this release (as served) |" in card
    )


def test_shrink_refuses_what_it_cannot_shrink_and_leaves_nothing_behind(source, tmp_path):
    with pytest.raises(ValueError, match="must not be the source release"):
        shrink_release(source, source)
    with pytest.raises(ValueError, match="or inside it"):
        shrink_release(source, source / "shrunk")
    assert not (source / "shrunk").exists()
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("x")
    with pytest.raises(ValueError, match="exists and is neither an empty folder nor a release"):
        shrink_release(source, tmp_path / "full")
    assert (tmp_path / "full" / "keep.txt").read_text() == "x"
    shrink_release(source, tmp_path / "once")
    first = _files(tmp_path / "once")
    shrink_release(source, tmp_path / "once")  # a release at --out (model/release) is replaced
    assert _files(tmp_path / "once") == first
    with pytest.raises(ValueError, match="already a shrunk release"):
        shrink_release(tmp_path / "once", tmp_path / "twice")
    with pytest.raises(FileNotFoundError, match="No model release"):
        shrink_release(tmp_path / "full", tmp_path / "nothing")
    tampered = tmp_path / "tampered"
    tampered.mkdir()
    for name, data in _files(source).items():
        (tampered / name).parent.mkdir(parents=True, exist_ok=True)
        (tampered / name).write_bytes(data)
    (tampered / "policy.json").write_text(json.dumps({"edited": True}))
    with pytest.raises(ValueError, match=r"policy\.json"):
        shrink_release(tampered, tmp_path / "from-tampered")
    assert not [
        p.name for p in tmp_path.iterdir() if p.name.startswith(".") or p.name in ("twice", "nothing")
    ]
    assert not (tmp_path / "from-tampered").exists()


def test_the_cli_writes_the_release_and_names_bad_input_in_one_line(source, tmp_path):
    runner = CliRunner()
    ok = runner.invoke(model_app, ["shrink", "--release", str(source), "--out", str(tmp_path / "cli")])
    assert ok.exit_code == 0, ok.output
    assert "MB (the source" in ok.stdout and (tmp_path / "cli" / MANIFEST).is_file()
    for args, message in [
        (["--out", str(tmp_path / "cli")], "already a shrunk release"),
        (["--out", str(tmp_path / "x"), "--threads", "0"], "--threads must be >= 1"),
        (["--out", str(tmp_path / "x"), "--bench-posts", "-1"], "--bench-posts must be >= 0"),
        (["--out", str(tmp_path / "x"), "--quiet-below", "-1"], "--quiet-below must be > 0"),
        (["--out", str(tmp_path / "x"), "--data", str(tmp_path)], "--data must be a dataset build"),
        (
            ["--out", str(tmp_path), "--release", str(source)],
            "exists and is neither an empty folder nor a release",
        ),
    ]:
        release = [] if "--release" in args else ["--release", str(tmp_path / "cli")]
        bad = runner.invoke(model_app, ["shrink", *release, *args])
        assert bad.exit_code == 2 and message in bad.output and len(bad.output.strip().splitlines()) == 1


def test_the_speed_benchmark_times_release_folders_side_by_side_without_a_work_dir(source, tmp_path):
    from eval.bench_text import bench_table, run_text_bench

    shrink_release(source, tmp_path / "shrunk")
    releases = {"the source": source, "shrunk": tmp_path / "shrunk"}
    result = run_text_bench(None, POSTS, rounds=1, threads=1, releases=releases)
    assert list(result["models"]) == ["the source", "shrunk"]
    assert all(
        m["posts_per_s_batch32"] > 0 and m["speedup_vs_torch_teacher"] is None
        for m in result["models"].values()
    )
    assert "| shrunk | " in bench_table(result)
    with pytest.raises(ValueError, match="needs a build's 'work' dir, 'releases', or both"):
        run_text_bench(None, POSTS)


def test_the_source_card_moves_one_level_down_but_its_commands_stay_as_written() -> None:
    from train.shrink import demoted_card

    card = "# Title\n\n## Figures\n\n```\n# a shell comment\nfeedguard model build\n```\n\n### Detail\n"
    assert (
        demoted_card(card)
        == "### Figures\n\n```\n# a shell comment\nfeedguard model build\n```\n\n#### Detail"
    )
