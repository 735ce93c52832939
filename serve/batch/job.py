"""The batch re-scoring job on Ray Data: local Ray by default, a cluster by address.

When a model is released or a network is found, days of posts are scored again. The job:

1. **prepare** (Ray tasks over the input blocks): check each record (bad ones become rejects),
   hash its images (PDQ with the dihedral variants), normalize its text;
2. **index** (driver): keep one record per post id, build the image and text near-duplicate
   indexes over the *whole* input, pack them for the actors (``--no-two-pass`` skips this: no
   near-duplicate evidence);
3. **shuffle** (Ray hash shuffle): posts to shards by author, so an author's posts are scored
   together, in time order;
4. **score** (Ray Data ``map_batches`` with the callable class
   :class:`serve.batch.scoring.ShardScorer`: one ONNX session per actor, its
   ``intra_op_num_threads`` equal to the actor's CPU share): the service's ``Scorer.score``, shard
   by shard; each shard's results to one file; matches reduced to a spanning forest;
5. **clusters** (driver): the forests joined into network clusters; **finalize** (Ray tasks):
   results copied to ``OUTPUT/scores/part-NNNNN.parquet`` with each post's cluster id.

Output (``OUTPUT`` is a folder): ``scores/`` (Parquet, the ``/v1/score`` fields), ``clusters.parquet``,
``rejects.jsonl`` and ``job.json``. Everything in it is a function of the input, the release and the
shard size: rerunning gives the same files, so a crashed job is simply rerun.

Stages 3-5 are sequential (each is materialized) because on a small machine the shuffle's actors
and the scorer pool would otherwise wait for each other's CPUs.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs

from model.bundle import RELEASE_DIR, read_manifest
from model.policy import Policy
from model.scorer import near_duplicate_config
from serve.batch.clusters import ClusterNode, build_clusters
from serve.batch.index import (
    PostMeta,
    build_evidence,
    pack_directory,
    packed_evidence,
    settle_repeats,
    sketcher_params,
)
from serve.batch.io import (
    INPUT_FORMATS,
    Reject,
    detect_format,
    filesystem,
    read_input,
    resolve_uri,
    write_bytes,
    write_rejects,
)
from serve.batch.prepare import META_COLUMNS, prepare_batch
from serve.batch.scoring import (
    DEFAULT_CHUNK_SIZE,
    ShardScorer,
    finalize_shards,
    part_file,
    shard_of,
    write_table,
)

JOB_FORMAT = "feedguard-batch/1"
JOB_FILE = "job.json"
WORK_DIR = "_work"
#: Default posts per shard: the unit of ordering, chunking and output files (part of the result, so
#: it must not follow the worker count). Small enough that 20k posts keep 2-10 actors busy.
DEFAULT_SHARD_POSTS = 2_000
#: Rows per block handed to the prepare tasks (image hashing is the slow part).
PREPARE_BLOCK_ROWS = 1_000
#: Posts per shuffle partition; an actor scores one partition (several shards) per call.
PARTITION_POSTS = 20_000
SCORING_COLUMNS = ["post_id", "author_id", "created_at", "text", "images", "image_hashes"]


@dataclass(frozen=True)
class BatchConfig:
    """What one run does. ``shard_posts`` and ``chunk_size`` shape the result; the rest only its speed."""

    input: str
    output: str
    release: Path = RELEASE_DIR
    address: str | None = None
    workers: int | None = None
    cpus_per_worker: int = 1
    two_pass: bool = True
    input_format: str | None = None
    shard_posts: int = DEFAULT_SHARD_POSTS
    chunk_size: int = DEFAULT_CHUNK_SIZE
    #: Local Ray only: CPUs and object store to start it with (None: Ray's defaults).
    local_cpus: int | None = None
    object_store_mb: int | None = None
    progress_bars: bool = False

    def __post_init__(self) -> None:
        for name in ("workers", "local_cpus", "object_store_mb"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ValueError(
                    f"The {name!r} parameter of BatchConfig must be a positive int or None; got {value!r} instead."
                )
        for name in ("cpus_per_worker", "shard_posts", "chunk_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(
                    f"The {name!r} parameter of BatchConfig must be a positive int; got {value!r} instead."
                )
        if self.input_format is not None and self.input_format not in INPUT_FORMATS:
            raise ValueError(
                f"The 'input_format' parameter of BatchConfig must be one of {INPUT_FORMATS} or None;"
                f" got {self.input_format!r} instead."
            )
        if not str(self.input).strip() or not str(self.output).strip():
            raise ValueError("The 'input' and 'output' parameters of BatchConfig must be non-empty paths.")


@dataclass
class BatchSummary:
    """What a run did (also printed by the CLI); ``seconds`` are wall-clock per stage."""

    output: str
    records: int
    scored: int
    rejected: int
    shards: int
    clusters: int
    workers: int
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def posts_per_second(self) -> float:
        total = sum(self.seconds.values())
        return self.scored / total if total > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "posts_per_second": round(self.posts_per_second, 1)}


Progress = Callable[[str], None]


def run_batch(config: BatchConfig, progress: Progress | None = None) -> BatchSummary:
    """Run the whole job (see the module docstring). Starts local Ray unless Ray is already running."""
    import ray

    say = progress or (lambda message: None)
    release = Path(config.release)
    manifest = read_manifest(release)  # fails fast, with what to do, on a missing or altered release
    policy_path = release / manifest["policy_file"]
    evidence_config = near_duplicate_config(Policy.load(policy_path), policy_path)
    input_uri, output_uri = resolve_uri(config.input), resolve_uri(config.output)
    fmt = config.input_format or detect_format(input_uri)
    _check_output(output_uri)
    work_uri = f"{output_uri}/{WORK_DIR}"
    started_ray = not ray.is_initialized()
    if started_ray:
        _start_ray(config)
    try:
        import ray.data

        ray.data.DataContext.get_current().enable_progress_bars = config.progress_bars
        workers = _workers(config)
        fs, work_path = filesystem(work_uri)
        fs.create_dir(work_path, recursive=True)
        fs.delete_dir_contents(work_path, missing_dir_ok=True)
        seconds: dict[str, float] = {}

        with _timed(seconds, "prepare"):
            prepared = _prepare(input_uri, fmt)
            metas, rejects = _collect_meta(prepared)
        records = len(metas) + len(rejects)
        say(f"prepare: {records} records read, {len(rejects)} rejected ({seconds['prepare']:.1f} s)")

        with _timed(seconds, "index"):
            settled = settle_repeats(metas)
            rejects.extend(settled.rejects)
            index_files = None
            if config.two_pass and settled.kept:
                index_files = packed_evidence(build_evidence(settled.kept, evidence_config))
        n_posts = len(settled.kept)
        n_shards = max(1, math.ceil(n_posts / config.shard_posts))
        say(
            f"index: {n_posts} posts to score in {n_shards} shards"
            + (f", {len(settled.rejects)} repeated ids rejected" if settled.rejects else "")
            + ("" if config.two_pass else " (single pass: no near-duplicate evidence)")
            + f" ({seconds['index']:.1f} s)"
        )

        summaries: list[dict[str, Any]] = []
        if n_posts:
            with _timed(seconds, "shuffle"):
                partitions = max(1, min(n_shards, max(2 * workers, math.ceil(n_posts / PARTITION_POSTS))))
                shuffled = _shuffle(prepared, n_shards, settled.dropped, partitions)
            del prepared
            say(f"shuffle: {partitions} partitions ({seconds['shuffle']:.1f} s)")
            with _timed(seconds, "score"):
                scorer_args = {
                    "release_files": pack_directory(release),
                    "index_files": index_files,
                    "work_uri": work_uri,
                    "intra_op_threads": config.cpus_per_worker,
                    "chunk_size": config.chunk_size,
                }
                summaries = _score(shuffled, scorer_args, config, workers, n_shards, n_posts, say)
            del shuffled

        with _timed(seconds, "finalize"):
            shards, clusters = _finalize(summaries, work_uri, output_uri)
            write_rejects(f"{output_uri}/rejects.jsonl", rejects)
            summary = BatchSummary(
                output=output_uri,
                records=records,
                scored=n_posts,
                rejected=len(rejects),
                shards=len(shards),
                clusters=clusters,
                workers=workers,
            )
            _write_job_file(output_uri, config, fmt, input_uri, manifest, summary, shards)
            fs.delete_dir(work_path)
        summary.seconds = seconds
        say(
            f"done: {n_posts} posts scored, {len(rejects)} rejected, {clusters} clusters"
            f" -> {output_uri} ({summary.posts_per_second:.0f} posts/s overall)"
        )
        return summary
    finally:
        if started_ray:
            ray.shutdown()


@contextmanager
def _timed(seconds: dict[str, float], stage: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    seconds[stage] = time.perf_counter() - started


def _workers(config: BatchConfig) -> int:
    import ray

    cpus = int(ray.cluster_resources().get("CPU", 1))
    workers = config.workers or max(1, cpus // config.cpus_per_worker)
    if workers * config.cpus_per_worker > cpus:
        # An actor that can never be placed would make the job wait forever.
        raise ValueError(
            f"The 'workers' parameter asks for {workers} actors x {config.cpus_per_worker} CPUs, but the"
            f" Ray cluster has {cpus} CPUs; ask for fewer."
        )
    return workers


def _prepare(input_uri: str, fmt: str) -> Any:
    """Pass one (Ray tasks), materialized: the driver reads its metadata, the shuffle its posts."""
    return (
        read_input(input_uri, fmt)
        .repartition(target_num_rows_per_block=PREPARE_BLOCK_ROWS)
        .map_batches(
            prepare_batch,
            batch_format="pyarrow",
            batch_size=None,
            fn_kwargs={"sketcher_params": sketcher_params()},
        )
        .materialize()
    )


def _shuffle(prepared: Any, n_shards: int, dropped: set[str], partitions: int) -> Any:
    """Kept posts only, hash-shuffled so that each shard (all posts of its authors) sits in one block."""
    return (
        prepared.map_batches(
            keep_for_scoring,
            batch_format="pyarrow",
            batch_size=None,
            fn_kwargs={"n_shards": n_shards, "dropped": sorted(dropped)},
        )
        .repartition(partitions, keys=["shard"])
        .materialize()
    )


def _score(
    shuffled: Any,
    scorer_args: dict[str, Any],
    config: BatchConfig,
    workers: int,
    n_shards: int,
    n_posts: int,
    say: Progress,
) -> list[dict[str, Any]]:
    """Pass two: the actor pool scores every block; one summary per shard comes back, as shards finish."""
    import ray.data

    scored = shuffled.map_batches(
        ShardScorer,
        fn_constructor_kwargs=scorer_args,
        batch_size=None,
        batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(size=workers),
        num_cpus=config.cpus_per_worker,
    )
    started = time.perf_counter()
    summaries: list[dict[str, Any]] = []
    done = 0
    for batch in scored.iter_batches(batch_format="pyarrow", batch_size=None):
        for row in batch.to_pylist():
            summaries.append(row)
            done += row["posts"]
            rate = done / max(time.perf_counter() - started, 1e-9)
            say(f"score: shard {len(summaries)}/{n_shards} done, {done}/{n_posts} posts, {rate:.0f} posts/s")
    _check_shards(summaries, n_posts)
    return summaries


def _finalize(summaries: list[dict[str, Any]], work_uri: str, output_uri: str) -> tuple[list[int], int]:
    """Join the shards' cluster forests, then copy each shard's results to the output with its cluster ids."""
    import ray.data

    links = [(link["post_id"], link["root"]) for s in summaries for link in s["links"]]
    nodes = {
        n["post_id"]: ClusterNode(n["post_id"], n["author_id"], n["created_at"], n["action"])
        for s in summaries
        for n in s["nodes"]
    }
    assignment, clusters = build_clusters(links, nodes)
    shards = sorted(s["shard"] for s in summaries)
    _remove_stale_parts(output_uri, shards)
    if shards:
        ray.data.from_items([{"shard": s} for s in shards]).map_batches(
            finalize_shards,
            batch_format="pyarrow",
            batch_size=1,
            fn_kwargs={"work_uri": work_uri, "output_uri": output_uri, "clusters": assignment},
        ).materialize()
    write_table(f"{output_uri}/clusters.parquet", clusters)
    return shards, clusters.num_rows


def keep_for_scoring(table: pa.Table, n_shards: int, dropped: list[str]) -> pa.Table:
    """Ray ``map_batches`` function: valid, kept records only, with their shard number."""
    table = table.filter(pc.is_null(table.column("reject_reason")))
    if dropped:
        table = table.filter(pc.invert(pc.is_in(table.column("record_key"), pa.array(dropped, pa.string()))))
    shards = pa.array([shard_of(k, n_shards) for k in table.column("author_key").to_pylist()], pa.int64())
    return table.select(SCORING_COLUMNS).append_column("shard", shards)


def _start_ray(config: BatchConfig) -> None:
    import ray

    kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
    if config.address:
        # Workers on other machines need this code: ship the two packages it imports (without releases).
        import model
        import serve

        kwargs["runtime_env"] = {
            "py_modules": [str(Path(model.__file__).parent), str(Path(serve.__file__).parent)],
            "excludes": ["release/", "__pycache__/", "*.onnx"],
        }
        ray.init(address=config.address, **kwargs)
        return
    # "local": a fresh Ray on this machine, even if `ray start` left a cluster address behind.
    kwargs["address"] = "local"
    if config.local_cpus is not None:
        kwargs["num_cpus"] = config.local_cpus
    if config.object_store_mb is not None:
        kwargs["object_store_memory"] = config.object_store_mb * 1024 * 1024
    ray.init(**kwargs)


def _collect_meta(prepared: Any) -> tuple[list[PostMeta], list[Reject]]:
    metas: list[PostMeta] = []
    rejects: list[Reject] = []
    for batch in prepared.select_columns(META_COLUMNS).iter_batches(batch_format="pyarrow", batch_size=4096):
        for row in batch.to_pylist():
            if row["reject_reason"] is not None:
                rejects.append(
                    Reject(
                        row["source"],
                        row["post_id"],
                        row["reject_field"],
                        row["reject_reason"],
                        row["reject_record"],
                    )
                )
            else:
                metas.append(PostMeta.from_row(row))
    return metas, rejects


def _check_shards(summaries: list[dict[str, Any]], n_posts: int) -> None:
    """Every shard must be scored whole, exactly once; anything else would make the output depend on Ray."""
    seen = [s["shard"] for s in summaries]
    if len(seen) != len(set(seen)):
        raise RuntimeError(
            f"A shard was scored in more than one piece (shards {sorted(seen)}); the run is void."
        )
    scored = sum(s["posts"] for s in summaries)
    if scored != n_posts:
        raise RuntimeError(f"The actors scored {scored} posts, but {n_posts} were sent; the run is void.")


def _check_output(output_uri: str) -> None:
    """Refuse to write into a folder that holds something other than an earlier run of this job."""
    fs, path = filesystem(output_uri)
    info = fs.get_file_info(path)
    if info.type == pafs.FileType.NotFound:
        return
    if info.type != pafs.FileType.Directory:
        raise ValueError(
            f"The 'output' parameter must be a folder (or a new path); {output_uri!r} is a file."
        )
    entries = fs.get_file_info(pafs.FileSelector(path))
    names = {Path(e.path).name for e in entries}
    if names and not names & {JOB_FILE, WORK_DIR}:
        raise ValueError(
            f"The 'output' parameter names a folder that is not empty and holds no earlier batch run"
            f" ({output_uri!r}); choose a new path."
        )


def _remove_stale_parts(output_uri: str, shards: list[int]) -> None:
    """An earlier run with more shards left parts this run does not write: remove them."""
    fs, path = filesystem(f"{output_uri}/scores")
    if fs.get_file_info(path).type != pafs.FileType.Directory:
        return
    keep = {part_file(output_uri, s).rsplit("/", 1)[1] for s in shards}
    for entry in fs.get_file_info(pafs.FileSelector(path)):
        if Path(entry.path).name not in keep:
            fs.delete_file(entry.path)


def _write_job_file(
    output_uri: str,
    config: BatchConfig,
    fmt: str,
    input_uri: str,
    manifest: dict[str, Any],
    summary: BatchSummary,
    shards: list[int],
) -> None:
    """``job.json``: what produced this folder. No timings or worker counts: a rerun writes the same file."""
    payload = {
        "format": JOB_FORMAT,
        "input": input_uri,
        "input_format": fmt,
        "release": {k: manifest.get(k) for k in ("version", "model_file", "policy_file", "code_version")},
        "release_files": manifest.get("files", {}),
        "two_pass": config.two_pass,
        "shard_posts": config.shard_posts,
        "chunk_size": config.chunk_size,
        "records": summary.records,
        "scored": summary.scored,
        "rejected": summary.rejected,
        "clusters": summary.clusters,
        "parts": [part_file("", s).lstrip("/") for s in shards],
    }
    write_bytes(
        f"{output_uri}/{JOB_FILE}",
        (json.dumps(payload, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8"),
    )
