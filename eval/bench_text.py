"""Text-model speed benchmark: one run, the same posts, every backend side by side.

Compares the PyTorch FP32 teacher, the teacher exported to ONNX FP32 and INT8, the INT8
student, and the student blended with the n-gram model when the build released a blend
(what a build released is one of the INT8 rows) on posts drawn from the test
split, so lengths are realistic. Throughput is measured two ways. "batch 32": one call over
all posts, which the classifier sorts by length and runs in groups of 32, so each group pads
only to its own longest post (the best case, what the issue asks for). "calls of 32": the
posts arrive 32 per call in test-split order, as a feed service sends them, so each call
pads to the longest of 32 unsorted posts unless the classifier splits it into smaller
groups, as the served one does (the "as served" row, groups of SCORING_BATCH). Latency at
batch 1 (one post per call) as p50/p99, also per token-length bucket.

Not a test: speed is machine- and load-dependent (2 shared cores here). Run it with
``python -m eval.bench_text --work var/model-build/default --data var/data/default``;
the release build runs it and puts the table in the model card.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

#: Token-length buckets (upper bounds, inclusive) for the per-length latency table.
LENGTH_BUCKETS = (32, 64, 128, 512)


def _bucket_name(lo: int, hi: int) -> str:
    return f"{lo + 1}-{hi} tokens"


def time_batched(predict: Callable[[list[str]], Any], texts: list[str], rounds: int) -> float:
    """Best-of-``rounds`` posts/s for one call over all texts (the classifier batches by 32 itself)."""
    best = 0.0
    for _ in range(rounds):
        t0 = time.perf_counter()
        predict(texts)
        best = max(best, len(texts) / (time.perf_counter() - t0))
    return best


def draw_posts(texts: Sequence[str], n: int, seed: int) -> list[str]:
    """``n`` posts drawn without replacement, kept in their split order (all of them if fewer)."""
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(len(texts), size=min(n, len(texts)), replace=False))
    return [texts[i] for i in idx]


def _time_calls(
    predict: Callable[[list[str]], Any], texts: list[str], rounds: int, call_size: int = 32
) -> float:
    """Best-of-``rounds`` posts/s when ``texts`` arrive ``call_size`` per call, in their order."""
    best = 0.0
    for _ in range(rounds):
        t0 = time.perf_counter()
        for start in range(0, len(texts), call_size):
            predict(texts[start : start + call_size])
        best = max(best, len(texts) / (time.perf_counter() - t0))
    return best


def _time_single(predict: Callable[[list[str]], Any], texts: list[str]) -> np.ndarray:
    """Milliseconds per call with one post per call, for each post."""
    out = np.zeros(len(texts))
    for i, text in enumerate(texts):
        t0 = time.perf_counter()
        predict([text])
        out[i] = (time.perf_counter() - t0) * 1000
    return out


def served_blend(work: Path, role: str, ngram_weight: float, max_length: int, threads: int | None = None):
    """A build's INT8 ``role`` as serving runs it: blended with the build's n-gram model at
    ``ngram_weight``, or the encoder alone at weight 0."""
    from model.onnx_classifier import OnnxTextClassifier
    from model.tokenizer import PostTokenizer

    work = Path(work)
    encoder = OnnxTextClassifier(
        work / "onnx" / f"{role}_int8.onnx",
        PostTokenizer.load(work / "tokenizer"),
        max_length,
        intra_op_threads=threads,
    )
    return _with_ngram(work, encoder, ngram_weight) if ngram_weight else encoder


def _with_ngram(work: Path, encoder, ngram_weight: float):
    """``encoder`` blended with the build's n-gram model (``WORK/baseline``) at ``ngram_weight``."""
    from model.ngram_model import NgramModel
    from model.text_ensemble import BlendedTextClassifier

    return BlendedTextClassifier(encoder, NgramModel.load(Path(work) / "baseline"), ngram_weight)


def served_release(work: Path, max_length: int, threads: int | None = None):
    """The model a build released, as serving runs it: ``(INT8 encoder, its n-gram blend or None)``.

    The encoder is the role the build released (``WORK/onnx/<role>_int8.onnx``); the blend exists
    when the build blended and kept its n-gram model (``WORK/baseline``).
    """
    from eval.text_report import load_blend_weight, load_released_role

    work = Path(work)
    role = load_released_role(work)
    encoder = served_blend(work, role, 0.0, max_length, threads)
    weight = load_blend_weight(work)
    if not weight or not (work / "baseline").is_dir():
        return encoder, None
    # One ONNX session for both: the blend wraps the very encoder returned beside it.
    return encoder, _with_ngram(work, encoder, weight)


