"""The PDQ Hamming index: exact radius search (flat and multi-index), metadata, delete, persistence.

``NearDupIndexContract`` is the one contract every near-duplicate index passes (the text index
reuses it in test_text_sketch.py), as python-threatexchange does for its signal types.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import pytest

from model.hamming_index import HammingIndex, _flip_masks
from model.pdq import PdqHash, codes_to_hexes
from model.signals import IndexedItem, Match, NearDupIndex

T0 = datetime(2026, 11, 17, 9, 0, tzinfo=UTC)


class NearDupIndexContract:
    """Checks every NearDupIndex must pass. Subclasses supply signals through the hooks below."""

    def make_index(self) -> Any:
        raise NotImplementedError

    def key(self, family: int, variant: int) -> str:
        """An item key: same ``family`` = near-duplicates of each other; different families are far apart."""
        raise NotImplementedError

    def query_signal(self, family: int, variant: int) -> Any:
        """The query form of ``key(family, variant)``."""
        raise NotImplementedError

    def _filled(self) -> Any:
        index = self.make_index()
        index.add(
            [
                IndexedItem(self.key(0, 0), "p-a", "alice", T0),
                IndexedItem(self.key(0, 1), "p-b", "bob", T0 + timedelta(hours=1)),
                IndexedItem(self.key(0, 2), "p-c", "carol", T0 + timedelta(hours=2)),
                IndexedItem(self.key(1, 0), "p-d", "dave", T0 + timedelta(hours=3)),
            ]
        )
        return index

    def test_implements_the_protocol_and_starts_empty(self) -> None:
        index = self.make_index()
        assert isinstance(index, NearDupIndex)
        assert len(index) == 0
        assert index.query(self.query_signal(0, 0)) == []

    def test_query_finds_the_near_duplicates_and_nothing_else(self) -> None:
        index = self._filled()
        assert len(index) == 4
        matches = index.query(self.query_signal(0, 3))
        assert {m.item.post_id for m in matches} == {"p-a", "p-b", "p-c"}
        assert all(isinstance(m, Match) for m in matches)
        assert [m.distance for m in matches] == sorted(m.distance for m in matches)
        other = index.query(self.query_signal(1, 1))
        assert [m.item.post_id for m in other] == ["p-d"]
        assert other[0].item.author_id == "dave"
        assert other[0].item.created_at == T0 + timedelta(hours=3)

    def test_exclude_post_id_drops_the_post_itself(self) -> None:
        index = self._filled()
        matches = index.query(self.query_signal(0, 0), exclude_post_id="p-a")
        assert {m.item.post_id for m in matches} == {"p-b", "p-c"}

    def test_remove_post(self) -> None:
        index = self._filled()
        assert index.remove_post("p-b") == 1
        assert index.remove_post("p-b") == 0
        assert index.remove_post("never-added") == 0
        assert len(index) == 3
        assert {m.item.post_id for m in index.query(self.query_signal(0, 0))} == {"p-a", "p-c"}

    def test_save_load_roundtrip_answers_the_same(self, tmp_path: Path) -> None:
        index = self._filled()
        index.remove_post("p-c")
        index.save(tmp_path / "idx")
        loaded = type(index).load(tmp_path / "idx")
        assert len(loaded) == len(index) == 3
        for family in (0, 1):
            assert loaded.query(self.query_signal(family, 4)) == index.query(self.query_signal(family, 4))
        # the loaded index keeps working incrementally
        loaded.add([IndexedItem(self.key(0, 5), "p-e", "erin", T0 + timedelta(days=1))])
        assert "p-e" in {m.item.post_id for m in loaded.query(self.query_signal(0, 0))}
        assert not list((tmp_path / "idx").glob("*.pkl")) and not list((tmp_path / "idx").glob("*.pickle"))

    def test_load_refuses_a_directory_without_an_index(self, tmp_path: Path) -> None:
        with pytest.raises(ValueError, match=r"meta\.json"):
            type(self.make_index()).load(tmp_path)

    def test_add_validates_items(self) -> None:
        index = self.make_index()
        with pytest.raises(ValueError, match="'items' parameter"):
            index.add(["not an item"])
        with pytest.raises(ValueError):
            index.add([IndexedItem("definitely-not-a-signal", "p", "a", T0)])
        assert len(index) == 0

    def test_times_come_back_in_utc(self) -> None:
        index = self.make_index()
        beijing = timezone(timedelta(hours=8))
        index.add([IndexedItem(self.key(0, 0), "p-x", "x", datetime(2026, 11, 18, 8, 0, tzinfo=beijing))])
        created = index.query(self.query_signal(0, 0))[0].item.created_at
        assert created == datetime(2026, 11, 18, 0, 0, tzinfo=UTC) and created.utcoffset() == timedelta(0)


def _flip(hex_value: str, bits: list[int]) -> str:
    value = int(hex_value, 16)
    for bit in bits:
        value ^= 1 << bit
    return f"{value:064x}"


_RNG = np.random.default_rng(7)
_FAMILIES = codes_to_hexes(_RNG.integers(0, 256, (4, 32), dtype=np.uint8))


class TestHammingIndexContract(NearDupIndexContract):
    def make_index(self) -> HammingIndex:
        return HammingIndex()

    def key(self, family: int, variant: int) -> str:
        # variants of one family: up to 12 bits from the family centre (pairwise <= 24 < 31)
        return _flip(_FAMILIES[family], [(variant * 37 + k * 11) % 256 for k in range(min(variant * 3, 12))])

    def query_signal(self, family: int, variant: int) -> PdqHash:
        return PdqHash(self.key(family, variant))


class TestHammingIndexContractMultiIndex(TestHammingIndexContract):
    """The same contract with the multi-index tier in use from the first item."""

    def make_index(self) -> HammingIndex:
        return HammingIndex(mih_min_size=1)


def _random_items(codes: np.ndarray, start: int = 0) -> list[IndexedItem]:
    return [
        IndexedItem(
            h, f"p{start + i}", f"a{(start + i) % 97}", T0 + timedelta(minutes=i), image_id=f"p{start + i}#0"
        )
        for i, h in enumerate(codes_to_hexes(codes))
    ]


def _near(code: np.ndarray, rng: np.random.Generator, max_bits: int) -> np.ndarray:
    flipped = code.copy()
    for bit in rng.choice(256, int(rng.integers(0, max_bits + 1)), replace=False):
        flipped[bit // 8] ^= np.uint8(1 << (bit % 8))
    return flipped


@pytest.mark.parametrize("mih_min_size", [1, 1_000_000])
def test_radius_search_equals_brute_force(mih_min_size: int) -> None:
    """Exact recall by construction: the multi-index and the flat tier agree with a FAISS brute force."""
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (5_000, 32), dtype=np.uint8)
    # plant clusters so many true matches sit near the radius boundary
    planted = np.stack([_near(base[i % 50], rng, 40) for i in range(1_000)])
    codes = np.concatenate([base, planted])
    index = HammingIndex(mih_min_size=mih_min_size)
    index.add(_random_items(codes))
    brute = faiss.IndexBinaryFlat(256)
    brute.add(codes)
    queries = np.stack([_near(base[i % 60], rng, 36) for i in range(150)])
    for query in queries:
        rows, distances = index.search_codes(query[None, :])
        _, expected_d, expected_rows = brute.range_search(query[None, :], 32)
        assert dict(zip(rows.tolist(), distances.tolist(), strict=True)) == dict(
            zip(expected_rows.tolist(), expected_d.tolist(), strict=True)
        )


def test_boundary_31_matches_and_32_does_not() -> None:
    rng = np.random.default_rng(3)
    centre = codes_to_hexes(rng.integers(0, 256, (1, 32), dtype=np.uint8))[0]
    for mih_min_size in (1, 10_000):
        index = HammingIndex(mih_min_size=mih_min_size)
        index.add(
            [
                IndexedItem(_flip(centre, list(range(0, 248, 8))[:31]), "p31", "a", T0),
                IndexedItem(_flip(centre, list(range(0, 256, 8))[:32]), "p32", "b", T0),
            ]
        )
        assert [(m.item.post_id, m.distance) for m in index.query(centre)] == [("p31", 31.0)]


def test_radius_is_configurable_and_flip_budget_follows_it() -> None:
    assert len(_flip_masks(1)) == 17 and len(_flip_masks(2)) == 137
    rng = np.random.default_rng(4)
    centre = codes_to_hexes(rng.integers(0, 256, (1, 32), dtype=np.uint8))[0]
    far = _flip(centre, list(range(0, 240, 6))[:40])
    for mih_min_size in (1, 10_000):
        index = HammingIndex(radius=45, mih_min_size=mih_min_size)
        index.add([IndexedItem(far, "p40", "a", T0)])
        assert [m.distance for m in index.query(centre)] == [40.0]
        assert HammingIndex(radius=31).radius == 31
    with pytest.raises(ValueError, match="'radius' parameter of HammingIndex"):
        HammingIndex(radius=100)


def test_dihedral_variants_are_searched_and_one_match_per_image() -> None:
    rng = np.random.default_rng(5)
    a, b, c = codes_to_hexes(rng.integers(0, 256, (3, 32), dtype=np.uint8))
    index = HammingIndex()
    # one image indexed under two hashes (e.g. whole image + a crop window): reported once
    index.add(
        [
            IndexedItem(a, "p1", "u1", T0, image_id="p1#0"),
            IndexedItem(_flip(a, [1, 2, 3]), "p1", "u1", T0, image_id="p1#0", variant="window"),
            IndexedItem(b, "p2", "u2", T0, image_id="p2#0"),
        ]
    )
    matches = index.query(PdqHash(c, 100, variants=(a, b)))
    assert [(m.item.post_id, m.distance, m.item.variant) for m in matches] == [
        ("p1", 0.0, ""),
        ("p2", 0.0, ""),
    ]


def test_incremental_adds_cross_the_multi_index_threshold_and_deletes_hold(tmp_path: Path) -> None:
    rng = np.random.default_rng(6)
    codes = rng.integers(0, 256, (3_000, 32), dtype=np.uint8)
    index = HammingIndex(mih_min_size=500)
    for start in range(0, 3_000, 250):
        index.add(_random_items(codes[start : start + 250], start))
    stats = index.stats()
    assert stats["multi_index_rows"] >= 500 and stats["items"] == 3_000
    assert stats["multi_index_rows"] + stats["flat_rows"] == 3_000
    probe = codes_to_hexes(codes[[10, 2_990]])
    assert [m.item.post_id for m in index.query(probe[0])] == ["p10"]
    assert [m.item.post_id for m in index.query(probe[1])] == ["p2990"]  # in the flat tail
    assert index.remove_post("p10") == 1 and index.query(probe[0]) == []
    index.save(tmp_path)
    loaded = HammingIndex.load(tmp_path)
    assert len(loaded) == 2_999 and loaded.query(probe[0]) == []
    assert loaded.query(probe[1]) == index.query(probe[1])
    assert loaded.stats()["tombstones"] == 0  # tombstones are dropped at save


def test_load_refuses_inconsistent_files(tmp_path: Path) -> None:
    index = HammingIndex()
    index.add(_random_items(np.zeros((3, 32), dtype=np.uint8)))
    index.save(tmp_path)
    np.save(tmp_path / "codes.npy", np.zeros((2, 32), dtype=np.uint8))
    with pytest.raises(ValueError, match=r"codes\.npy"):
        HammingIndex.load(tmp_path)


def write_format_1_index(
    directory: Path, signals: tuple[str, np.ndarray], rows: list[tuple[int, int, int]], meta: dict[str, Any]
) -> dict[str, Any]:
    """An index directory in the layout saved since format 1, written by hand (not by the code under test).

    ``signals`` is the index's own file (name, array); ``rows`` hold (post number, author number,
    minutes after T0) per row; ``meta`` the index's own meta.json fields. Returns the whole meta.
    """
    post_idx, author_idx, minutes = zip(*rows, strict=True)
    created_us = [(int(T0.timestamp()) + 60 * m) * 1_000_000 for m in minutes]
    np.save(directory / signals[0], signals[1])
    np.save(directory / "post_idx.npy", np.array(post_idx, dtype=np.int32))
    np.save(directory / "author_idx.npy", np.array(author_idx, dtype=np.int32))
    np.save(directory / "created_us.npy", np.array(created_us, dtype=np.int64))
    meta = {"format": 1, "count": len(rows), **meta}
    (directory / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    return meta


@pytest.mark.parametrize("mih_min_size", [1, 20_000])
def test_an_index_saved_in_the_format_1_layout_still_loads(tmp_path: Path, mih_min_size: int) -> None:
    """Indexes already on disk must keep loading, so the files are written here by hand, not by save()."""
    codes = np.random.default_rng(8).integers(0, 256, (3, 32), dtype=np.uint8)
    own = {"kind": "pdq-hamming", "radius": 31, "mih_min_size": mih_min_size}
    ids = {"posts": ["p1", "p2"], "authors": ["bob", "amy"]}
    per_row = {"image_ids": ["p1#0", "p1#0", "p2#0"], "variants": ["", "window", ""]}
    meta = write_format_1_index(
        tmp_path, ("codes.npy", codes), [(0, 0, 0), (0, 0, 0), (1, 1, 1)], {**own, **ids, **per_row}
    )
    index = HammingIndex.load(tmp_path)
    hexes = codes_to_hexes(codes)
    late = T0 + timedelta(minutes=1)
    assert list(index.items()) == [
        IndexedItem(hexes[0], "p1", "bob", T0, image_id="p1#0"),
        IndexedItem(hexes[1], "p1", "bob", T0, image_id="p1#0", variant="window"),
        IndexedItem(hexes[2], "p2", "amy", late, image_id="p2#0"),
    ]
    assert index.stats()["multi_index_rows"] == (3 if mih_min_size == 1 else 0)
    assert [m.item.post_id for m in index.query(hexes[2])] == ["p2"]
    assert [m.item.post_id for m in index.query(hexes[1], exclude_post_id="p2")] == ["p1"]
    assert index.remove_post("p1") == 2 and len(index) == 1
    # saving writes the same layout back, without the removed post's rows or ids
    index.save(tmp_path / "again")
    names = sorted(path.name for path in (tmp_path / "again").iterdir())
    assert names == ["author_idx.npy", "codes.npy", "created_us.npy", "meta.json", "post_idx.npy"]
    saved = json.loads((tmp_path / "again" / "meta.json").read_text(encoding="utf-8"))
    assert saved == {
        **meta,
        "count": 1,
        "posts": ["p2"],
        "authors": ["amy"],
        "image_ids": ["p2#0"],
        "variants": [""],
    }
    post_idx = np.load(tmp_path / "again" / "post_idx.npy")
    assert post_idx.dtype == np.int32 and post_idx.tolist() == [0]
    assert np.load(tmp_path / "again" / "created_us.npy").tolist() == [int(late.timestamp()) * 1_000_000]


def test_query_rejects_bad_signals() -> None:
    index = HammingIndex()
    with pytest.raises(ValueError, match=r"'signal' parameter of HammingIndex\.query"):
        index.query("xyz")
    with pytest.raises(ValueError, match=r"'signal' parameter of HammingIndex\.query"):
        index.query(123)  # type: ignore[arg-type]
