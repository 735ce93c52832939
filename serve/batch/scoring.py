"""Pass two: the scoring actor, one ONNX session each, scoring whole shards with the service's Scorer.

A shard is every post of a set of authors (cut by :func:`shard_of`). Inside a shard, posts are
scored in time order (``created_at``, then ``post_id``) in chunks of ``chunk_size`` through
:meth:`model.scorer.Scorer.score`, with a fresh account history per shard and the whole-input
near-duplicate indexes. That makes the output a function of the input alone:

* the account-history rule sees each author's earlier posts in the order they were posted, as the
  service would have, because an author never spans two shards;
* the INT8 model quantizes activations per batch, so a post's scores depend (slightly) on which
  posts share its batch; chunks are cut from the sorted shard, never from Ray's blocks, so the
  same input gives the same batches, whatever the block layout, the worker count or the input order;
* each shard's results go to one file named after the shard, sorted, so a rerun rewrites the same
  bytes (and a task that Ray retries overwrites, never duplicates).
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from model.account_history import AccountHistory
from model.bundle import load_bundle
from model.evidence import EvidenceFinder
from model.labels import LABELS
from model.policy import Policy
from model.scorer import FusionRules, PostInput, Scorer, ScoreResult, near_duplicate_config
from serve.batch.clusters import local_links
from serve.batch.index import unpack_directory
from serve.batch.io import filesystem

#: Posts handed to one ``Scorer.score`` call (the model then runs them in length-sorted batches of 32).
DEFAULT_CHUNK_SIZE = 256

SCORE_FIELDS = pa.struct([(label, pa.float64()) for label in LABELS])
#: One row per post: the ``/v1/score`` result fields (reasons and evidence as JSON text), plus where
#: the post came from, its network cluster and the model that scored it.
RESULT_SCHEMA = pa.schema(
    [
        ("post_id", pa.string()),
        ("author_id", pa.string()),
        ("created_at", pa.timestamp("us", tz="UTC")),
        ("action", pa.string()),
        ("labels", pa.list_(pa.string())),
        ("seller", pa.float64()),
        ("scores", SCORE_FIELDS),
        ("reasons", pa.string()),
        ("tricks", pa.list_(pa.string())),
        ("evidence", pa.string()),
        ("cached", pa.bool_()),
        ("cluster_id", pa.string()),
        ("model_version", pa.string()),
    ]
)
NODE_TYPE = pa.struct(
    [
        ("post_id", pa.string()),
        ("author_id", pa.string()),
        ("created_at", pa.timestamp("us", tz="UTC")),
        ("action", pa.string()),
    ]
)
LINK_TYPE = pa.struct([("post_id", pa.string()), ("root", pa.string())])
#: What an actor hands back per shard: counts for progress, and its part of the cluster graph.
SUMMARY_SCHEMA = pa.schema(
    [
        ("shard", pa.int64()),
        ("posts", pa.int64()),
        ("seconds", pa.float64()),
        ("nodes", pa.list_(NODE_TYPE)),
        ("links", pa.list_(LINK_TYPE)),
    ]
)


def shard_of(author_key: int, n_shards: int) -> int:
    """The shard of an author key (:func:`serve.batch.prepare.author_key`)."""
    return int(author_key) % n_shards


def score_order(post: PostInput) -> tuple[Any, str]:
    """Order of scoring inside a shard: time, then id (created_at is required in batch)."""
    return (post.created_at, post.post_id)


def chunked(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def score_shard(scorer: Scorer, posts: Sequence[PostInput], chunk_size: int) -> list[ScoreResult]:
    """Score one shard's posts (already sorted with :func:`score_order`) in fixed chunks."""
    results: list[ScoreResult] = []
    for chunk in chunked(posts, chunk_size):
        results.extend(scorer.score(list(chunk)))
    return results


def shard_file(work_uri: str, shard: int) -> str:
    return f"{work_uri}/results/shard-{shard:05d}.parquet"


def part_file(output_uri: str, shard: int) -> str:
    return f"{output_uri}/scores/part-{shard:05d}.parquet"


def result_row(post: PostInput, result: ScoreResult, model_version: str) -> dict[str, Any]:
    """A ScoreResult as a row of :data:`RESULT_SCHEMA` (same fields as the service's JSON)."""
    data = result.to_dict()
    return {
        "post_id": result.post_id,
        "author_id": post.author_id,
        "created_at": post.created_at,
        "action": result.action,
        "labels": list(result.labels),
        "seller": float(result.seller),
        "scores": {label: float(result.scores[label]) for label in LABELS},
        "reasons": json.dumps(data["reasons"], ensure_ascii=False),
        "tricks": list(result.tricks),
        "evidence": None if data["evidence"] is None else json.dumps(data["evidence"], ensure_ascii=False),
        "cached": bool(result.cached),
        "cluster_id": None,
        "model_version": model_version,
    }


