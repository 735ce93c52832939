"""The hand-written dev set: every row valid, the mix the team relies on, and a loader that names bad lines.

Models and thresholds are chosen on this set, so these tests guard what makes it worth
choosing on: enough positives per label, enough hard negatives and evasions, no
duplicates that would count one post twice, and trick annotations that match the text.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest
from opencc import OpenCC

from data.devset import DEFAULT_PATH, DevRow, label_matrix, load_devset, summarize
from model.labels import EVASION_TRICKS, LABELS
from model.normalize import normalize

REPO = Path(__file__).resolve().parents[1]
README = DEFAULT_PATH.parent / "README.md"

# Full-width letters and digits (ＶＸ, １３８); full-width punctuation such as ，！： is ordinary Chinese.
FULLWIDTH_ALNUM = re.compile("[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]")


@pytest.fixture(scope="module")
def rows() -> list[DevRow]:
    return load_devset()


@pytest.fixture(scope="module")
def summary(rows: list[DevRow]) -> dict:
    return summarize(rows)


# --- the shipped file --------------------------------------------------------------------------


def test_every_row_loads_and_the_set_is_large_enough(rows: list[DevRow]) -> None:
    assert len(rows) >= 400
    assert all(set(row) == {"id", "text", "labels", "kind", "tricks", "note"} for row in rows)


def test_ids_are_unique(rows: list[DevRow]) -> None:
    duplicates = [i for i, n in Counter(row["id"] for row in rows).items() if n > 1]
    assert duplicates == []


def test_texts_are_unique_before_and_after_normalization(rows: list[DevRow]) -> None:
    """Two posts that differ only by an evasion trick would count one post twice."""
    raw = [t for t, n in Counter(row["text"] for row in rows).items() if n > 1]
    normalized = [t for t, n in Counter(normalize(row["text"]).text for row in rows).items() if n > 1]
    assert raw == []
    assert normalized == []


def test_label_and_trick_names_come_from_the_shared_contract(rows: list[DevRow]) -> None:
    assert {label for row in rows for label in row["labels"]} <= set(LABELS)
    assert {trick for row in rows for trick in row["tricks"]} <= set(EVASION_TRICKS)


def test_each_label_and_group_has_enough_posts(summary: dict) -> None:
    for label in LABELS:
        assert summary["label_positives"][label] >= 60, label
    assert summary["normal"] >= 150
    assert summary["groups"]["hard_negative"] >= 80
    assert summary["posts_with_tricks"] >= 80


def test_mix_resembles_a_feed(summary: dict) -> None:
    """About 45 % normal, half of those hard negatives, some multi-label, every trick represented."""
    assert 0.40 <= summary["normal"] / summary["total"] <= 0.50
    assert summary["groups"]["hard_negative"] >= summary["normal"] / 2
    assert summary["groups"]["multi"] >= 15
    for trick in EVASION_TRICKS:
        assert summary["tricks"][trick] >= 10, trick
    assert 0.20 <= summary["positives_with_tricks"] / summary["positives"] <= 0.45


def test_no_two_posts_open_the_same_way(rows: list[DevRow]) -> None:
    openings = Counter(row["text"].strip()[:5] for row in rows)
    assert [opening for opening, n in openings.items() if n > 1] == []


def test_no_near_duplicates(rows: list[DevRow]) -> None:
    """Character-trigram Jaccard of normalized texts stays well below template-level overlap."""
    shingles = []
    for row in rows:
        text = normalize(row["text"]).text
        shingles.append({text[i : i + 3] for i in range(len(text) - 2)})
    close = [
        (rows[i]["id"], rows[j]["id"])
        for i, j in combinations(range(len(rows)), 2)
        if shingles[i]
        and shingles[j]
        and len(shingles[i] & shingles[j]) / len(shingles[i] | shingles[j]) >= 0.5
    ]
    assert close == []


def test_lengths_span_short_and_long_posts_on_both_sides(rows: list[DevRow]) -> None:
    lengths = [len(row["text"]) for row in rows]
    assert min(lengths) <= 6
    assert sum(n >= 300 for n in lengths) >= 3
    assert any(len(row["text"]) >= 300 for row in rows if row["labels"])
    assert any(len(row["text"]) >= 300 for row in rows if not row["labels"])


def test_fullwidth_annotation_matches_the_text(rows: list[DevRow]) -> None:
    wrong = [
        row["id"]
        for row in rows
        if ("fullwidth" in row["tricks"]) != bool(FULLWIDTH_ALNUM.search(row["text"]))
    ]
    assert wrong == []


def test_traditional_annotation_matches_the_text(rows: list[DevRow]) -> None:
    to_simplified = OpenCC("t2s")
    wrong = [
        row["id"]
        for row in rows
        if ("traditional" in row["tricks"]) != (to_simplified.convert(row["text"]) != row["text"])
    ]
    assert wrong == []


def test_zero_width_characters_are_annotated_as_separators(rows: list[DevRow]) -> None:
    wrong = [row["id"] for row in rows if "\u200b" in row["text"] and "separator" not in row["tricks"]]
    assert wrong == []


def test_readme_quotes_the_current_counts(summary: dict) -> None:
    """The README's counts are what people cite; adding posts must update them."""
    readme = README.read_text(encoding="utf-8")
    assert f"**{summary['total']} posts**" in readme
    for label in LABELS:
        assert f"| {label} | {summary['label_positives'][label]} |" in readme, label
    for trick in EVASION_TRICKS:
        assert f"| {trick} | {summary['tricks'][trick]} |" in readme, trick


