"""Loading a dataset build into label matrices (on a small DatasetDict written here)."""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import numpy as np
import pytest

from model.labels import LABELS
from train.dataset import (
    DEV_SPLIT,
    SPLITS,
    TextSplit,
    concat,
    data_manifest_sha256,
    labels_to_matrix,
    load_dev_split,
    load_splits,
    repeat_sources,
)


def _rows(prefix: str) -> dict[str, list]:
    labels = [["hard_sell"], ["recruitment", "fake_proof"], []]
    return {
        "post_id": [f"{prefix}-{i}" for i in range(3)],
        "text": [f"{prefix} 面膜", f"{prefix} 招代理", f"{prefix} 爬山"],
        "labels": labels,
        **{label: [int(label in row) for row in labels] for label in LABELS},
        "family": ["f1", "f2", "f3"],
        "kind": ["hard_sell", "recruitment", "normal"],
        "tricks": [["homophone"], [], []],
        "source": ["generated", "generated", "real"],
    }


@pytest.fixture
def build(tmp_path: Path) -> Path:
    dd = datasets.DatasetDict({name: datasets.Dataset.from_dict(_rows(name)) for name in SPLITS})
    dd.save_to_disk(str(tmp_path / "dataset"))
    (tmp_path / "manifest.json").write_text(json.dumps({"seed": 1}))
    return tmp_path


def test_load_splits_gives_label_matrices_in_label_order(build: Path) -> None:
    splits = load_splits(build)
    assert set(splits) == set(SPLITS)
    test = splits["test"]
    assert test.texts[0] == "test 面膜"
    np.testing.assert_array_equal(test.y, [[1, 0, 0], [0, 1, 1], [0, 0, 0]])
    assert test.tricks[0] == ("homophone",) and test.ids[1] == "test-1" and test.sources[2] == "real"
    assert len(data_manifest_sha256(build)) == 64


def test_subset_sample_and_concat(build: Path) -> None:
    splits = load_splits(build, ("train", "validation"))
    both = concat("selection", [splits["train"], splits["validation"]])
    assert len(both) == 6 and both.y.shape == (6, len(LABELS))
    assert both.subset([4]).texts == ["validation 招代理"]
    assert splits["train"].sample(2, seed=0).texts == splits["train"].sample(2, seed=0).texts
    assert len(splits["train"].sample(None, seed=0)) == 3


def test_repeat_sources_repeats_the_named_sources_rows_after_the_originals() -> None:
    split = TextSplit(
        name="train",
        texts=["甲", "乙", "丙", "丁"],
        y=labels_to_matrix([["hard_sell"], [], ["recruitment"], []]),
        sources=["generated", "handwritten", "generated", "handwritten"],
    )
    repeated = repeat_sources(split, (("handwritten", 3),))
    assert repeated.texts == ["甲", "乙", "丙", "丁", "乙", "丁", "乙", "丁"]
    np.testing.assert_array_equal(repeated.y[4:], split.y[[1, 3, 1, 3]])
    assert repeated.sources.count("handwritten") == 6 and repeated.sources.count("generated") == 2
    assert repeat_sources(split, ()) is split
    assert repeat_sources(split, (("handwritten", 1),)).texts == split.texts
    with pytest.raises(
        ValueError, match="names source 'hand', which split 'train' does not have; its sources:"
    ):
        repeat_sources(split, (("hand", 2),))
    for bad in (
        (("handwritten", 0),),
        (("handwritten", 2), ("handwritten", 3)),
        [("handwritten", 2)],
        (("", 2),),
    ):
        with pytest.raises(ValueError, match="'source_repeat' parameter of repeat_sources"):
            repeat_sources(split, bad)


def test_dev_set_loads_as_a_split() -> None:
    dev = load_dev_split()
    assert dev is not None and dev.name == DEV_SPLIT
    assert len(dev) >= 100 and dev.y.shape == (len(dev), len(LABELS))
    assert dev.y.sum() > 0 and (dev.y.sum(axis=1) == 0).any()


def test_bad_input_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="feedguard data build"):
        load_splits(tmp_path)
    with pytest.raises(ValueError, match=r"manifest\.json"):
        data_manifest_sha256(tmp_path)
    with pytest.raises(ValueError, match="not one of"):
        labels_to_matrix([["spam"]])
    with pytest.raises(ValueError, match="'y' parameter of TextSplit"):
        TextSplit("x", ["a"], np.zeros((2, 3)))
