"""eval.holdout_counts: a holdout's normal posts labelled and sellers missed, per release."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eval.holdout import load_holdout
from eval.holdout_counts import app, holdout_counts
from model.score_cli import app as score_app

ROOT = Path(__file__).resolve().parents[1]
RELEASE = ROOT / "model" / "release"
DEV_FILE = ROOT / "data" / "devset" / "dev.jsonl"


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def test_any_label_counts_a_normal_post_and_only_no_label_misses_a_seller() -> None:
    truth = {"n1": False, "n2": False, "n3": False, "s1": True, "s2": True}
    scored = {
        "n1": {"labels": [], "action": "allow"},
        "n2": {"labels": ["fake_proof"], "action": "review"},
        "n3": {"labels": ["hard_sell"], "action": "hide"},
        "s1": {"labels": ["recruitment"], "action": "label"},
        "s2": {"labels": [], "action": "allow"},
    }
    assert holdout_counts(truth, scored) == {
        "normal": 3,
        "normal_labelled": 2,
        "normal_hidden": 1,
        "sellers": 2,
        "sellers_missed": 1,
    }
    with pytest.raises(ValueError, match="1 of its ids unscored"):
        holdout_counts(truth, {k: v for k, v in scored.items() if k != "s2"})


def test_the_released_model_scored_by_the_analysts_command_is_counted(tmp_path: Path) -> None:
    rows = [json.loads(line) for line in DEV_FILE.read_text(encoding="utf-8").splitlines()[:40]]
    holdout = _write(tmp_path / "holdout.jsonl", rows)
    scores = tmp_path / "scores.jsonl"
    scored = CliRunner().invoke(
        score_app, ["--in", str(holdout), "--out", str(scores), "--release", str(RELEASE)]
    )
    assert scored.exit_code == 0, scored.output

    result = CliRunner().invoke(app, ["--holdout", str(holdout), "--scores", f"r={scores}"])
    assert result.exit_code == 0, result.output
    counts = json.loads(result.output)["r"]
    by_id = {
        json.loads(line)["id"]: json.loads(line) for line in scores.read_text(encoding="utf-8").splitlines()
    }
    normal = [r["id"] for r in rows if not r["labels"]]
    sellers = [r["id"] for r in rows if r["labels"]]
    assert counts["normal"] == len(normal) > 0 and counts["sellers"] == len(sellers) > 0
    assert counts["normal_labelled"] == sum(1 for i in normal if by_id[i]["labels"])
    assert counts["sellers_missed"] == sum(1 for i in sellers if not by_id[i]["labels"])
    assert counts["sellers_missed"] < len(sellers)  # the release finds sellers in its own dev posts


def test_bad_input_exits_2_with_one_line(tmp_path: Path) -> None:
    holdout = _write(
        tmp_path / "h.jsonl",
        [
            {"id": "a", "text": "周末去爬山", "labels": []},
            {"id": "b", "text": "招代理 加薇", "labels": ["recruitment"]},
        ],
    )
    no_ids = _write(tmp_path / "no_ids.jsonl", [{"text": "周末去爬山", "labels": []}])
    good = _write(tmp_path / "s.jsonl", [{"id": "a", "labels": []}, {"id": "b", "labels": ["recruitment"]}])
    short = _write(tmp_path / "short.jsonl", [{"id": "a", "labels": []}])
    twice = _write(tmp_path / "twice.jsonl", [{"id": "a", "labels": []}, {"id": "a", "labels": []}])
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"id": "a", "labels": []}\nnot json\n', encoding="utf-8")
    ok = CliRunner().invoke(app, ["--holdout", str(holdout), "--scores", f"x={good}"])
    assert ok.exit_code == 0 and json.loads(ok.output)["x"]["sellers_missed"] == 0
    for holdout_file, spec, message in (
        (holdout, "x", "--scores takes NAME=FILE"),
        (holdout, f"x={tmp_path / 'missing.jsonl'}", "no such file"),
        (holdout, f"x={short}", "1 of its ids unscored"),
        (holdout, f"x={twice}", "scored twice"),
        (holdout, f"x={broken}", "line 2: not valid JSON"),
        (no_ids, f"x={good}", "every row needs an 'id'"),
        (tmp_path / "nope.jsonl", f"x={good}", "no such file"),
    ):
        bad = CliRunner().invoke(app, ["--holdout", str(holdout_file), "--scores", spec])
        assert bad.exit_code == 2 and message in bad.output and bad.output.count("\n") == 1, bad.output


def test_holdout_ids_are_kept_only_when_every_row_has_one(tmp_path: Path) -> None:
    rows = [
        {"id": "a", "text": "周末去爬山", "labels": []},
        {"id": "b", "text": "招代理", "labels": ["recruitment"]},
    ]
    assert load_holdout(_write(tmp_path / "all.jsonl", rows)).ids == ["a", "b"]
    assert load_holdout(_write(tmp_path / "some.jsonl", [rows[0], {"text": "加薇", "labels": []}])).ids == []
