"""Load benchmark of the scoring service over real HTTP on localhost.

Starts ``serve.app:create_app`` under uvicorn in a child process (its own ``FEEDGUARD_HOME``, the
committed release unless ``--release``), then, for every combination of concurrent callers
(1, 8, 32), posts per request (1, 32) and payload (text only, or one JPEG screenshot per post as
base64), runs closed-loop httpx async callers for a fixed time and records each request's
latency. Every post has a fresh id, so the idempotency cache never answers. Reports posts/s,
requests/s, p50/p99 latency and the mean posts per model run (from ``/metrics``: how much
micro-batching merged), as a Markdown table in ``eval/reports/service.md``.

    python -m eval.bench_service                      # full grid, ~8 s per cell
    python -m eval.bench_service --seconds 3 --callers 1,8 --batches 32 --payloads text

The client shares the machine with the server (2 cores here), so figures are a lower bound of
what the server alone would do; compare runs on the same machine only.
"""

from __future__ import annotations

import asyncio
import base64
import io
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import httpx
import numpy as np
import typer

REPORT = Path(__file__).parent / "reports" / "service.md"
GOAL = "p99 <= 100 ms for a 32-post text batch at 8 callers"

app = typer.Typer(add_completion=False, help=__doc__)


@dataclass
class Cell:
    callers: int
    batch: int
    payload: str
    requests: int
    posts: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float
    mean_run_posts: float

    @property
    def posts_per_s(self) -> float:
        return self.posts / self.seconds if self.seconds else 0.0


def _texts(n: int, seed: int) -> list[str]:
    from data.generator import generate_posts

    return [p.text for p in generate_posts(n, seed)]


def _images(n: int, seed: int) -> list[str]:
    from data.images.screenshots import SCREENSHOT_KINDS, render_screenshot

    out = []
    for i in range(n):
        image = render_screenshot(SCREENSHOT_KINDS[i % len(SCREENSHOT_KINDS)], seed + i, style_seed=i % 4)
        buf = io.BytesIO()
        image.convert("RGB").save(buf, format="JPEG", quality=85)
        out.append(base64.b64encode(buf.getvalue()).decode("ascii"))
    return out


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """``uvicorn serve.app:create_app --factory`` in a child process with its own home."""

    def __init__(self, home: Path, release: Path | None, threads: int | None) -> None:
        self.home = home
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "FEEDGUARD_HOME": str(home), "FEEDGUARD_LOCAL_KEY": "true"}
        env.pop("FEEDGUARD_DATABASE_URL", None)
        if release is not None:
            env["FEEDGUARD_RELEASE_DIR"] = str(release)
        if threads is not None:
            env["FEEDGUARD_INTRA_OP_THREADS"] = str(threads)
        cmd = [sys.executable, "-m", "uvicorn", "serve.app:create_app", "--factory"]
        cmd += ["--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning", "--no-access-log"]
        self.proc = subprocess.Popen(cmd, env=env)

    def wait_ready(self, timeout_s: float = 300.0) -> str:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the service exited with code {self.proc.returncode} during startup")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return (self.home / "local_api_key").read_text().strip()
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the service was not ready after {timeout_s} s")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _batch_stats(metrics_text: str) -> tuple[float, float]:
    def value(name: str) -> float:
        match = re.search(rf"^{name} ([0-9.e+]+)$", metrics_text, re.MULTILINE)
        return float(match.group(1)) if match else 0.0

    return value("feedguard_model_batch_posts_sum"), value("feedguard_model_batch_posts_count")


async def _run_cell(
    url: str,
    key: str,
    callers: int,
    batch: int,
    payload: str,
    seconds: float,
    texts: list[str],
    images: list[str],
) -> Cell:
    limits = httpx.Limits(max_connections=callers + 2, max_keepalive_connections=callers + 2)
    headers = {"Authorization": f"Bearer {key}"}
    latencies: list[float] = []
    counter = {"next": 0, "errors": 0}
    tag = f"{payload}-{callers}-{batch}-{time.time_ns()}"

    def body() -> dict:
        posts = []
        for _ in range(batch):
            i = counter["next"]
            counter["next"] += 1
            post = {"post_id": f"{tag}-{i}", "author_id": f"acct{i % 997}", "text": texts[i % len(texts)]}
            if payload == "images":
                post["images"] = [images[i % len(images)]]
            posts.append(post)
        return {"posts": posts}

    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=120) as client:
        before = _batch_stats((await client.get("/metrics")).text)
        # Warm-up: one request per caller, not measured.
        await asyncio.gather(*(client.post("/v1/score", json=body()) for _ in range(callers)))
        stop_at = time.perf_counter() + seconds
        started = time.perf_counter()

        async def caller() -> None:
            while time.perf_counter() < stop_at:
                payload_body = body()
                t0 = time.perf_counter()
                response = await client.post("/v1/score", json=payload_body)
                elapsed = time.perf_counter() - t0
                if response.status_code == 200:
                    latencies.append(elapsed)
                else:
                    counter["errors"] += 1

        await asyncio.gather(*(caller() for _ in range(callers)))
        wall = time.perf_counter() - started
        after = _batch_stats((await client.get("/metrics")).text)
    runs = after[1] - before[1]
    arr = np.asarray(latencies) * 1000.0
    return Cell(
        callers=callers,
        batch=batch,
        payload=payload,
        requests=len(latencies),
        posts=len(latencies) * batch,
        errors=counter["errors"],
        seconds=wall,
        p50_ms=float(np.percentile(arr, 50)) if arr.size else float("nan"),
        p99_ms=float(np.percentile(arr, 99)) if arr.size else float("nan"),
        mean_run_posts=(after[0] - before[0]) / runs if runs else float("nan"),
    )


