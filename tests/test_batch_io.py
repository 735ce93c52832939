"""Batch job pieces that need no Ray: record checks, rejects, repeated ids, the bulk index, clusters, CLI errors."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa
import pytest
from support.serve_fixtures import screenshot_png
from typer.testing import CliRunner

from model.evidence import EvidenceConfig, EvidenceFinder
from model.normalize import normalize
from model.pdq import PdqHash, hash_bytes
from serve.batch.clusters import ClusterNode, build_clusters, local_links
from serve.batch.index import PostMeta, build_evidence, evidence_author, settle_repeats, sketcher_params
from serve.batch.io import (
    PostRecord,
    Reject,
    derive_post_id,
    detect_format,
    iter_records,
    parse_record,
    read_rejects,
    split_lines,
    write_rejects,
)
from serve.batch.job import BatchConfig
from serve.batch.prepare import prepare_record

T0 = datetime(2026, 11, 17, 9, 0, tzinfo=UTC)
GOOD = {"post_id": "p1", "author_id": "a1", "created_at": T0, "text": "面膜包邮，私聊下单"}


def reject_of(record: dict) -> Reject:
    out = parse_record(record, "dump.parquet")
    assert isinstance(out, Reject), out
    return out


def test_a_good_record_becomes_the_scorers_input() -> None:
    shot = screenshot_png(3)
    record = {**GOOD, "images": [shot], "image_hashes": ["AB" * 32], "extra_column": 5}
    post = parse_record(record, "dump.parquet")
    assert isinstance(post, PostRecord)
    given = post.post_input()
    assert (given.post_id, given.author_id, given.text) == ("p1", "a1", GOOD["text"])
    assert given.image_bytes == (shot,) and given.image_hashes == ("ab" * 32,)
    # Other time zones are the same instant; integer ids are taken as text; JSON Lines images are base64.
    shifted = parse_record(
        {
            **GOOD,
            "post_id": 17,
            "created_at": "2026-11-17T17:00:00+08:00",
            "images": [base64.b64encode(shot).decode()],
        },
        "x",
    )
    assert isinstance(shifted, PostRecord)
    assert shifted.post_id == "17" and shifted.created_at == T0 and shifted.images == (shot,)


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"post_id": "bad id!"}, "post_id", "ASCII letters"),
        ({"post_id": "x" * 200}, "post_id", "at most"),
        ({"text": None}, "text", "required"),
        ({"text": "  \n "}, "text", "non-whitespace"),
        ({"text": "a\x00b"}, "text", "NUL"),
        ({"text": "\ud800 broken"}, "text", "UTF-8"),
        ({"text": 42}, "text", "must be a string"),
        ({"created_at": None}, "created_at", "required"),
        ({"created_at": datetime(2026, 1, 1)}, "created_at", "no time zone"),
        ({"created_at": "yesterday"}, "created_at", "ISO 8601"),
        ({"created_at": datetime(1990, 1, 1, tzinfo=UTC)}, "created_at", "between"),
        ({"author_id": "who are you"}, "author_id", "ASCII letters"),
        ({"images": ["%%%"]}, "images[0]", "base64"),
        ({"images": [b""]}, "images[0]", "empty"),
        ({"images": [b"x"] * 10}, "images", "at most 9"),
        ({"images": "not a list"}, "images", "must be a list"),
        ({"image_hashes": ["zz"]}, "image_hashes[0]", "hex"),
    ],
)
def test_a_bad_record_is_a_reject_naming_field_and_reason(change: dict, field: str, words: str) -> None:
    reject = reject_of({**GOOD, **change})
    assert reject.field == field and words in reject.reason
    assert reject.source == "dump.parquet"
    assert reject.post_id == change.get("post_id", GOOD["post_id"])  # as given, to find the record by
    assert 0 < len(reject.record) <= 400 and '"text"' in reject.record  # an excerpt to find the record by


def test_a_corrupt_image_is_rejected_when_hashed() -> None:
    post = parse_record({**GOOD, "images": [screenshot_png(1)[:300]]}, "dump.parquet")
    assert isinstance(post, PostRecord)
    out = prepare_record(post, _sketcher())
    assert isinstance(out, Reject) and out.field == "images[0]" and "rejected" in out.reason
    assert "<300 bytes>" in out.record  # bytes are shown by their length, not dumped


def test_records_without_an_id_get_the_same_id_every_time() -> None:
    first = parse_record({**GOOD, "post_id": None}, "a")
    again = parse_record({**GOOD, "post_id": ""}, "b")
    other = parse_record({**GOOD, "post_id": None, "text": GOOD["text"] + "!"}, "a")
    assert isinstance(first, PostRecord) and isinstance(again, PostRecord) and isinstance(other, PostRecord)
    assert first.post_id == again.post_id == derive_post_id("a1", T0, GOOD["text"])
    assert first.post_id.startswith("auto-") and other.post_id != first.post_id


def test_json_lines_bad_lines_are_rejects_with_their_line_number() -> None:
    lines = [json.dumps({**GOOD, "created_at": T0.isoformat()}), "{not json", "", "[1, 2]", b"\xff\xfe".hex()]
    data = "\n".join(lines[:4]).encode() + b"\n\xff\xfe\n"
    table = split_lines(pa.table({"bytes": [data], "path": ["/in/day.jsonl"]}))
    assert table.column("line").to_pylist() == [1, 2, 4, 5]  # the blank line 3 is skipped
    out = list(iter_records(table))
    assert isinstance(out[0][0], dict) and out[0][1] == "/in/day.jsonl:1"
    bad = [r for r, _ in out[1:]]
    assert [b.source for b in bad] == ["/in/day.jsonl:2", "/in/day.jsonl:4", "/in/day.jsonl:5"]
    assert "not valid JSON" in bad[0].reason and "JSON object" in bad[1].reason and "UTF-8" in bad[2].reason


def test_repeated_ids_keep_the_earliest_record() -> None:
    base = dict(
        source="f:1",
        post_id="p",
        author_id="a",
        created_at=T0,
        sketch_key=None,
        pdq=(),
        pdq_quality=(),
        content_hash="c1",
        record_key="k1",
    )
    later = {
        **base,
        "source": "f:2",
        "created_at": T0 + timedelta(hours=1),
        "content_hash": "c2",
        "record_key": "k2",
    }
    twin = {**base, "source": "f:3"}
    other = {**base, "post_id": "q", "record_key": "k9"}
    settled = settle_repeats([PostMeta(**later), PostMeta(**twin), PostMeta(**base), PostMeta(**other)])
    assert [(m.post_id, m.source) for m in settled.kept] == [("p", "f:1"), ("q", "f:1")]
    assert settled.dropped == {"k2"}  # the identical twin is dropped by the shard, not by key
    reasons = {r.source: r.reason for r in settled.rejects}
    assert set(reasons) == {"f:2", "f:3"}
    assert "different content" in reasons["f:2"] and "identical" in reasons["f:3"]


def _sketcher():
    from model.text_sketch import TextSketcher

    return TextSketcher(**sketcher_params())


def test_the_bulk_index_finds_what_add_post_finds() -> None:
    """build_evidence must hold exactly the items EvidenceFinder.add_post would add (the Scorer re-adds posts)."""
    script = "姐妹们看这里，今天又收款了，客户反馈超级好，效果看得见，跟着我一起做"
    shots = [screenshot_png(s) for s in (1, 2)]
    records = [
        {
            "post_id": f"p{i}",
            "author_id": f"a{i % 3}" if i != 4 else None,
            "created_at": T0 + timedelta(minutes=i),
            "text": script + "!" * i if i % 2 else f"周末去爬山{i}，风景很好，空气清新，心情舒畅",
            "images": [shots[i % 2]] if i < 5 else [],
            "image_hashes": ["0" * 64] if i == 5 else [],
        }
        for i in range(7)
    ]
    config = EvidenceConfig()
    expected = EvidenceFinder(config=config)
    metas = []
    for record in records:
        post = parse_record(record, "x")
        assert isinstance(post, PostRecord)
        row = prepare_record(post, _sketcher())
        assert isinstance(row, dict)
        metas.append(PostMeta.from_row(row))
        hashes = [hash_bytes(b, dihedral=True) for b in post.images] + [PdqHash(h) for h in post.image_hashes]
        expected.add_post(
            post.post_id,
            evidence_author(post.author_id, post.post_id),
            post.created_at,
            normalize(post.text).text,
            hashes,
        )
    built = build_evidence(metas, config)
    for index in ("image_index", "text_index"):
        assert sorted(map(repr, getattr(built, index).items())) == sorted(
            map(repr, getattr(expected, index).items())
        )
    found = {"image": 0, "text": 0}
    for record in records:
        post = parse_record(record, "x")
        assert isinstance(post, PostRecord)
        hashes = [hash_bytes(b, dihedral=True) for b in post.images]
        args = (
            post.post_id,
            evidence_author(post.author_id, post.post_id),
            post.created_at,
            normalize(post.text).text,
        )
        evidence = built.evidence_for(*args, hashes)
        assert evidence.to_dict() == expected.evidence_for(*args, hashes).to_dict()
        found["image"] += bool(evidence.image_matches)
        found["text"] += bool(evidence.text_matches)
    assert found["image"] >= 4 and found["text"] >= 3  # the comparison covered real matches


def test_clusters_join_chains_across_shards_and_are_named_by_their_earliest_post() -> None:
    # Shard 1 saw a-b and b-c; shard 2 saw d-c; x-y is another cluster; z matched nothing.
    links = local_links([("a", "b"), ("b", "c")]) + local_links([("d", "c")]) + local_links([("x", "y")])
    nodes = {
        name: ClusterNode(
            name, f"acct-{name}", T0 + timedelta(minutes=i), "review" if name == "c" else "allow"
        )
        for i, name in enumerate("dabcxy")
    }
    assignment, table = build_clusters(links, nodes)
    assert set(assignment) == set("abcdxy")
    assert len({assignment[n] for n in "abcd"}) == 1 and assignment["x"] == assignment["y"] != assignment["a"]
    first = table.to_pylist()[0]
    assert first["members"] == ["d", "a", "b", "c"] and first["accounts"] == 4 and first["flagged_posts"] == 1
    assert first["first_seen"] == T0 and first["last_seen"] == T0 + timedelta(minutes=3)
    again, _ = build_clusters(list(reversed(links)), nodes)
    assert again == assignment  # names do not depend on the order links arrive in


def test_config_and_format_errors_name_the_parameter(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="'workers'"):
        BatchConfig(input="a.parquet", output="out", workers=0)
    with pytest.raises(ValueError, match="'shard_posts'"):
        BatchConfig(input="a.parquet", output="out", shard_posts=0)
    with pytest.raises(ValueError, match="'input_format'"):
        BatchConfig(input="a.parquet", output="out", input_format="csv")
    assert detect_format("x/day.PARQUET") == "parquet" and detect_format("s3://b/day.ndjson") == "jsonl"
    with pytest.raises(ValueError, match=r"\.parquet"):
        detect_format("day.csv")
    (tmp_path / "mixed").mkdir()
    (tmp_path / "mixed" / "a.parquet").write_bytes(b"")
    (tmp_path / "mixed" / "b.jsonl").write_bytes(b"")
    with pytest.raises(ValueError, match="format"):
        detect_format(str(tmp_path / "mixed"))


def test_cli_bad_input_exits_2_with_one_line(tmp_path: Path) -> None:
    from data.batch_cli import app as generate_app
    from serve.batch.cli import app as score_app

    runner = CliRunner()
    cases = [
        (
            score_app,
            ["score", "--input", str(tmp_path / "missing.parquet"), "--output", str(tmp_path / "o")],
            "--input",
        ),
        (
            score_app,
            ["score", "--input", str(tmp_path), "--output", "o", "--release", str(tmp_path)],
            "--release",
        ),
        (generate_app, ["generate", "--posts", "0", "--out", str(tmp_path / "x.parquet")], "--posts"),
        (generate_app, ["generate", "--posts", "5", "--out", str(tmp_path / "x.csv")], "--out"),
    ]
    for app, args, option in cases:
        result = runner.invoke(app, args)
        assert result.exit_code == 2, result.output
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert len(lines) == 1 and option in lines[0] and "Traceback" not in result.output
    assert runner.invoke(score_app, ["score", "--help"]).exit_code == 0
    assert runner.invoke(generate_app, ["generate", "--help"]).exit_code == 0


def test_time_zones_other_than_utc_are_the_same_instant() -> None:
    east = datetime(2026, 11, 17, 17, 0, tzinfo=timezone(timedelta(hours=8)))
    a, b = parse_record({**GOOD, "created_at": east}, "x"), parse_record(GOOD, "x")
    assert isinstance(a, PostRecord) and isinstance(b, PostRecord) and a.created_at == b.created_at


def test_rejects_round_trip_a_record_holding_line_separators(tmp_path: Path) -> None:
    """A reject keeps the raw record, U+2028 and U+0085 included; each must stay one line."""
    rejects = [
        Reject("dump.jsonl:3", "p1", "text", "not a string", '{"text": 5, "note": "a\u2028b"}'),
        Reject("dump.jsonl:4", None, "id", "missing", '{"text": "x\u0085y"}'),
    ]
    uri = str(tmp_path / "rejects.jsonl")
    write_rejects(uri, rejects)
    assert read_rejects(uri) == [r.to_dict() for r in rejects]