def served_cascade(work: Path, fast, max_length: int, threads: int | None = None):
    """The build's cascade as serving runs it around ``fast`` (its served release), or None without one.

    The slow half is the escalation role's INT8 encoder, blended with the build's n-gram model at
    the escalation's own weight.
    """
    from eval.text_report import load_escalation
    from model.text_cascade import CascadeTextClassifier

    escalation = load_escalation(work)
    if escalation is None:
        return None
    slow = served_blend(work, escalation["role"], escalation["ngram_weight"], max_length, threads)
    return CascadeTextClassifier(fast, slow, escalation["band"])


def release_backends(
    releases: Mapping[str, Path], threads: int | None = None
) -> dict[str, Callable[[list[str]], Any]]:
    """Release folders (by the row name to print) exactly as a feed service loads them (``load_bundle``).

    Why: a release rewritten after its build (``feedguard model shrink``) has no work dir of its
    own, and two releases are compared for speed only when timed in one run on the same posts.
    """
    from model.bundle import load_bundle

    out: dict[str, Callable[[list[str]], Any]] = {}
    for name, release in releases.items():
        out[name] = load_bundle(Path(release), intra_op_threads=threads).classifier.predict_proba
    return out


def backends(
    work: Path, max_length: int, batch_size: int = 32, threads: int | None = None
) -> dict[str, Callable[[list[str]], Any]]:
    """The benchmarked backends found in a build's work dir (``WORK/teacher/best``, ``WORK/onnx/*.onnx``)."""
    from eval.text_report import load_released_role
    from model.onnx_classifier import SCORING_BATCH, OnnxTextClassifier
    from model.tokenizer import PostTokenizer

    work = Path(work)
    tok = PostTokenizer.load(work / "tokenizer")
    out: dict[str, Callable[[list[str]], Any]] = {}
    if (work / "teacher" / "best" / "config.json").is_file():
        from model.text_classifier import TorchTextClassifier, load_module

        clf = TorchTextClassifier(load_module(work / "teacher" / "best"), tok, max_length, batch_size)
        out["PyTorch FP32 teacher"] = clf.predict_proba
    for label, file in (
        ("ONNX FP32 teacher", "teacher_fp32.onnx"),
        ("ONNX INT8 teacher", "teacher_int8.onnx"),
        ("ONNX INT8 student", "student_int8.onnx"),
    ):
        path = work / "onnx" / file
        if path.is_file():
            out[label] = OnnxTextClassifier(
                path, tok, max_length, batch_size=batch_size, intra_op_threads=threads
            ).predict_proba
    # The "as served" rows time the model the build released, the teacher when it lost the student.
    role = load_released_role(work)
    if (work / "onnx" / f"{role}_int8.onnx").is_file():
        served, blended = served_release(work, max_length, threads)
        out[f"ONNX INT8 {role}, groups of {SCORING_BATCH} (as served)"] = served.predict_proba
        cascade = served_cascade(work, blended or served, max_length, threads)
        released = " (release as served)"
        if blended is not None:
            out[
                f"INT8 {role} + n-gram at {blended.ngram_weight:.1f}, groups of {SCORING_BATCH}"
                + ("" if cascade else released)
            ] = blended.predict_proba
        if cascade is not None:
            out[
                f"cascade: the above, posts within {cascade.route:g} re-scored by the INT8 teacher{released}"
            ] = cascade.predict_proba
    if not out:
        raise ValueError(
            f"The 'work' parameter must be a release build's work dir; {str(work)!r} has no models."
        )
    return out


#: How often :func:`wait_for_quiet` reads the load average.
QUIET_POLL_S = 10.0


def wait_for_quiet(below: float, timeout_s: float, *, poll_s: float = QUIET_POLL_S) -> float:
    """Wait until the 1-minute load average is under ``below``; return the seconds waited.

    Why: on this shared 2-core machine a timing run that starts right after other work reads
    10 % slow (session 32: the same release read 4.8x right after scoring and 5.2-5.4x once the
    load had settled), so a judged timing waits for a quiet machine instead of reading its
    neighbours. Raises TimeoutError when the machine stays busy for ``timeout_s``.
    """
    import os

    if below <= 0 or timeout_s < 0:
        raise ValueError(
            f"wait_for_quiet needs a positive load bound and a timeout >= 0; got {below!r} and {timeout_s!r}."
        )
    start = time.monotonic()
    while os.getloadavg()[0] >= below:
        waited = time.monotonic() - start
        if waited >= timeout_s:
            raise TimeoutError(
                f"the 1-minute load average stayed at or above {below:g} for {waited:.0f} s"
                f" (now {os.getloadavg()[0]:.2f}); stop what else is running or raise the bound."
            )
        time.sleep(min(poll_s, timeout_s - waited))
    return time.monotonic() - start


