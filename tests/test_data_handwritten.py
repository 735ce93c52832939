"""The committed hand-written training posts: every row loads, nothing repeats, nothing copies the dev set.

They join train (``feedguard data build --handwritten``); a post that also stood in the dev set
would let model selection read a training post, so the files must stay apart from it.
"""

from __future__ import annotations

import json
from collections import Counter

from data.build import HANDWRITTEN_DIR, load_extra_rows
from data.devset import load_devset
from model.labels import LABELS
from model.normalize import normalize


def test_every_file_loads_and_holds_both_sellers_and_normal_posts() -> None:
    files = sorted(HANDWRITTEN_DIR.glob("*.jsonl"))
    assert len(files) >= 4
    for f in files:
        rows = [json.loads(line) for line in f.read_text("utf-8").splitlines()]
        labels = Counter(label for r in rows for label in r["labels"])
        assert set(labels) == set(LABELS), f.name
        assert sum(1 for r in rows if not r["labels"]) >= len(rows) // 4, f.name
    rows = load_extra_rows(HANDWRITTEN_DIR, source="handwritten")
    assert {r["source"] for r in rows} == {"handwritten"}
    ids = Counter(r["post_id"] for r in rows)
    assert ids.most_common(1)[0][1] == 1


def test_no_post_repeats_or_copies_the_dev_set_after_normalization() -> None:
    texts = Counter(normalize(r["text"]).text for r in load_extra_rows(HANDWRITTEN_DIR, source="handwritten"))
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
