"""The committed hand-written training posts: every row loads, nothing repeats, nothing copies the dev set.

They join train (``feedguard data build --handwritten``); a post that also stood in the dev set
would let model selection read a training post, so the files must stay apart from it.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from data.build import HANDWRITTEN_DIR, HANDWRITTEN_ROUNDS, load_extra_rows, load_handwritten_rows
from data.devset import load_devset
from data.manifest import HANDWRITTEN_SOURCE
from model.labels import LABELS
from model.normalize import normalize

#: Hand-written rounds outside ``--handwritten-rounds``, added to a build with ``--extra FOLDER``
#: (data/handwritten/README.md, "Round 5"); held to the same rules as the rounds.
EXTRA_ROUNDS: tuple[Path, ...] = (HANDWRITTEN_DIR / "round5",)


def _extra_round_texts() -> list[str]:
    """The extra rounds' posts as ``--extra`` reads them (``data.build.load_extra_rows``)."""
    return [
        row["text"]
        for folder in EXTRA_ROUNDS
        for row in load_extra_rows(folder, source=HANDWRITTEN_SOURCE, parameter="handwritten_extra")
    ]


@pytest.mark.parametrize(
    ("folder", "writers"),
    [(folder, 4) for folder in HANDWRITTEN_ROUNDS] + [(folder, 2) for folder in EXTRA_ROUNDS],
    ids=lambda v: v.name if isinstance(v, Path) else str(v),
)
def test_every_file_loads_and_holds_both_sellers_and_normal_posts(folder: Path, writers: int) -> None:
    files = sorted(folder.glob("*.jsonl"))
    assert len(files) >= writers
    for f in files:
        rows = [json.loads(line) for line in f.read_text("utf-8").splitlines()]
        labels = Counter(label for r in rows for label in r["labels"])
        assert set(labels) == set(LABELS), f.name
        assert sum(1 for r in rows if not r["labels"]) >= len(rows) // 4, f.name


def test_every_round_adds_rows_of_one_source_and_family_with_ids_unique_across_rounds() -> None:
    first = load_handwritten_rows(1)
    rows = load_handwritten_rows(len(HANDWRITTEN_ROUNDS))
    assert rows[: len(first)] == first and len(rows) > len(first)
    assert {(r["source"], r["family"]) for r in rows} == {("handwritten", "extra/handwritten")}
    ids = Counter(r["post_id"] for r in rows)
    assert ids.most_common(1)[0][1] == 1
    for bad in (0, len(HANDWRITTEN_ROUNDS) + 1, True, "2"):
        with pytest.raises(ValueError, match="'rounds' parameter of load_handwritten_rows"):
            load_handwritten_rows(bad)  # type: ignore[arg-type]


def test_no_post_repeats_or_copies_the_dev_set_after_normalization() -> None:
    every_text = [r["text"] for r in load_handwritten_rows(len(HANDWRITTEN_ROUNDS))] + _extra_round_texts()
    texts = Counter(normalize(text).text for text in every_text)
    repeated = [t for t, n in texts.items() if n > 1]
    assert not repeated, repeated[:3]
    dev = {normalize(r["text"]).text for r in load_devset()}
    assert not dev & set(texts), sorted(dev & set(texts))[:3]


def test_the_model_card_counts_hand_written_rows_only_when_a_build_has_them() -> None:
    from train.release import training_source_lines

    plain = {"splits": {"train": {"sources": {"generated": 10}}}, "dropped_overlap": {"test": 2}}
    lines = training_source_lines(plain)
    assert len(lines) == 1 and lines[0].startswith("- Moderator labels in training: 0")
    with_hand = {
        "splits": {"train": {"sources": {"generated": 10, "handwritten": 1996}}},
        "dropped_overlap": {"test": 2, "handwritten": 3},
    }
    assert training_source_lines(with_hand)[1] == (
        "- Hand-written training posts: 1996 (`data/handwritten/`, `feedguard data build --handwritten`;"
        " 3 more left out as copies of held-out posts)."
    )
    with_rounds = {**with_hand, "plan": {"handwritten": True, "handwritten_rounds": 2}}
    assert (
        "`feedguard data build --handwritten --handwritten-rounds 2`;"
        in training_source_lines(with_rounds)[1]
    )
    with_retired = {
        **with_hand,
        "plan": {"handwritten": True, "handwritten_rounds": 3},
        "handwritten_extra": ["data/handwritten/retired", "data/handwritten/retired_q_to_x"],
    }
    lines = training_source_lines(with_retired)
    assert lines[0].startswith("- Moderator labels in training: 0")
    assert (
        "`feedguard data build --handwritten --handwritten-rounds 3 --handwritten-extra data/handwritten/retired"
        " --handwritten-extra data/handwritten/retired_q_to_x`;" in lines[1]
    )
    retired_only = {**with_retired, "plan": {"handwritten": False, "handwritten_rounds": 1}}
    assert (
        "`feedguard data build --handwritten-extra data/handwritten/retired"
        " --handwritten-extra data/handwritten/retired_q_to_x`;" in training_source_lines(retired_only)[1]
    )