def run_text_bench(
    work: Path | None,
    texts: Sequence[str],
    *,
    max_length: int = 128,
    rounds: int = 3,
    single_posts: int | None = None,
    threads: int | None = None,
    releases: Mapping[str, Path] | None = None,
    quiet_below: float | None = None,
    quiet_wait: float = 600.0,
) -> dict[str, Any]:
    """Measure every backend of ``work`` and every folder in ``releases`` (row name -> folder) on ``texts``.

    Returns a JSON-able dict (see :func:`bench_table`); without ``work`` there is no PyTorch
    teacher to divide by, so the speed-up column stays empty. With ``quiet_below``, timing starts
    only once the load average is under it (:func:`wait_for_quiet`; TimeoutError after ``quiet_wait`` s).
    """
    import os

    import torch

    from model.tokenizer import PostTokenizer

    texts = list(texts)
    if not texts:
        raise ValueError("The 'texts' parameter of run_text_bench must not be empty.")
    releases = dict(releases or {})
    if work is None and not releases:
        raise ValueError("run_text_bench needs a build's 'work' dir, 'releases', or both.")
    # Every backend gets the same threads: all cores unless told (a training run may have left torch on fewer).
    torch.set_num_threads(threads or max(1, os.cpu_count() or 1))
    waited = wait_for_quiet(quiet_below, quiet_wait) if quiet_below is not None else None
    load_before = os.getloadavg()[0]
    tok = PostTokenizer.load(
        Path(work) / "tokenizer" if work is not None else Path(next(iter(releases.values())))
    )
    lengths = np.minimum(tok.token_lengths(texts), max_length)
    single = texts[: single_posts or len(texts)]
    single_len = lengths[: len(single)]
    result: dict[str, Any] = {
        "posts": len(texts),
        "mean_tokens": float(lengths.mean()),
        "p50_tokens": float(np.median(lengths)),
        "max_length": max_length,
        "rounds": rounds,
        "threads": threads or os.cpu_count(),
        "models": {},
    }
    timed = backends(Path(work), max_length, threads=threads) if work is not None else {}
    timed.update(release_backends(releases, threads))
    for predict in timed.values():
        predict(texts[:32])  # warm-up: sessions allocate on first run
    per_sec = dict.fromkeys(timed, 0.0)
    per_sec_calls = dict.fromkeys(timed, 0.0)
    # Rounds go round the backends in turn, so a change of load on this shared machine lands on
    # every backend alike instead of on whichever was timed then.
    for _ in range(rounds):
        for name, predict in timed.items():
            per_sec[name] = max(per_sec[name], time_batched(predict, texts, 1))
            per_sec_calls[name] = max(per_sec_calls[name], _time_calls(predict, texts, 1))
    for name, predict in timed.items():
        ms = _time_single(predict, single)
        buckets = {}
        lo = 0
        for hi in LENGTH_BUCKETS:
            m = (single_len > lo) & (single_len <= hi)
            if m.any():
                buckets[_bucket_name(lo, hi)] = {
                    "posts": int(m.sum()),
                    "p50_ms": float(np.percentile(ms[m], 50)),
                }
            lo = hi
        result["models"][name] = {
            "posts_per_s_batch32": per_sec[name],
            "posts_per_s_calls32": per_sec_calls[name],
            "p50_ms_batch1": float(np.percentile(ms, 50)),
            "p99_ms_batch1": float(np.percentile(ms, 99)),
            "by_length": buckets,
        }
    # The machine is shared: record how busy it was, so a slow figure can be read for what it is.
    result["load_average"] = {
        "before": round(load_before, 2),
        "after": round(os.getloadavg()[0], 2),
        "cores": os.cpu_count(),
    }
    if waited is not None:
        result["load_average"] |= {"waited_s": round(waited, 1), "quiet_below": quiet_below}
    ref = result["models"].get("PyTorch FP32 teacher", {}).get("posts_per_s_batch32")
    for stats in result["models"].values():
        stats["speedup_vs_torch_teacher"] = stats["posts_per_s_batch32"] / ref if ref else None
    return result