def _table(cells: list[Cell]) -> str:
    lines = [
        "| payload | callers | posts/request | requests | posts/s | p50 ms | p99 ms | posts per model run | errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for c in cells:
        lines.append(
            f"| {c.payload} | {c.callers} | {c.batch} | {c.requests} | {c.posts_per_s:.1f} | {c.p50_ms:.1f}"
            f" | {c.p99_ms:.1f} | {c.mean_run_posts:.1f} | {c.errors} |"
        )
    return "\n".join(lines)


def _write_report(
    cells: list[Cell], command: str, release_note: str, out: Path, load: tuple[float, float]
) -> None:
    goal = [c for c in cells if c.payload == "text" and c.callers == 8 and c.batch == 32]
    verdict = (
        f"measured p99 {goal[0].p99_ms:.0f} ms: {'met' if goal[0].p99_ms <= 100 else 'NOT met'}"
        if goal
        else "not measured in this run"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        "\n".join(
            [
                "# Scoring service load benchmark",
                "",
                f"Measured {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')} on {platform.machine()},"
                f" {os.cpu_count()} CPU cores ({platform.python_implementation()} {platform.python_version()}),"
                " client and server on the same machine.",
                f"1-minute load average before / after the run: {load[0]:.1f} / {load[1]:.1f}"
                " (other work on the machine slows every figure; compare runs at similar load).",
                f"Model: {release_note}.",
                "",
                f"Command: `{command}`",
                "",
                "Closed-loop callers (each sends its next request when the last one answered), fresh post ids"
                " (no cache hits), SQLite store on, one uvicorn worker, onnxruntime on all cores.",
                "`posts per model run` is the mean micro-batch size the server ran (from `/metrics`).",
                "",
                _table(cells),
                "",
                f"Goal ({GOAL}): {verdict}.",
                "",
            ]
        ),
        encoding="utf-8",
    )


def _release_note(release: Path | None) -> str:
    from model.bundle import RELEASE_DIR, describe_model, read_manifest

    directory = Path(release or RELEASE_DIR).resolve()
    m = read_manifest(directory)
    if directory.is_relative_to(Path.cwd()):
        directory = directory.relative_to(Path.cwd())  # the report names paths a reader can open
    sha = m["files"][m["model_file"]][:12]
    return f"{directory} ({describe_model(m)}, max_length {m['max_length']}, {m['model_file']} sha256 {sha})"


@app.command()
def main(
    callers: Annotated[str, typer.Option(help="Comma-separated concurrent callers.")] = "1,8,32",
    batches: Annotated[str, typer.Option(help="Comma-separated posts per request.")] = "1,32",
    payloads: Annotated[str, typer.Option(help="Comma-separated: text, images.")] = "text,images",
    seconds: Annotated[float, typer.Option(help="Measured seconds per cell.")] = 8.0,
    release: Annotated[Path | None, typer.Option(help="Release dir (default: model/release).")] = None,
    threads: Annotated[int | None, typer.Option(help="onnxruntime intra-op threads in the server.")] = None,
    out: Annotated[Path, typer.Option(help="Markdown report path.")] = REPORT,
) -> None:
    """Run the grid and write the report."""
    try:
        caller_list = [int(x) for x in callers.split(",")]
        batch_list = [int(x) for x in batches.split(",")]
    except ValueError:
        typer.echo("error: --callers and --batches must be comma-separated integers", err=True)
        raise typer.Exit(code=2) from None
    payload_list = payloads.split(",")
    if any(p not in ("text", "images") for p in payload_list) or seconds <= 0:
        typer.echo("error: --payloads must be text and/or images, --seconds > 0", err=True)
        raise typer.Exit(code=2)
    load_before = os.getloadavg()[0]
    texts = _texts(400, seed=11)
    images = _images(24, seed=5000) if "images" in payload_list else []
    with tempfile.TemporaryDirectory(prefix="feedguard-bench-") as home:
        server = ServerProcess(Path(home), release, threads)
        try:
            key = server.wait_ready()
            cells = []
            for payload in payload_list:
                for batch in batch_list:
                    for n in caller_list:
                        cell = asyncio.run(
                            _run_cell(server.url, key, n, batch, payload, seconds, texts, images)
                        )
                        cells.append(cell)
                        typer.echo(
                            f"{payload:6s} callers={n:2d} batch={batch:2d}: {cell.posts_per_s:7.1f} posts/s"
                            f"  p50 {cell.p50_ms:7.1f} ms  p99 {cell.p99_ms:7.1f} ms"
                            f"  run {cell.mean_run_posts:5.1f} posts  errors {cell.errors}"
                        )
        finally:
            server.stop()
    command = "python -m eval.bench_service " + " ".join(sys.argv[1:])
    _write_report(cells, command.strip(), _release_note(release), out, (load_before, os.getloadavg()[0]))
    typer.echo(f"wrote {out}")


if __name__ == "__main__":
    app()
