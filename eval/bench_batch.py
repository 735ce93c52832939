"""Throughput of the Ray Data batch job vs a plain single-process loop over the same posts.

    python -m eval.bench_batch                       # 20k posts, 2k images: ~15 min on 2 cores
    python -m eval.bench_batch --posts 2000          # a quick look

Both sides score the same synthetic dump (``feedguard batch generate``, cached under ``var/bench``)
with the same release (``model/release``; if there is none yet, a stand-in with the release's
architecture, see :mod:`eval.standin_release`, which is said in the report):

* **plain loop**: one process, ``Scorer.from_release`` and ``Scorer.score`` over the posts in time
  order, 256 at a time, with onnxruntime using all cores; duplicate evidence grows as it goes
  (what the service does);
* **Ray job**: :func:`serve.batch.job.run_batch` on local Ray, one scorer actor per core, two passes
  (whole-input indexes, clusters). Ray's own start-up is timed apart.

Results go to ``eval/reports/batch.md`` (posts/s, per-stage seconds, and what the per-core rate
implies for 100M posts a day). The machine is shared and has 2 cores: compare runs on one machine only.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import pyarrow.parquet as pq
import typer

from model.bundle import MANIFEST, RELEASE_DIR, describe_model, read_manifest

REPORT = Path(__file__).parent / "reports" / "batch.md"
CACHE = Path("var/bench")
POSTS_PER_DAY = 100_000_000
#: Layers and token limit of the released student (train/release.py: 4 of 12 layers, 128 tokens).
STANDIN_LAYERS = (0, 4, 8, 11)
STANDIN_MAX_LENGTH = 128

app = typer.Typer(add_completion=False)


def _posts(path: Path):
    from model.scorer import PostInput

    rows = pq.read_table(
        path, columns=["post_id", "author_id", "created_at", "text", "images", "image_hashes"]
    )
    posts = [
        PostInput(
            r["post_id"],
            r["text"],
            r["author_id"],
            r["created_at"],
            tuple(r["images"]),
            tuple(r["image_hashes"]),
        )
        for r in rows.to_pylist()
    ]
    return sorted(posts, key=lambda p: (p.created_at, p.post_id))


def plain_loop(data: Path, release: Path, threads: int, chunk: int = 256) -> dict:
    """Single process, the service's Scorer, all posts in time order.

    FAISS is held to one OpenMP thread, as Ray does for its workers: with its default (all cores)
    each tiny range search spin-waits for the other cores, measured at ~70 ms a query here.
    """
    import faiss

    from model.scorer import Scorer

    faiss.omp_set_num_threads(1)

    t0 = time.perf_counter()
    posts = _posts(data)
    scorer = Scorer.from_release(release, intra_op_threads=threads, cache_size=0)
    load = time.perf_counter() - t0
    t1 = time.perf_counter()
    for start in range(0, len(posts), chunk):
        scorer.score(posts[start : start + chunk])
    seconds = time.perf_counter() - t1
    return {
        "posts": len(posts),
        "threads": threads,
        "load_s": load,
        "score_s": seconds,
        "posts_per_s": len(posts) / seconds,
    }


def ray_job(data: Path, release: Path, workers: int, out: Path, two_pass: bool) -> dict:
    import ray

    from serve.batch.job import BatchConfig, run_batch

    t0 = time.perf_counter()
    ray.init(address="local", num_cpus=workers, include_dashboard=False, log_to_driver=False)
    start_s = time.perf_counter() - t0
    try:
        shutil.rmtree(out, ignore_errors=True)
        t1 = time.perf_counter()
        summary = run_batch(
            BatchConfig(
                input=str(data), output=str(out), release=release, workers=workers, two_pass=two_pass
            ),
            progress=lambda line: print(line, flush=True),
        )
        seconds = time.perf_counter() - t1
    finally:
        ray.shutdown()
    return {
        "posts": summary.scored,
        "workers": workers,
        "two_pass": two_pass,
        "ray_start_s": start_s,
        "job_s": seconds,
        "stages": summary.seconds,
        "clusters": summary.clusters,
        "posts_per_s": summary.scored / seconds,
        "score_stage_posts_per_s": summary.scored / summary.seconds["score"],
    }


def memory_per_post(data: Path, sample: int = 5_000) -> dict:
    """Bytes per post the two-pass index costs: driver metadata, the index (in the driver and in every
    actor), and the packed copy shipped to actors. Measured with tracemalloc on the first ``sample``
    posts, text only (images add 32 bytes per hash)."""
    import tracemalloc

    import pyarrow as pa

    from model.evidence import EvidenceConfig
    from serve.batch.index import PostMeta, build_evidence, packed_evidence, sketcher_params
    from serve.batch.prepare import META_COLUMNS, prepare_batch

    table = pq.read_table(data).slice(0, sample)
    table = table.set_column(
        table.schema.get_field_index("images"),
        "images",
        pa.array([[]] * table.num_rows, pa.list_(pa.binary())),
    )
    prepared = prepare_batch(table.append_column("path", pa.array(["x"] * table.num_rows)), sketcher_params())
    tracemalloc.start()
    metas = [PostMeta.from_row(r) for r in prepared.select(META_COLUMNS).to_pylist()]
    meta_bytes = tracemalloc.get_traced_memory()[0]
    finder = build_evidence(metas, EvidenceConfig())
    index_bytes = tracemalloc.get_traced_memory()[0] - meta_bytes
    tracemalloc.stop()
    packed = sum(len(v) for v in packed_evidence(finder).values())
    n = len(metas)
    return {"sample": n, "driver_meta": meta_bytes / n, "index": index_bytes / n, "packed": packed / n}


def _describe(release: Path) -> str:
    """The report names the exact model it timed, so a figure can be traced to a release."""
    m = read_manifest(release)
    shown = release.resolve()
    if shown.is_relative_to(Path.cwd()):
        shown = shown.relative_to(Path.cwd())
    return (
        f"{shown} ({describe_model(m)}, "
        f"code {m.get('code_version', '?')}, model sha256 {m['files'].get(m['model_file'], '?')[:12]})"
    )


def _release(release: Path | None, data: Path) -> tuple[Path, str]:
    if release is not None:
        return release, _describe(release)
    if (RELEASE_DIR / MANIFEST).is_file():
        return RELEASE_DIR, _describe(RELEASE_DIR)
    from eval.standin_release import build_standin_release

    target = CACHE / "standin-release"
    if not (target / MANIFEST).is_file():
        texts = pq.read_table(data, columns=["text"]).column("text").to_pylist()
        build_standin_release(target, texts, layers=STANDIN_LAYERS, max_length=STANDIN_MAX_LENGTH)
    return target, (
        "STAND-IN (no model/release yet): the release's architecture (e5-small student, 4 layers, INT8,"
        " 128 tokens) with an untrained head; speed is representative, scores are not"
    )


@app.command()
def main(
    posts: Annotated[int, typer.Option(help="Posts in the dump.")] = 20_000,
    images: Annotated[int | None, typer.Option(help="Images in the dump (default posts/10).")] = None,
    release: Annotated[Path | None, typer.Option(help="Release folder (default model/release).")] = None,
    workers: Annotated[int, typer.Option(help="Ray scorer actors (= local CPUs given to Ray).")] = 2,
    report: Annotated[Path, typer.Option(help="Markdown report to write.")] = REPORT,
    skip_plain: Annotated[bool, typer.Option(help="Skip the single-process loop.")] = False,
    rerender: Annotated[
        bool, typer.Option(help="Only rewrite the report from the last run's var/bench/batch-results.json.")
    ] = False,
    note: Annotated[
        str | None, typer.Option(help="A line to add to the report (e.g. the machine's load).")
    ] = None,
) -> None:
    from data.batch_generate import generate_batch

    saved = CACHE / "batch-results.json"
    if rerender:
        results = json.loads(saved.read_text(encoding="utf-8"))
        data = CACHE / f"batch-{results['posts']}-{results['images']}.parquet"
        results.setdefault("memory", memory_per_post(data))
        results.setdefault("date", datetime.now(UTC).date().isoformat())
        if note:
            results["note"] = note
        saved.write_text(json.dumps(results, indent=2), encoding="utf-8")
        report.write_text(render(results), encoding="utf-8")
        print(f"wrote {report}")
        return

    n_images = posts // 10 if images is None else images
    data = CACHE / f"batch-{posts}-{n_images}.parquet"
    if not data.is_file():
        t0 = time.perf_counter()
        made = generate_batch(posts, data, n_images=n_images)
        print(f"generated {made} in {time.perf_counter() - t0:.0f} s", flush=True)
    release_dir, release_note = _release(release, data)
    results: dict = {
        "posts": posts,
        "images": n_images,
        "release": release_note,
        "date": datetime.now(UTC).date().isoformat(),
        "load_before": os.getloadavg(),
    }
    if note:
        results["note"] = note
    if not skip_plain:
        results["plain"] = plain_loop(data, release_dir, threads=workers)
        print("plain loop:", json.dumps(results["plain"]), flush=True)
    results["ray"] = ray_job(data, release_dir, workers, CACHE / "batch-out", two_pass=True)
    print("ray job:", json.dumps(results["ray"]), flush=True)
    results["load_after"] = os.getloadavg()
    results["memory"] = memory_per_post(data)
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(render(results), encoding="utf-8")
    saved.write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(f"wrote {report}")


def render(r: dict) -> str:
    ray = r["ray"]
    plain = r.get("plain")
    stages = ", ".join(f"{k} {v:.1f} s" for k, v in ray["stages"].items())
    per_core = ray["posts_per_s"] / ray["workers"]
    per_core_score = ray["score_stage_posts_per_s"] / ray["workers"]
    need = POSTS_PER_DAY / 86_400
    lines = [
        "# Batch re-scoring: Ray Data job vs a plain loop",
        "",
        f"Measured {r.get('date', '')} on {platform.node() or 'this machine'} ({os.cpu_count()} cores, shared with other work), by"
        f" `python -m eval.bench_batch --posts {r['posts']}`.",
        f"Input: {r['posts']} synthetic posts with {r['images']} images (`feedguard batch generate`)."
        f" Release: {r['release']}.",
    ]
    if "load_before" in r:
        lines.append(
            f"Load average (1/5/15 min) before: {', '.join(f'{v:.1f}' for v in r['load_before'])};"
            f" after: {', '.join(f'{v:.1f}' for v in r['load_after'])}."
        )
    if r.get("note"):
        lines.append(r["note"])
    lines += ["", "| path | posts/s | wall s | notes |", "| --- | ---: | ---: | --- |"]
    if plain:
        lines.append(
            f"| plain loop, 1 process, onnxruntime {plain['threads']} threads | {plain['posts_per_s']:.0f} |"
            f" {plain['score_s']:.0f} | `Scorer.score`, 256 posts per call, evidence grows as it goes;"
            " FAISS on 1 OpenMP thread, as in Ray workers |"
        )
    lines += [
        f"| Ray job, {ray['workers']} actors x 1 thread, two passes | {ray['posts_per_s']:.0f} | {ray['job_s']:.0f} |"
        f" {stages}; {ray['clusters']} clusters; Ray start-up {ray['ray_start_s']:.0f} s not included |",
        f"| Ray job, scoring stage alone | {ray['score_stage_posts_per_s']:.0f} | {ray['stages']['score']:.0f} |"
        " one ONNX session per actor |",
        "",
        "## What it implies",
        "",
    ]
    if plain:
        ratio = ray["posts_per_s"] / plain["posts_per_s"]
        why = (
            "two processes run the Python half of scoring (normalizing, image hashing, evidence, fusion) in"
            " parallel, where one process spreads only the ONNX run over both cores; that outweighs the extra"
            " work (a first pass, a shuffle, clusters)"
            if ratio > 1
            else "the extra work (a first pass, a shuffle, clusters) and Ray's fixed costs outweigh running the"
            " Python half of scoring in parallel"
        )
        lines.append(
            f"- On this machine the Ray job runs at {ratio:.2f}x the plain loop, most likely because {why}."
        )
    lines += [
        f"- Whole job: {per_core:.0f} posts/s per core; scoring stage alone: {per_core_score:.0f} posts/s per core.",
        f"- 100M posts/day is {need:.0f} posts/s on average. At the whole-job rate that is {need / per_core:.0f}"
        f" cores, e.g. {need / per_core / 16:.1f} nodes of 16 cores busy all day, or"
        f" {need / per_core / 16 * 4:.0f} such nodes to re-score a day in 6 hours, if the index fits (next point).",
    ]
    memory = r.get("memory")
    if memory:
        driver_kb = (memory["driver_meta"] + memory["index"] + memory["packed"]) / 1000
        actor_kb = memory["index"] / 1000
        lines.append(
            f"- Two passes keep the whole input's index in memory (tracemalloc, {memory['sample']} posts): the driver"
            f" about {driver_kb:.1f} KB per post at its peak, every scoring actor {actor_kb:.1f} KB per post. At"
            f" 4 GB per actor one job covers about {4e6 / actor_kb / 1e6:.1f}M posts; a 100M-post day needs the"
            " indexes sharded (DESIGN.md: by hash prefix, or a vector store) before it runs as one two-pass job."
            " `--no-two-pass` holds no index and scales with the cluster, without near-duplicate evidence."
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    app()
