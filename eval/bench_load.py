"""What loading a release costs a process that embeds it: seconds to a ready scorer, and memory.

Why: the feed service, each batch-job actor and every `feedguard score` call load the release once
before scoring anything, and a release stored differently (r22: the shared table packed with xz and
unpacked in memory) can cost time or memory there while scoring as fast as before. Each load runs
in a fresh Python process, so nothing is cached between runs; the process reports seconds from
import to a scored first post, seconds in ``load_bundle`` alone, and its resident memory after
the first post and at peak. Memory freed while loading is reused once posts are scored, so with
``--posts`` the process then scores those posts and reports its memory again: what a serving
process holds.

    python -m eval.bench_load --release A [--release B ...] [--runs 3] [--posts F.jsonl]
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(help="Time loading releases in fresh processes.", add_completion=False)

#: Run in the child: import, load, score one post, report as one JSON line.
_CHILD = """
import json, resource, sys, time
start = time.perf_counter()
from model.bundle import load_bundle
imported = time.perf_counter()
bundle = load_bundle(sys.argv[1], intra_op_threads=int(sys.argv[2]) if sys.argv[2] != "0" else None)
loaded = time.perf_counter()
bundle.classifier.logits(["招代理，零门槛，月入过万，私我了解"])
scored = time.perf_counter()
def rss_mb():
    return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmRSS:")) / 1024
out = {
    "import_s": imported - start, "load_s": loaded - imported, "first_post_s": scored - loaded,
    "ready_s": scored - start, "rss_mb": rss_mb(),
}
if len(sys.argv) > 3:
    bundle.classifier.logits([json.loads(line)["text"] for line in open(sys.argv[3], encoding="utf-8")])
    out["rss_after_posts_mb"] = rss_mb()
out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""
FIGURES = ("load_s", "ready_s", "rss_mb", "peak_rss_mb")


def load_once(release: Path, threads: int | None = None, posts: Path | None = None) -> dict[str, float]:
    """One fresh process loading ``release`` and scoring one post (then ``posts``); what it reports."""
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(release), str(threads or 0), *([str(posts)] if posts else [])],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"loading {release} failed: {last}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench_load(
    releases: list[Path], runs: int, threads: int | None = None, posts: Path | None = None
) -> dict[str, Any]:
    """Median of ``runs`` fresh loads per release, taken in turn across releases so load drifts evenly;
    ``posts`` (JSON Lines with a ``text`` field) are scored after the first post, for the memory after them."""
    if runs < 1:
        raise ValueError(f"The 'runs' parameter of bench_load must be at least 1; got {runs!r}.")
    samples: dict[str, list[dict[str, float]]] = {str(r): [] for r in releases}
    for _ in range(runs):
        for release in releases:
            samples[str(release)].append(load_once(release, threads, posts))
    figures = FIGURES + (("rss_after_posts_mb",) if posts else ())
    return {
        name: {key: statistics.median(s[key] for s in rows) for key in figures} | {"runs": len(rows)}
        for name, rows in samples.items()
    }


def load_table(result: dict[str, Any]) -> str:
    """The medians as a Markdown table, one row per release."""
    after = any("rss_after_posts_mb" in row for row in result.values())
    head = "| release | load_bundle s | import to first post scored, s | RSS after first post, MB |"
    head += " RSS after the posts, MB |" if after else ""
    lines = [head + " peak RSS, MB |", "| --- " * (5 + after) + "|"]
    for name, row in result.items():
        cells = [f"{row['load_s']:.2f}", f"{row['ready_s']:.2f}", f"{row['rss_mb']:.0f}"]
        cells += [f"{row['rss_after_posts_mb']:.0f}"] if after else []
        lines.append(f"| {name} | " + " | ".join([*cells, f"{row['peak_rss_mb']:.0f}"]) + " |")
    return "\n".join(lines)


@app.command()
def main(
    release: Annotated[list[Path], typer.Option(help="A release folder (repeatable).")],
    runs: Annotated[int, typer.Option(help="Fresh processes per release; the table shows medians.")] = 3,
    threads: Annotated[int | None, typer.Option(help="onnxruntime threads (default: all cores).")] = None,
    posts: Annotated[
        Path | None, typer.Option(help="JSON Lines with a 'text' field, scored after the first post.")
    ] = None,
) -> None:
    """Print median load time and memory per release (Markdown)."""
    if runs < 1:
        typer.echo(f"error: --runs must be at least 1; got {runs}.", err=True)
        raise typer.Exit(2)
    missing = [str(r) for r in release if not (Path(r) / "manifest.json").is_file()]
    if missing:
        typer.echo(f"error: no release (manifest.json) in {', '.join(missing)}.", err=True)
        raise typer.Exit(2)
    if posts is not None and not posts.is_file():
        typer.echo(f"error: --posts {posts} is not a file.", err=True)
        raise typer.Exit(2)
    try:
        result = bench_load(list(release), runs, threads, posts)
    except RuntimeError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(1) from err
    typer.echo(load_table(result))
    scored = f"one, then the {sum(1 for _ in posts.open(encoding='utf-8'))} of {posts}" if posts else "one"
    typer.echo(f"\nMedian of {runs} fresh processes per release, taken in turn; posts scored: {scored}.")


if __name__ == "__main__":
    app()
