"""Write ``eval/reports/near_dup.md`` from the edit-suite and benchmark results (JSON under eval/reports/).

Each section names the command that produced its numbers. Missing inputs are listed, not
invented; run the commands first (or ``--run`` to run the edit suite and the benchmarks here,
which takes several minutes on two cores).

    python -m eval.near_dup_report [--run] [--out eval/reports/near_dup.md]
"""

from __future__ import annotations

import argparse
import json
import platform
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPORTS = Path("eval/reports")
DEFAULT_OUT = REPORTS / "near_dup.md"
COMMANDS = {
    "edit_suite": "python -m eval.edit_suite",
    "bench_pdq": "python -m eval.bench_pdq",
    "bench_index": "python -m eval.bench_index",
    "bench_text_sketch": "python -m eval.bench_text_sketch",
}
EDIT_ORDER = (
    "jpeg",
    "resize",
    "crop",
    "border",
    "sticker",
    "brightness_contrast",
    "rotate",
    "flip",
    "amount",
    "name",
    "time",
    "none",
)


def _load(name: str) -> dict[str, Any] | None:
    path = REPORTS / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}" if value < 10 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in rows]
    return lines


def edit_suite_section(data: dict[str, Any]) -> list[str]:
    suite = data["suite"]
    methods = data["methods"]
    lines = [
        "## Edit suite: precision and recall per edit type",
        "",
        f"Command: `{COMMANDS['edit_suite']} --styles {suite['styles']} --contents {suite['contents']} --seed {suite['seed']}` "
        f"({suite['originals']} indexed originals: screenshots of 3 kinds x {suite['styles']} app templates x "
        f"{suite['contents']} contents at {suite['screen_size'][0]}x{suite['screen_size'][1]}, plus the real photos; "
        f"{suite['positive_queries']} edited copies and {suite['distractor_queries']} distractor queries — other "
        "screenshots of the same templates, edited the same ways, which must match nothing).",
        "",
        "Retrieval against the whole index: a match to the query's own original is a true positive, any other match "
        "(a same-template look-alike, another photo) a false positive. `none` = an unedited distractor.",
        "",
    ]
    header = ["edit"] + [f"{m['method']} {k}" for m in methods for k in ("P", "R")]
    rows = []
    for edit in (*EDIT_ORDER, "overall"):
        row: list[Any] = [f"**{edit}**" if edit == "overall" else edit]
        present = False
        for method in methods:
            cell = method["overall"] if edit == "overall" else method["per_edit"].get(edit)
            present = present or cell is not None
            row += [None, None] if cell is None else [cell["precision"], cell["recall"]]
        if present:
            rows.append(row)
    lines += _table(header, rows)
    lines += ["", "Per kind of image (all edits):", ""]
    kinds = sorted({k for m in methods for k in m["per_kind"]})
    rows = [
        [kind]
        + [v for m in methods for v in (m["per_kind"][kind]["precision"], m["per_kind"][kind]["recall"])]
        for kind in kinds
    ]
    lines += _table(header[:1] + header[1:], rows)
    lines += ["", "Cost per query in this run (one process, decode excluded, shared noisy machine):", ""]
    lines += _table(
        ["method", "query p50 ms", "query p99 ms", "index build s", "false positives", "missed"],
        [
            [
                m["method"],
                m["query_ms_p50"],
                m["query_ms_p99"],
                m["index_seconds"],
                m["overall"]["fp"],
                m["overall"]["fn"],
            ]
            for m in methods
        ],
    )
    return lines


def bench_pdq_section(data: dict[str, Any]) -> list[str]:
    lines = [
        "## Hashing speed",
        "",
        f"Command: `{COMMANDS['bench_pdq']} --images {data['images']} --repeats {data['repeats']}` "
        f"({data['images']} JPEGs, {data['long_side']}-px long side; median of {data['repeats']} passes).",
        "",
    ]
    lines += _table(
        ["what", "img/s, 1 process", "ms/img", "img/s, 2 processes"],
        [
            [r["what"], r["images_per_s_1proc"], r["ms_per_image"], r["images_per_s_2proc"]]
            for r in data["rows"]
        ],
    )
    return lines


