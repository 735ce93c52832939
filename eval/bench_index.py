"""Hamming radius search at 10k / 100k / 1M PDQ-sized codes: latency, recall, memory, build time.

Compares our :class:`model.hamming_index.HammingIndex` (flat tier below 20k codes, exact
16x16-bit multi-index hashing above) with brute force (FAISS ``IndexBinaryFlat`` range search
and a numpy popcount scan) and FAISS's ``IndexBinaryMultiHash(256, 16, 16)`` with one flip (the
setting Meta's HMA uses). Every query is a single call, as the scorer makes it.

Two code sets: ``uniform`` random codes, and ``clustered`` — 1 % of the codes are cluster
centres, the rest copies of a centre with 0-40 bits flipped — because real PDQ hashes of
reposted templates cluster, which fills some buckets far more than others. Queries: half are
indexed codes with 0-40 bits flipped (many true matches near the radius), half random.
Recall is measured against brute force at the same radius (31).

    python -m eval.bench_index [--sizes 10000,100000,1000000] [--queries 1000] [--out eval/reports/bench_index.json]
"""

from __future__ import annotations

import argparse
import gc
import json
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from model.hamming_index import HammingIndex
from model.pdq import codes_to_hexes
from model.signals import IndexedItem

DEFAULT_OUT = Path("eval/reports/bench_index.json")
RADIUS = 31
_T0 = datetime(2026, 11, 17, tzinfo=UTC)


