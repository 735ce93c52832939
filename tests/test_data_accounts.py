"""Simulated accounts and networks (data/accounts.py): ids, times, image files, shared templates."""

from __future__ import annotations

import json
import random
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image

from data.accounts import IMAGE_KINDS, TRUTH_FILE, simulate_feed

generator = pytest.importorskip("data.generator", reason="data.generator (engineer A1) has not landed yet")
GeneratedPost = generator.GeneratedPost
START = datetime(2024, 5, 6, 0, 0, 0)
KEYS = {
    "post_id",
    "author_id",
    "created_at",
    "image_paths",
    "image_template",
    "network_id",
    "text",
    "labels",
    "family",
    "kind",
    "tricks",
    "source",
    "copy_group",
}


def _posts(n: int = 200, seed: int = 0) -> list:
    """Posts built with the real GeneratedPost class; many seller posts share copy groups, as network scripts do."""
    rng = random.Random(seed)
    posts = []
    for i in range(n):
        labels = rng.choice(
            [(), (), ("hard_sell",), ("recruitment",), ("fake_proof",), ("hard_sell", "fake_proof")]
        )
        if "fake_proof" in labels:
            image_kind = rng.choice(("chat_screenshot", "payment_screenshot", "order_list", "parcel_pile"))
        elif labels:
            image_kind = rng.choice(("product_photo", "lifestyle_photo", None))
        else:
            image_kind = rng.choice(("lifestyle_photo", "product_photo", "payment_screenshot", None, None))
        copy_group = f"cg{rng.randrange(8)}" if labels and rng.random() < 0.6 else None
        posts.append(
            GeneratedPost(
                text=f"帖子{i}",
                labels=labels,
                family="test/family",
                kind="test/kind",
                tricks=(),
                source="generated",
                image_kind=image_kind,
                copy_group=copy_group,
            )
        )
    return posts


@pytest.fixture(scope="module")
def feed(tmp_path_factory: pytest.TempPathFactory) -> tuple[list, list[dict], Path]:
    out = tmp_path_factory.mktemp("feed")
    posts = _posts()
    return posts, simulate_feed(posts, out, 5, start=START, n_images=80), out


def test_one_row_per_post_in_order_with_the_contract_keys(feed: tuple) -> None:
    posts, rows, _ = feed
    assert len(rows) == len(posts)
    assert [r["post_id"] for r in rows] == [f"p{i:06d}" for i in range(len(posts))]
    for post, row in zip(posts, rows, strict=True):
        assert set(row) == KEYS
        assert row["text"] == post.text and row["labels"] == list(post.labels)
        assert row["copy_group"] == post.copy_group and isinstance(row["tricks"], list)
        created = datetime.fromisoformat(row["created_at"])
        assert START <= created < START + timedelta(days=7)


def test_image_files_exist_and_total_is_about_n_images(feed: tuple) -> None:
    posts, rows, out = feed
    paths = [p for r in rows for p in r["image_paths"]]
    assert len(paths) == 80 and len(set(paths)) == 80
    for post, row in zip(posts, rows, strict=True):
        if row["image_paths"]:
            assert post.image_kind in IMAGE_KINDS and row["image_template"] is not None
        else:
            assert row["image_template"] is None
    for rel in paths:
        assert rel.startswith("images/") and (out / rel).is_file()
        with Image.open(out / rel) as img:
            assert img.mode == "RGB" and min(img.size) > 0


def test_networks_share_templates_across_accounts_and_ordinary_users_do_not(feed: tuple) -> None:
    posts, rows, out = feed
    authors_per_template: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        if row["image_template"]:
            authors_per_template[row["image_template"]].add(row["author_id"])
    shared = [t for t, authors in authors_per_template.items() if len(authors) >= 2]
    assert shared, "no image template posted by two or more accounts"
    network_rows = [r for r in rows if r["network_id"] is not None]
    assert any(r["image_template"] in shared for r in network_rows)
    # Normal posts come from ordinary users: no network, and their images are their own.
    for post, row in zip(posts, rows, strict=True):
        if not post.labels:
            assert row["network_id"] is None
            if row["image_template"]:
                assert len(authors_per_template[row["image_template"]]) == 1
    # Every account belongs to one network at most; a copy group stays inside one network.
    network_of: dict[str, str | None] = {}
    copy_networks: dict[str, set] = defaultdict(set)
    for row in rows:
        assert network_of.setdefault(row["author_id"], row["network_id"]) == row["network_id"]
        if row["copy_group"]:
            copy_networks[row["copy_group"]].add(row["network_id"])
    assert all(len(nets) == 1 and None not in nets for nets in copy_networks.values())
    truth = json.loads((out / TRUTH_FILE).read_text(encoding="utf-8"))
    roles = {a["author_id"]: a["role"] for a in truth["accounts"]}
    assert {roles[r["author_id"]] for r in network_rows} <= {"upline", "downline"}
    assert len(truth["images"]) == 80


def test_same_seed_same_feed_and_same_files(feed: tuple, tmp_path: Path) -> None:
    posts, rows, out = feed
    again = simulate_feed(posts, tmp_path, 5, start=START, n_images=80)
    assert again == rows
    for rel in [p for r in rows for p in r["image_paths"]][:20]:
        assert (tmp_path / rel).read_bytes() == (out / rel).read_bytes()
    other = simulate_feed(posts, tmp_path / "other", 6, start=START, n_images=0)
    assert [r["author_id"] for r in other] != [r["author_id"] for r in rows]
    assert all(r["image_paths"] == [] for r in other)


def test_bad_arguments_raise_value_error(tmp_path: Path) -> None:
    posts = _posts(5)
    with pytest.raises(ValueError, match="'n_images'"):
        simulate_feed(posts, tmp_path, 1, start=START, n_images=-1)
    with pytest.raises(ValueError, match="'start'"):
        simulate_feed(posts, tmp_path, 1, start="2024-05-06", n_images=1)  # type: ignore[arg-type]
    bad = [GeneratedPost("x", ("hard_sell",), "f", "k", (), "generated", "selfie", None)]
    with pytest.raises(ValueError, match="'posts'"):
        simulate_feed(bad, tmp_path, 1, start=START, n_images=1)


@pytest.mark.benchmark
def test_bench_simulate_feed_images_per_second(tmp_path: Path) -> None:
    """Speed of the image side of a data build (run: pytest -m benchmark tests/test_data_accounts.py -s)."""
    import time

    posts = generator.generate_posts(6000, 1)
    wall, cpu = time.perf_counter(), time.process_time()
    rows = simulate_feed(posts, tmp_path, 1, start=START, n_images=1000)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    n = sum(len(r["image_paths"]) for r in rows)
    print(
        f"\nsimulate_feed: {n} images in {wall:.1f} s wall ({n / wall:.1f} images/s), {cpu:.1f} s CPU "
        f"({n / cpu:.1f} images/s per core)"
    )
    assert n == 1000
