"""`feedguard score`: JSONL in, one scored line per good post out, bad lines reported by number.

Runs the real Scorer on a real (tiny, untrained) release: the plumbing is what is tested here;
the trained model's quality is the release build's business.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from model.labels import LABELS
from model.score_cli import ParsedPost, app, parse_lines
from train.release import build_untrained_release

GOOD = [
    {"id": "p1", "text": "面膜包邮，私聊下单，加薇信"},
    {
        "id": 2,
        "text": "周末和家人去爬山，风景很好",
        "author_id": "u9",
        "created_at": "2026-11-20T08:00:00+08:00",
    },
    {"id": "p3", "text": "招 代 理，宝妈在家就能做", "extra": "ignored"},
]


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    texts = [row["text"] for row in GOOD]
    return build_untrained_release(tmp_path_factory.mktemp("release"), texts)


def _jsonl(rows: list) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in rows)


def test_parse_reports_every_kind_of_bad_line_with_its_number() -> None:
    lines = [
        json.dumps({"id": "a", "text": "你好"}),
        "{not json",
        "[1, 2]",
        json.dumps({"text": "no id"}),
        json.dumps({"id": "b"}),
        json.dumps({"id": "c", "text": "   "}),
        json.dumps({"id": "d", "text": 42}),
        json.dumps({"id": "a", "text": "again"}),
        "",
        json.dumps({"id": "e", "text": "ok", "created_at": "yesterday"}),
        json.dumps({"id": "f", "text": "ok", "created_at": "2026-11-20T08:00:00"}),
        json.dumps({"id": "g", "text": "ok", "image_hashes": "abc"}),
        json.dumps({"id": True, "text": "ok"}),
        "\xff".encode("latin-1"),
        json.dumps({"id": 7, "text": "数字 id"}).encode(),
    ]
    out = list(parse_lines(lines))
    good = [o for o in out if isinstance(o, ParsedPost)]
    bad = dict(o for o in out if isinstance(o, tuple))
    assert [(p.line, p.post_id) for p in good] == [(1, "a"), (15, "7")]
    assert sorted(bad) == [2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14]  # line 9 is blank: skipped, not bad
    assert "not valid JSON" in bad[2]
    assert "JSON object" in bad[3]
    assert "no 'id'" in bad[4]
    assert "no 'text'" in bad[5]
    assert "empty" in bad[6]
    assert "must be a string" in bad[7]
    assert "duplicate id 'a'" in bad[8]
    assert "created_at" in bad[10] and "created_at" in bad[11]
    assert "image_hashes" in bad[12]
    assert "'id'" in bad[13]
    assert "UTF-8" in bad[14]


def test_scores_a_file_into_a_file(release: Path, tmp_path: Path) -> None:
    src, dst = tmp_path / "posts.jsonl", tmp_path / "scores.jsonl"
    src.write_text(_jsonl(GOOD), encoding="utf-8")
    result = CliRunner().invoke(app, ["--in", str(src), "--out", str(dst), "--release", str(release)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in dst.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == ["p1", "2", "p3"]
    for row in rows:
        assert {"id", "scores", "seller", "labels", "action", "reasons"} <= set(row)
        assert set(row["scores"]) == set(LABELS)
        assert row["seller"] == pytest.approx(max(row["scores"].values()))
        assert row["action"] in ("allow", "label", "review", "hide")
    # The evasion undone is a reason a moderator can read.
    assert any(r["kind"] == "evasion" for r in rows[0]["reasons"])
    assert "scored 3 posts; 0 bad lines" in result.stderr


def test_bad_lines_are_reported_skipped_and_set_exit_code_1(release: Path, tmp_path: Path) -> None:
    src = tmp_path / "mixed.jsonl"
    src.write_text(_jsonl([GOOD[0], "oops", {"id": "p1", "text": "dup"}, GOOD[1]]), encoding="utf-8")
    result = CliRunner().invoke(app, ["--in", str(src), "--out", "-", "--release", str(release)])
    assert result.exit_code == 1
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == ["p1", "2"]
    assert "line 2: not valid JSON" in result.stderr
    assert "line 3: duplicate id 'p1'" in result.stderr


def test_stdin_to_stdout(release: Path) -> None:
    result = CliRunner().invoke(
        app, ["--in", "-", "--out", "-", "--release", str(release)], input=_jsonl([GOOD[2]])
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.splitlines()[0])["id"] == "p3"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--in", "/nonexistent/posts.jsonl"], "--in must be an existing file"),
        (["--in", "-", "--batch-size", "0"], "--batch-size must be >= 1"),
        (["--in", "-", "--out", "/nonexistent/dir/x.jsonl"], "--out must be in an existing directory"),
    ],
)
def test_usage_errors_exit_2_with_one_line(args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, args, input="")
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_missing_release_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["--in", "-", "--release", str(tmp_path)], input="")
    assert result.exit_code == 2
    assert "cannot load the release" in result.stderr and "feedguard model build" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