def flip_bits(codes: np.ndarray, max_bits: int, rng: np.random.Generator) -> np.ndarray:
    """Each row with a uniform 0..max_bits of its 256 bits flipped."""
    out = codes.copy()
    counts = rng.integers(0, max_bits + 1, len(codes))
    for row, count in enumerate(counts.tolist()):
        bits = rng.choice(256, count, replace=False)
        np.bitwise_xor.at(out[row], bits // 8, (1 << (bits % 8)).astype(np.uint8))
    return out


def make_codes(kind: str, size: int, rng: np.random.Generator) -> np.ndarray:
    if kind == "uniform":
        return rng.integers(0, 256, (size, 32), dtype=np.uint8)
    centres = rng.integers(0, 256, (max(1, size // 100), 32), dtype=np.uint8)
    return flip_bits(centres[rng.integers(0, len(centres), size)], 40, rng)


def make_queries(codes: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    near = flip_bits(codes[rng.integers(0, len(codes), count // 2)], 40, rng)
    far = rng.integers(0, 256, (count - count // 2, 32), dtype=np.uint8)
    queries = np.concatenate([near, far])
    return queries[rng.permutation(len(queries))]


def build_ours(codes: np.ndarray, mih_min_size: int | None = None) -> HammingIndex:
    index = (
        HammingIndex(radius=RADIUS)
        if mih_min_size is None
        else HammingIndex(radius=RADIUS, mih_min_size=mih_min_size)
    )
    batch = 100_000
    for start in range(0, len(codes), batch):
        hexes = codes_to_hexes(codes[start : start + batch])
        index.add(
            [IndexedItem(h, f"p{start + i}", f"a{(start + i) % 9973}", _T0) for i, h in enumerate(hexes)]
        )
    return index


def _latencies(
    search: Callable[[np.ndarray], set[int]], queries: np.ndarray
) -> tuple[np.ndarray, list[set[int]]]:
    times, results = [], []
    for query in queries:
        single = np.ascontiguousarray(query[None, :])
        started = time.perf_counter()
        found = search(single)
        times.append(time.perf_counter() - started)
        results.append(found)
    return np.array(times) * 1e6, results


def run_one(
    kind: str, size: int, query_count: int, seed: int, methods: Sequence[str]
) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    codes = make_codes(kind, size, rng)
    queries = make_queries(codes, query_count, rng)
    rows: list[dict[str, Any]] = []

    started = time.perf_counter()
    flat = faiss.IndexBinaryFlat(256)
    flat.add(codes)
    flat_build = time.perf_counter() - started

    def flat_search(query: np.ndarray) -> set[int]:
        _, _, labels = flat.range_search(query, RADIUS + 1)
        return set(labels.tolist())

    flat_times, truth = _latencies(flat_search, queries)
    true_total = sum(len(t) for t in truth)

    def record(
        name: str, times: np.ndarray, found: list[set[int]], build: float, memory: int, note: str = ""
    ) -> None:
        hits = sum(len(f & t) for f, t in zip(found, truth, strict=True))
        extra = sum(len(f - t) for f, t in zip(found, truth, strict=True))
        rows.append(
            {
                "codes": kind,
                "size": size,
                "index": name,
                "p50_us": round(float(np.percentile(times, 50)), 1),
                "p99_us": round(float(np.percentile(times, 99)), 1),
                "recall": round(hits / true_total, 4) if true_total else None,
                "wrong": extra,
                "true_matches": true_total,
                "memory_mb": round(memory / 1e6, 1),
                "build_s": round(build, 2),
                "queries": len(times),
                "note": note,
            }
        )
        print(
            f"{kind:9s} {size:>9,} {name:38s} p50 {rows[-1]['p50_us']:8.1f} us  p99 {rows[-1]['p99_us']:8.1f} us  recall {rows[-1]['recall']}"
        )

    record("faiss IndexBinaryFlat (brute force)", flat_times, truth, flat_build, codes.nbytes)

    if "ours" in methods:
        started = time.perf_counter()
        ours = build_ours(codes)
        build = time.perf_counter() - started
        stats = ours.stats()

        def ours_search(query: np.ndarray) -> set[int]:
            rows_found, _ = ours.search_codes(query)
            return set(rows_found.tolist())

        times, found = _latencies(ours_search, queries)
        tier = "multi-index" if stats["multi_index_rows"] else "flat tier"
        record(
            f"ours: HammingIndex ({tier})",
            times,
            found,
            build,
            stats["code_bytes"] + stats["multi_index_bytes"],
            "build includes creating the IndexedItem metadata",
        )

        def ours_query(query: np.ndarray) -> set[int]:
            return {int(m.item.post_id[1:]) for m in ours.query(codes_to_hexes(query)[0])}

        times, found = _latencies(ours_query, queries[: min(len(queries), 300)])
        rows_subset = truth[: len(found)]
        hits = sum(len(f & t) for f, t in zip(found, rows_subset, strict=True))
        total = sum(len(t) for t in rows_subset)
        rows.append(
            {
                "codes": kind,
                "size": size,
                "index": "ours: HammingIndex.query (hex in, Match objects out)",
                "p50_us": round(float(np.percentile(times, 50)), 1),
                "p99_us": round(float(np.percentile(times, 99)), 1),
                "recall": round(hits / total, 4) if total else None,
                "true_matches": total,
                "queries": len(times),
                "note": "full API path incl. metadata objects",
            }
        )
        print(
            f"{kind:9s} {size:>9,} {'ours: full query() API':38s} p50 {rows[-1]['p50_us']:8.1f} us  p99 {rows[-1]['p99_us']:8.1f} us"
        )
        del ours
        gc.collect()

    if "ours-mih" in methods and size < 20_000:
        ours = build_ours(codes, mih_min_size=1)
        times, found = _latencies(lambda q: set(ours.search_codes(q)[0].tolist()), queries)
        record(
            "ours: multi-index forced", times, found, 0.0, ours.stats()["multi_index_bytes"] + codes.nbytes
        )
        del ours

    if "faiss-mih" in methods:
        started = time.perf_counter()
        multi = faiss.IndexBinaryMultiHash(256, 16, 16)
        multi.nflip = 1
        multi.add(codes)
        build = time.perf_counter() - started

        def multi_search(query: np.ndarray) -> set[int]:
            _, _, labels = multi.range_search(query, RADIUS + 1)
            return set(labels.tolist())

        times, found = _latencies(multi_search, queries)
        record(
            "faiss IndexBinaryMultiHash(256,16,16) nflip=1",
            times,
            found,
            build,
            0,
            "memory not reported by FAISS",
        )
        del multi
        gc.collect()

    if "numpy" in methods:
        words = codes.view(np.uint64)
        subset = queries[: min(len(queries), 200)]

        def numpy_search(query: np.ndarray) -> set[int]:
            distances = np.bitwise_count(words ^ query.view(np.uint64)).sum(axis=1)
            return set(np.flatnonzero(distances <= RADIUS).tolist())

        times, found = _latencies(numpy_search, subset)
        hits = sum(len(f & t) for f, t in zip(found, truth, strict=False))
        total = sum(len(t) for t in truth[: len(subset)])
        rows.append(
            {
                "codes": kind,
                "size": size,
                "index": "numpy popcount scan",
                "p50_us": round(float(np.percentile(times, 50)), 1),
                "p99_us": round(float(np.percentile(times, 99)), 1),
                "recall": round(hits / total, 4) if total else None,
                "queries": len(subset),
            }
        )
        print(f"{kind:9s} {size:>9,} {'numpy popcount scan':38s} p50 {rows[-1]['p50_us']:8.1f} us")
    return rows


def run(
    sizes: Sequence[int], kinds: Sequence[str], query_count: int, seed: int, methods: Sequence[str], out: Path
) -> dict[str, Any]:
    faiss.omp_set_num_threads(2)
    rows = []
    for kind in kinds:
        for size in sizes:
            rows.extend(run_one(kind, size, query_count, seed, methods))
    result = {
        "radius": RADIUS,
        "queries": query_count,
        "seed": seed,
        "faiss": faiss.__version__,
        "rows": rows,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1), encoding="utf-8")
    print(f"wrote {out}")
    return result


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--codes", default="uniform,clustered", help="code sets: uniform, clustered")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--methods", default="ours,ours-mih,faiss-mih,numpy")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    try:
        sizes = [int(s) for s in args.sizes.split(",") if s]
    except ValueError:
        parser.error(f"--sizes must be comma-separated integers; got {args.sizes!r}")
    kinds = [k for k in args.codes.split(",") if k]
    if not sizes or min(sizes) < 100 or set(kinds) - {"uniform", "clustered"}:
        parser.error("--sizes must be integers >= 100 and --codes a subset of uniform,clustered")
    run(sizes, kinds, args.queries, args.seed, args.methods.split(","), args.out)


if __name__ == "__main__":
    main()