def bench_index_section(data: dict[str, Any]) -> list[str]:
    lines = [
        "## Hamming search at radius 31",
        "",
        f"Command: `{COMMANDS['bench_index']} --queries {data['queries']}` (faiss {data['faiss']}, 2 threads; "
        "single-query calls; recall against brute force at the same radius; half the queries are indexed "
        "codes with 0-40 bits flipped, half random).",
        "",
    ]
    lines += _table(
        ["codes", "size", "index", "p50 µs", "p99 µs", "recall", "true matches", "memory MB", "build s"],
        [
            [
                r["codes"],
                r["size"],
                r["index"],
                r["p50_us"],
                r["p99_us"],
                r.get("recall"),
                r.get("true_matches"),
                r.get("memory_mb"),
                r.get("build_s"),
            ]
            for r in data["rows"]
        ],
    )
    return lines


def bench_text_section(data: dict[str, Any]) -> list[str]:
    lines = [
        "## Text near-duplicates (MinHash over normalized character 3-grams)",
        "",
        f"Command: `{COMMANDS['bench_text_sketch']} --posts {data['posts']} --seed {data['seed']}` "
        f"({data['posts']} generated posts, {data['copy_pairs']} true copy pairs from the generator's copy groups; "
        f"{data['sketchable_posts']} posts long enough to sketch; bands x rows at the default threshold: "
        f"{data['bands_rows_at_default'][0]} x {data['bands_rows_at_default'][1]}).",
        "",
    ]
    lines += _table(
        ["min similarity", "pairs claimed", "precision", "recall", "recall of sketchable"],
        [
            [r["threshold"], r["pairs_claimed"], r["precision"], r["recall"], r["recall_of_sketchable"]]
            for r in data["quality"]
        ],
    )
    lines += ["", f"Speed at {data['index_size']:,} indexed texts:", ""]
    lines += _table(
        [
            "implementation",
            "sketch µs/text",
            "insert µs/text",
            "query p50 µs",
            "query p99 µs",
            "recall (probe pairs)",
        ],
        [
            [
                r["implementation"],
                r["sketch_us_per_text"],
                r["insert_us_per_text"],
                r["query_p50_us"],
                r["query_p99_us"],
                r["recall_of_probe_pairs"],
            ]
            for r in data["speed"]
        ],
    )
    return lines


def build_report(notes: str = "") -> str:
    lines = [
        "# Near-duplicate evidence: edit suite and benchmarks",
        "",
        f"Machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}; "
        "2 CPU cores shared with other work, so compare ratios within one table rather than absolute figures "
        "across tables. Regenerate everything with the commands shown, then `python -m eval.near_dup_report`.",
        "",
    ]
    if notes:
        lines += [notes.strip(), ""]
    missing = []
    for name, section in (
        ("edit_suite", edit_suite_section),
        ("bench_pdq", bench_pdq_section),
        ("bench_index", bench_index_section),
        ("bench_text_sketch", bench_text_section),
    ):
        data = _load(name)
        if data is None:
            missing.append(f"`{COMMANDS[name]}`")
            continue
        lines += [*section(data), ""]
    if missing:
        lines += ["## Not run yet", "", "Run " + ", ".join(missing) + " to fill the missing sections.", ""]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", action="store_true", help="run the edit suite and the benchmarks first")
    parser.add_argument(
        "--notes", type=Path, default=REPORTS / "near_dup_notes.md", help="hand-written findings to include"
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    if args.run:
        from eval import bench_index, bench_pdq, bench_text_sketch, edit_suite

        edit_suite.main([])
        bench_pdq.main([])
        bench_index.main([])
        bench_text_sketch.main([])
    notes = args.notes.read_text(encoding="utf-8") if args.notes.is_file() else ""
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(build_report(notes), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