def bench_table(result: dict[str, Any]) -> str:
    """Markdown table of a :func:`run_text_bench` result."""
    buckets = sorted(
        {b for m in result["models"].values() for b in m["by_length"]}, key=lambda b: int(b.split("-")[0])
    )
    head = [
        "backend",
        "posts/s (batch 32)",
        "× PyTorch teacher",
        "posts/s (calls of 32)",
        "p50 ms (batch 1)",
        "p99 ms (batch 1)",
        *[f"p50 ms, {b}" for b in buckets],
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for name, m in result["models"].items():
        speed = m.get("speedup_vs_torch_teacher")
        cells = [
            name,
            f"{m['posts_per_s_batch32']:.0f}",
            f"{speed:.1f}" if speed else "–",
            f"{m['posts_per_s_calls32']:.0f}" if "posts_per_s_calls32" in m else "–",
            f"{m['p50_ms_batch1']:.1f}",
            f"{m['p99_ms_batch1']:.1f}",
        ]
        cells += [
            f"{m['by_length'][b]['p50_ms']:.1f} (n={m['by_length'][b]['posts']})"
            if b in m["by_length"]
            else "–"
            for b in buckets
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(
        f"{result['posts']} test-split posts, mean {result['mean_tokens']:.0f} tokens (median "
        f"{result['p50_tokens']:.0f}, truncated at {result['max_length']}); throughput best of "
        f"{result['rounds']} rounds taken in turn across the backends, length-bucketed batches of 32, {result.get('threads', '?')} threads. "
        "Calls of 32: the same posts 32 per call in test-split order (each call padded within itself)."
    )
    if "load_average" in result:
        la = result["load_average"]
        lines.append(
            f"1-minute load average {la['before']} before and {la['after']} after, on {la['cores']} cores "
            "(other jobs share this machine; above the core count the figures are pessimistic)."
            + (
                f" Timing began once the load was under {la['quiet_below']:g} ({la['waited_s']:.0f} s of waiting)."
                if "quiet_below" in la
                else ""
            )
        )
    return "\n".join(lines)


app = typer.Typer(help="Benchmark the text model backends on test-split posts.", add_completion=False)


@app.command()
def main(
    data: Annotated[Path, typer.Option(help="Dataset build the posts are drawn from (its test split).")],
    work: Annotated[
        Path | None, typer.Option(help="Release build work dir (holds teacher/, onnx/, tokenizer/).")
    ] = None,
    release: Annotated[
        list[Path] | None,
        typer.Option(help="A release folder to time as served (repeatable); with --work or alone."),
    ] = None,
    posts: Annotated[int, typer.Option(help="How many test posts to time.")] = 256,
    max_length: Annotated[int, typer.Option(help="Token limit, as in the release manifest.")] = 128,
    seed: Annotated[int, typer.Option(help="Seed for drawing the posts.")] = 13,
    threads: Annotated[
        int | None, typer.Option(help="Threads for every backend (default: all cores).")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Also write the JSON result here.")] = None,
    quiet_below: Annotated[
        float | None,
        typer.Option(
            help="Start timing only once the 1-minute load average is under this (default: start at once)."
        ),
    ] = None,
    quiet_wait: Annotated[
        float, typer.Option(help="Give up after this many seconds of waiting for --quiet-below.")
    ] = 600.0,
) -> None:
    """Print the benchmark table (Markdown)."""
    from eval.text_report import load_eval_splits

    if threads is not None and threads < 1:
        typer.echo(f"error: --threads must be >= 1; got {threads}.", err=True)
        raise typer.Exit(2)
    if posts < 1:
        typer.echo(f"error: --posts must be >= 1; got {posts}.", err=True)
        raise typer.Exit(2)
    if work is None and not release:
        typer.echo("error: pass --work (a release build's work dir), --release DIR, or both.", err=True)
        raise typer.Exit(2)
    if quiet_below is not None and (quiet_below <= 0 or quiet_wait < 0):
        typer.echo(
            f"error: --quiet-below must be > 0 and --quiet-wait >= 0; got {quiet_below} and {quiet_wait}.",
            err=True,
        )
        raise typer.Exit(2)
    try:
        test = load_eval_splits(data, ("test",))["test"]
        result = run_text_bench(
            work,
            draw_posts(test.texts, posts, seed),
            max_length=max_length,
            threads=threads,
            releases={f"release {r} (as served)": r for r in release or ()},
            quiet_below=quiet_below,
            quiet_wait=quiet_wait,
        )
    except (FileNotFoundError, ValueError) as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from None
    except TimeoutError as err:
        typer.echo(f"error: no timing run: {err}", err=True)
        raise typer.Exit(1) from None
    typer.echo(bench_table(result))
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=1), encoding="utf-8")


if __name__ == "__main__":
    app()