def matched_posts(result: ScoreResult) -> list[str]:
    """Post ids the evidence lists as image or text near-duplicates of this post."""
    evidence = result.evidence or {}
    return [m["post_id"] for key in ("image_matches", "text_matches") for m in evidence.get(key, ())]


def write_table(uri: str, table: pa.Table) -> None:
    """Write one Parquet file (whole, in one row group per million rows): same table, same bytes."""
    fs, path = filesystem(uri)
    fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
    with fs.open_output_stream(path) as sink:
        pq.write_table(table, sink)


def read_table(uri: str) -> pa.Table:
    fs, path = filesystem(uri)
    return pq.read_table(path, filesystem=fs)


class ShardScorer:
    """Ray Data callable class: one per actor; loads the release and the indexes once, scores shards.

    ``release_files`` and ``index_files`` are packed folders (see :mod:`serve.batch.index`), written
    to a temporary folder on the actor's node and loaded with the checked loaders
    (:func:`model.bundle.load_bundle` verifies every hash), so no shared file system is needed.
    """

    def __init__(
        self,
        release_files: Mapping[str, bytes],
        index_files: Mapping[str, bytes] | None,
        work_uri: str,
        intra_op_threads: int,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="feedguard-batch-")
        root = Path(self._tmp.name)
        release_dir = unpack_directory(release_files, root / "release")
        self.bundle = load_bundle(release_dir, intra_op_threads=intra_op_threads)
        self.policy = Policy.load(self.bundle.policy_path)
        self.rules = FusionRules.from_policy(self.policy)
        self.evidence: EvidenceFinder | None = None
        if index_files is not None:
            unpack_directory(index_files, root / "index")
            config = near_duplicate_config(self.policy, self.bundle.policy_path)
            self.evidence = EvidenceFinder.load(root / "index", config)
        self.model_version = Scorer(
            self.bundle, evidence=None, cache_size=0, policy=self.policy
        ).model_version
        self.work_uri = work_uri
        self.chunk_size = chunk_size

    def scorer(self) -> Scorer:
        """A Scorer for one shard: shared model and indexes, its own (empty) account history."""
        history = AccountHistory(window=self.rules.history_window)
        return Scorer(self.bundle, evidence=self.evidence, history=history, cache_size=0, policy=self.policy)

    def __call__(self, table: pa.Table) -> pa.Table:
        summaries = []
        shards = sorted(pc.unique(table.column("shard")).to_pylist())
        for shard in shards:
            rows = table.filter(pc.equal(table.column("shard"), shard))
            summaries.append(self.score_rows(int(shard), rows))
        return pa.Table.from_pylist(summaries, schema=SUMMARY_SCHEMA)

    def score_rows(self, shard: int, rows: pa.Table) -> dict[str, Any]:
        started = time.perf_counter()
        posts = posts_of(rows)
        results = score_shard(self.scorer(), posts, self.chunk_size)
        table = pa.Table.from_pylist(
            [result_row(p, r, self.model_version) for p, r in zip(posts, results, strict=True)],
            schema=RESULT_SCHEMA,
        )
        write_table(shard_file(self.work_uri, shard), table)
        pairs = [(r.post_id, other) for r in results for other in matched_posts(r)]
        nodes = [
            {"post_id": p.post_id, "author_id": p.author_id, "created_at": p.created_at, "action": r.action}
            for p, r in zip(posts, results, strict=True)
            if matched_posts(r)
        ]
        return {
            "shard": shard,
            "posts": len(posts),
            "seconds": time.perf_counter() - started,
            "nodes": nodes,
            "links": [{"post_id": a, "root": b} for a, b in local_links(pairs)],
        }


def posts_of(rows: pa.Table) -> list[PostInput]:
    """The shard's posts in scoring order, each post id once (identical repeats were settled on the driver)."""
    posts: dict[str, PostInput] = {}
    for row in rows.select(
        ["post_id", "author_id", "created_at", "text", "images", "image_hashes"]
    ).to_pylist():
        posts.setdefault(
            row["post_id"],
            PostInput(
                post_id=row["post_id"],
                text=row["text"],
                author_id=row["author_id"],
                created_at=row["created_at"],
                image_bytes=tuple(row["images"] or ()),
                image_hashes=tuple(row["image_hashes"] or ()),
            ),
        )
    return sorted(posts.values(), key=score_order)


def finalize_shards(batch: pa.Table, work_uri: str, output_uri: str, clusters: Mapping[str, str]) -> pa.Table:
    """Ray ``map_batches`` function: copy shard results to the output, with each post's network cluster."""
    written = []
    for shard in batch.column("shard").to_pylist():
        table = read_table(shard_file(work_uri, int(shard)))
        ids = table.column("post_id").to_pylist()
        column = pa.array([clusters.get(post_id) for post_id in ids], pa.string())
        table = table.set_column(table.schema.get_field_index("cluster_id"), "cluster_id", column)
        write_table(part_file(output_uri, int(shard)), table)
        written.append(table.num_rows)
    return pa.table({"shard": batch.column("shard"), "rows": pa.array(written, pa.int64())})