def test_label_matrix_columns_follow_labels(rows: list[DevRow], summary: dict) -> None:
    matrix = label_matrix(rows)
    assert matrix.shape == (len(rows), len(LABELS))
    assert matrix.sum(axis=0).tolist() == [summary["label_positives"][label] for label in LABELS]
    normal = np.array([not row["labels"] for row in rows])
    assert not matrix[normal].any()
    assert matrix[~normal].any(axis=1).all()


# --- the loader on bad input -------------------------------------------------------------------

GOOD = {
    "id": "dev-0001",
    "text": "碧螺春 私我",
    "labels": ["hard_sell"],
    "kind": "hard_sell/tea",
    "tricks": [],
    "note": "sells tea",
}


def _write(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "dev.jsonl"
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


_DROP = object()  # a field value meaning "leave this field out"


def _row(**changes: object) -> str:
    row = {**GOOD, "id": "dev-0002", **changes}
    return json.dumps({k: v for k, v in row.items() if v is not _DROP}, ensure_ascii=False)


@pytest.mark.parametrize(
    ("bad_line", "fragment"),
    [
        ('{"id": "dev-0002", "text": ', "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        (_row(note=_DROP), "'note' field(s) on line 2"),
        (_row(score=0.9), "'score' field(s) on line 2"),
        (_row(id="dev-2"), "'id' field on line 2"),
        (_row(text="   "), "'text' field on line 2"),
        (_row(labels=["spam"]), "'labels' field on line 2"),
        (_row(labels="hard_sell"), "'labels' field on line 2"),
        (_row(labels=["fake_proof", "hard_sell"], kind="multi/x"), "in the order hard_sell"),
        (_row(labels=["hard_sell", "hard_sell"]), "'labels' field on line 2"),
        (_row(labels=[], kind="hard_sell/tea"), "'kind' field on line 2"),
        (_row(labels=["hard_sell", "recruitment"], kind="hard_sell/tea"), "'multi'"),
        (_row(kind="Hard_Sell"), "'kind' field on line 2"),
        (_row(tricks=["emoji"]), "'tricks' field on line 2"),
        (_row(id="dev-0001"), "already used on line 1"),
        ("", "line 2"),
    ],
)
def test_bad_rows_raise_value_error_naming_line_and_field(
    tmp_path: Path, bad_line: str, fragment: str
) -> None:
    path = _write(tmp_path, json.dumps(GOOD, ensure_ascii=False), bad_line, _row(id="dev-0003"))
    with pytest.raises(ValueError, match="line 2") as caught:
        load_devset(path)
    assert fragment in str(caught.value)


def test_valid_small_file_loads_with_normal_and_multi_rows(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        json.dumps(GOOD, ensure_ascii=False),
        _row(labels=[], kind="hard_negative/own_review", text="这个面膜一般"),
        _row(
            id="dev-0003",
            labels=["recruitment", "fake_proof"],
            kind="multi/x",
            tricks=["traditional", "pinyin"],
        ),
    )
    rows = load_devset(path)
    assert [row["id"] for row in rows] == ["dev-0001", "dev-0002", "dev-0003"]
    counts = summarize(rows)
    assert counts["normal"] == 1
    assert counts["groups"]["hard_negative"] == 1
    assert counts["label_positives"] == {"hard_sell": 1, "recruitment": 1, "fake_proof": 1}
    assert counts["positives_with_tricks"] == 1


def test_missing_file_and_empty_file_raise_value_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="'path' parameter of load_devset"):
        load_devset(tmp_path / "nope.jsonl")
    with pytest.raises(ValueError, match="no rows"):
        load_devset(_write(tmp_path))


def test_module_command_prints_counts_and_exits_2_on_bad_file(tmp_path: Path) -> None:
    ok = subprocess.run(
        [sys.executable, "-m", "data.devset"], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["total"] == len(load_devset())

    bad = _write(tmp_path, _row(labels=["spam"]))
    failed = subprocess.run(
        [sys.executable, "-m", "data.devset", str(bad)], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert failed.returncode == 2
    assert len(failed.stderr.strip().splitlines()) == 1
    assert "line 1" in failed.stderr
