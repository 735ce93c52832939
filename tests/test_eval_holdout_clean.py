"""eval.holdout_clean: a new holdout keeps only posts no reference post comes near."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from data.devset import load_devset
from eval.holdout_clean import SIMILARITY, TrigramIndex, app, clean_parts, trigrams


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def _raw_trigrams(text: str) -> list[str]:
    return [text[i : i + 3] for i in range(len(text) - 2)]


def _jaccard(a: str, b: str) -> float:
    ga, gb = trigrams(a), trigrams(b)
    return len(ga & gb) / len(ga | gb)


REFERENCE = "今天下午去菜市场买了两斤排骨回家炖汤喝"
_TAIL = "，顺便带了点水果给老妈"
#: The first 16 characters of REFERENCE, then another ending: Jaccard exactly at the cut (dropped).
CLOSE = REFERENCE[:16] + _TAIL
#: One character less of REFERENCE: just under the cut (kept).
FAR = REFERENCE[:15] + _TAIL


def test_similarity_of_the_fixtures_straddles_the_cut() -> None:
    assert _jaccard(CLOSE, REFERENCE) == SIMILARITY
    assert 0.45 < _jaccard(FAR, REFERENCE) < SIMILARITY


def test_index_finds_near_posts_and_normalized_copies() -> None:
    index = TrigramIndex([REFERENCE])
    assert index.is_near(CLOSE)
    assert not index.is_near(FAR)
    # Disguised copies: raw, they are far from REFERENCE; normalized, they are REFERENCE.
    spaced = "\u200b".join(REFERENCE)
    traditional = "今天下午去菜市場買了兩斤排骨回家燉湯喝"
    raw = set(_raw_trigrams(REFERENCE))
    for disguised in (spaced, traditional):
        shared = raw & set(_raw_trigrams(disguised))
        assert len(shared) < SIMILARITY * len(raw)
        assert index.is_near(disguised)
    assert not TrigramIndex([]).is_near(REFERENCE)


def test_clean_parts_drops_near_posts_and_repeats_keeps_rows_unchanged(tmp_path: Path) -> None:
    first = _write(
        tmp_path / "a.jsonl",
        [
            {"id": "a-1", "text": CLOSE, "labels": []},
            {"id": "a-2", "text": FAR, "labels": [], "extra": "kept as written"},
            {"id": "a-3", "text": "碧螺春新茶到了 私我拿价", "labels": ["hard_sell"], "tricks": []},
        ],
    )
    second = _write(
        tmp_path / "b.jsonl",
        [
            {"id": "b-1", "text": "碧螺春新茶到了　私我拿价", "labels": ["hard_sell"]},  # a-3 once normalized
            {"id": "b-2", "text": "招代理 一件代发 零库存", "labels": ["recruitment"]},
        ],
    )
    cleaned = clean_parts([first, second], TrigramIndex([REFERENCE]))
    assert [r["id"] for r in cleaned.rows] == ["a-2", "a-3", "b-2"]
    assert cleaned.rows[0] == {"id": "a-2", "text": FAR, "labels": [], "extra": "kept as written"}
    assert cleaned.near_reference[str(first)] == 1 and cleaned.repeats[str(second)] == 1
    assert cleaned.kept[str(first)] == 2 and cleaned.kept[str(second)] == 1


def test_cli_writes_the_clean_holdout_and_counts_only(tmp_path: Path) -> None:
    dev_text = load_devset()[1]["text"]
    part = _write(
        tmp_path / "part.jsonl",
        [
            {"id": "p-1", "text": dev_text, "labels": []},
            {"id": "p-2", "text": FAR, "labels": []},
            {"id": "p-3", "text": CLOSE, "labels": ["hard_sell"]},
        ],
    )
    used = _write(tmp_path / "used.jsonl", [{"id": "u-1", "text": REFERENCE, "labels": []}])
    hardneg = tmp_path / "hardneg.json"
    hardneg.write_text(json.dumps({"p-1": "family outing", "p-2": "kite flying"}), encoding="utf-8")
    out = tmp_path / "clean"
    result = CliRunner().invoke(
        app,
        [
            "--part",
            str(part),
            "--against",
            str(used),
            "--hardneg",
            str(hardneg),
            "--handwritten-rounds",
            "0",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    counts = json.loads(result.output)
    assert counts["kept"] == 1 and counts["normal"] == 1 and counts["sellers"] == 0
    assert counts["parts"][str(part)] == {"kept": 1, "near_reference": 2, "repeats": 0}
    assert counts["hard_negatives"] == 1
    assert FAR not in result.output  # texts are never printed
    rows = [
        json.loads(line) for line in (out / "holdout_clean.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert [r["id"] for r in rows] == ["p-2"]
    assert json.loads((out / "hardneg.json").read_text(encoding="utf-8")) == {"p-2": "kite flying"}

    # Without the dev set in the reference, the dev post stays.
    no_dev = CliRunner().invoke(
        app,
        [
            "--part",
            str(part),
            "--against",
            str(used),
            "--handwritten-rounds",
            "0",
            "--no-dev",
            "--out",
            str(out),
        ],
    )
    assert no_dev.exit_code == 0 and json.loads(no_dev.output)["kept"] == 2


@pytest.mark.parametrize(
    ("rows", "extra", "message"),
    [
        (None, [], "no such file"),
        ([{"text": "好", "labels": []}, "not json"], [], "line 2"),
        (
            [{"text": "好", "labels": []}],
            ["--handwritten-rounds", "9"],
            "--handwritten-rounds must be in 0..",
        ),
        ([{"text": "好", "labels": []}], ["--threshold", "0"], "--threshold must be in (0, 1]"),
    ],
)
def test_cli_refuses_bad_input_with_one_line(
    tmp_path: Path, rows: list | None, extra: list[str], message: str
) -> None:
    part = tmp_path / "part.jsonl"
    if rows is not None:
        part.write_text(
            "\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n", encoding="utf-8"
        )
    out = tmp_path / "clean"
    result = CliRunner().invoke(app, ["--part", str(part), "--out", str(out), "--no-dev", *extra])
    assert result.exit_code == 2
    assert message in result.output and result.output.count("\n") == 1
    assert not (out / "holdout_clean.jsonl").exists()


def test_cli_refuses_to_overwrite_a_part(tmp_path: Path) -> None:
    part = _write(tmp_path / "holdout_clean.jsonl", [{"text": FAR, "labels": []}])
    result = CliRunner().invoke(
        app, ["--part", str(part), "--out", str(tmp_path), "--no-dev", "--handwritten-rounds", "0"]
    )
    assert result.exit_code == 2 and "would overwrite" in result.output
    assert json.loads(part.read_text(encoding="utf-8").splitlines()[0])["text"] == FAR


def test_cli_refuses_an_out_that_is_a_file_and_an_unreadable_hardneg(tmp_path: Path) -> None:
    part = _write(tmp_path / "part.jsonl", [{"id": "p-1", "text": FAR, "labels": []}])
    base = ["--part", str(part), "--no-dev", "--handwritten-rounds", "0"]
    result = CliRunner().invoke(app, [*base, "--out", str(part)])
    assert result.exit_code == 2 and "--out must be a folder" in result.output
    missing = tmp_path / "no-such-hardneg.json"
    result = CliRunner().invoke(app, [*base, "--hardneg", str(missing), "--out", str(tmp_path / "clean")])
    assert result.exit_code == 2 and "cannot read hard-negative situations" in result.output
    assert not (tmp_path / "clean").exists()


def test_by_default_a_new_holdout_stays_clear_of_every_training_round(tmp_path: Path) -> None:
    """A holdout written after the newest round must not judge posts that round trained on."""
    from data.build import HANDWRITTEN_ROUNDS, load_handwritten_rows

    newest = load_handwritten_rows(len(HANDWRITTEN_ROUNDS))[-1]["text"]
    part = _write(tmp_path / "part.jsonl", [{"id": "p-1", "text": newest, "labels": []}])
    args = ["--part", str(part), "--out", str(tmp_path / "clean"), "--no-dev"]
    by_default = CliRunner().invoke(app, args)
    assert by_default.exit_code == 0, by_default.output
    assert json.loads(by_default.output)["parts"][str(part)]["near_reference"] == 1
    older_only = CliRunner().invoke(app, [*args, "--handwritten-rounds", str(len(HANDWRITTEN_ROUNDS) - 1)])
    assert json.loads(older_only.output)["kept"] == 1
