"""``feedguard demo``: replay a generated feed through the scoring service and watch it work.

What a newcomer sees: a feed of a few hundred posts (ordinary users, lone sellers and agent
networks sharing screenshots and copywriting, from ``data.generator`` and ``data.accounts``)
replayed in time order through ``POST /v1/score`` by a few concurrent callers, with a live line
per second (posts/s, actions so far) and a closing summary: actions per label, the largest
duplicate clusters, how the actions line up with the generator's ground truth, and one viewer's
feed filtered with "hide seller posts" on.

If no service answers at ``--url``, the demo starts one (``serve.app:create_app`` under uvicorn,
same ``FEEDGUARD_HOME``) and stops it at the end. The demo lives in ``eval/`` because it uses the
data generator, which the service itself must never import.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from model.labels import ACTIONS, LABELS

app = typer.Typer(add_completion=False, help="Replay a generated feed through the scoring service.")


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=2)


# ---------------------------------------------------------------------- the feed
def build_feed(directory: Path, n_posts: int, n_images: int, seed: int) -> Path:
    """Generate (once per size and seed) a feed as JSONL with its images; returns the JSONL path."""
    path = directory / f"feed-{n_posts}-{n_images}-{seed}.jsonl"
    if path.is_file():
        return path
    from data.accounts import simulate_feed
    from data.generator import generate_posts
    from data.sources import load_real_texts

    real = [t.text for t in load_real_texts()][: 4 * n_posts]
    posts = generate_posts(n_posts, seed, real)
    out_dir = directory / f"feed-{n_posts}-{n_images}-{seed}"
    rows = simulate_feed(posts, out_dir, seed, start=datetime(2026, 11, 16, tzinfo=UTC), n_images=n_images)
    rows.sort(key=lambda r: r["created_at"])
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        for row in rows:
            row["image_paths"] = [str(out_dir / p) for p in row["image_paths"]]
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    tmp.replace(path)
    return path


def read_feed(path: Path) -> list[dict[str, Any]]:
    rows = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                _fail(f"--feed line {number} is not JSON ({err.msg})")
            if not isinstance(row, dict) or "post_id" not in row or "text" not in row:
                _fail(f"--feed line {number} needs at least post_id and text")
            rows.append(row)
    return rows


def to_request_post(row: dict[str, Any]) -> dict[str, Any]:
    post: dict[str, Any] = {"post_id": row["post_id"], "text": row["text"]}
    for key in ("author_id", "created_at", "image_hashes"):
        if row.get(key):
            post[key] = row[key]
    images = [base64.b64encode(Path(p).read_bytes()).decode("ascii") for p in row.get("image_paths") or []]
    if images:
        post["images"] = images
    return post


# ---------------------------------------------------------------------- the service
def _service_up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def start_service(url: str, home: Path) -> subprocess.Popen[bytes]:
    """Start ``serve.app:create_app`` under uvicorn on ``url``'s host and port."""
    parsed = httpx.URL(url)
    env = {**os.environ, "FEEDGUARD_HOME": str(home)}
    cmd = [sys.executable, "-m", "uvicorn", "serve.app:create_app", "--factory", "--host", parsed.host]
    cmd += ["--port", str(parsed.port or 80), "--log-level", "warning", "--no-access-log"]
    proc = subprocess.Popen(cmd, env=env)
    deadline = time.monotonic() + 300
    while not _service_up(url):
        if proc.poll() is not None:
            _fail(f"the service exited with code {proc.returncode} while starting (see above)")
        if time.monotonic() > deadline:
            proc.terminate()
            _fail("the service did not become ready within 300 s")
        time.sleep(0.3)
    return proc


# ---------------------------------------------------------------------- replay and summary
@dataclass
class Tally:
    started: float = field(default_factory=time.perf_counter)
    posts: int = 0
    requests: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    actions: Counter[str] = field(default_factory=Counter)
    label_actions: Counter[tuple[str, str]] = field(default_factory=Counter)
    clusters: dict[str, dict[str, Any]] = field(default_factory=dict)
    truth: Counter[tuple[str, str]] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)

    def add(self, rows: list[dict[str, Any]], results: list[dict[str, Any]]) -> None:
        for row, result in zip(rows, results, strict=True):
            self.posts += 1
            action = result["action"]
            self.actions[action] += 1
            for label in result["labels"] or ["none"]:
                self.label_actions[(label, action)] += 1
            truth = "seller" if row.get("labels") else "normal"
            self.truth[(truth, "flagged" if result["labels"] or action != "allow" else "allowed")] += 1
            evidence = result.get("evidence") or {}
            cluster = evidence.get("cluster_id")
            if cluster:
                entry = self.clusters.setdefault(
                    cluster, {"accounts": set(), "posts": 0, "example": row["text"]}
                )
                entry["accounts"].add(row.get("author_id") or row["post_id"])
                entry["posts"] += 1

    def line(self) -> str:
        elapsed = time.perf_counter() - self.started
        acts = " ".join(f"{a} {self.actions[a]}" for a in ACTIONS)
        rate = self.posts / elapsed if elapsed else 0.0
        return f"[{elapsed:5.1f}s] {self.posts:5d} posts  {rate:6.1f} posts/s | {acts}"


async def replay(
    url: str, key: str, rows: list[dict[str, Any]], *, callers: int, batch: int, tally: Tally
) -> None:
    queue: asyncio.Queue[list[dict[str, Any]]] = asyncio.Queue()
    for i in range(0, len(rows), batch):
        queue.put_nowait(rows[i : i + batch])
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=120) as client:

        async def caller() -> None:
            while not queue.empty():
                chunk = queue.get_nowait()
                body = {"posts": [to_request_post(r) for r in chunk]}
                t0 = time.perf_counter()
                response = await client.post("/v1/score", json=body)
                tally.latencies.append(time.perf_counter() - t0)
                tally.requests += 1
                if response.status_code == 200:
                    tally.add(chunk, response.json()["results"])
                else:
                    tally.errors[f"{response.status_code} {response.json().get('message', '')[:80]}"] += 1

        async def ticker() -> None:
            while True:
                await asyncio.sleep(1.0)
                typer.echo(tally.line())

        tick = asyncio.create_task(ticker())
        try:
            await asyncio.gather(*(caller() for _ in range(callers)))
        finally:
            tick.cancel()


def summary(tally: Tally) -> list[str]:
    lines = ["", tally.line(), "", "Actions per label (posts can carry several labels):"]
    header = f"  {'label':12s}" + "".join(f"{a:>8s}" for a in ACTIONS)
    lines.append(header)
    for label in (*LABELS, "none"):
        lines.append(f"  {label:12s}" + "".join(f"{tally.label_actions[(label, a)]:8d}" for a in ACTIONS))
    lines += ["", "Largest duplicate clusters (same image or copywriting under several accounts):"]
    top = sorted(tally.clusters.items(), key=lambda kv: (-len(kv[1]["accounts"]), -kv[1]["posts"]))[:5]
    if not top:
        lines.append("  none found")
    for cluster, entry in top:
        example = entry["example"].replace("\n", " ")[:40]
        lines.append(f"  {cluster}: {len(entry['accounts'])} accounts, {entry['posts']} posts  «{example}…»")
    seller = tally.truth[("seller", "flagged")] + tally.truth[("seller", "allowed")]
    normal = tally.truth[("normal", "flagged")] + tally.truth[("normal", "allowed")]
    lines += ["", "Against the generator's ground truth:"]
    if seller:
        lines.append(f"  seller posts flagged: {tally.truth[('seller', 'flagged')]} of {seller}")
    if normal:
        lines.append(f"  normal posts flagged: {tally.truth[('normal', 'flagged')]} of {normal}")
    if tally.latencies:
        ordered = sorted(tally.latencies)
        p50 = ordered[len(ordered) // 2] * 1000
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
        lines.append(f"\nRequests: {tally.requests}, latency p50 {p50:.0f} ms, p99 {p99:.0f} ms")
    for message, count in tally.errors.most_common(5):
        lines.append(f"  errors: {count} x {message}")
    return lines


def show_filter(url: str, key: str, rows: list[dict[str, Any]]) -> list[str]:
    """Turn on hide-sellers for a demo viewer and filter the first 40 posts of the feed."""
    headers = {"Authorization": f"Bearer {key}"}
    candidates = [r["post_id"] for r in rows[:40]]
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        client.put("/v1/users/demo-viewer/preferences", json={"hide_seller_posts": True}).raise_for_status()
        response = client.post("/v1/feed/filter", json={"viewer_id": "demo-viewer", "post_ids": candidates})
        response.raise_for_status()
        hidden = response.json()["hide"]
    lines = [
        f"\nViewer 'demo-viewer' hides seller posts: {len(hidden)} of the first {len(candidates)} posts hidden."
    ]
    for item in hidden[:3]:
        lines.append(f"  {item['post_id']}: {item['reason']}")
    return lines


@app.command("demo")
def demo(
    url: Annotated[
        str, typer.Option(help="Service URL; started here if nothing answers.")
    ] = "http://127.0.0.1:8080",
    key: Annotated[
        str | None, typer.Option(help="API key (default: $FEEDGUARD_API_KEY, else the local key in home).")
    ] = None,
    posts: Annotated[int, typer.Option(help="Posts in the generated feed.")] = 600,
    images: Annotated[int, typer.Option(help="Images in the generated feed.")] = 150,
    seed: Annotated[int, typer.Option(help="Seed of the generated feed.")] = 7,
    feed: Annotated[
        Path | None, typer.Option(help="Replay this JSONL feed instead of generating one.")
    ] = None,
    callers: Annotated[int, typer.Option(help="Concurrent callers.")] = 4,
    batch: Annotated[int, typer.Option(help="Posts per request.")] = 16,
) -> None:
    """Replay a generated feed through the service and print a live summary."""
    if posts < 1 or images < 0 or callers < 1 or not 1 <= batch <= 256:
        _fail("--posts >= 1, --images >= 0, --callers >= 1 and --batch in 1..256 are required")
    if feed is not None and not feed.is_file():
        _fail(f"--feed must be an existing JSONL file; got {feed}")
    home = Path(os.environ.get("FEEDGUARD_HOME", "var"))
    proc = None
    if not _service_up(url):
        typer.echo(f"No service at {url}: starting one (FEEDGUARD_HOME={home.resolve()}) ...")
        proc = start_service(url, home)
    try:
        key = key or os.environ.get("FEEDGUARD_API_KEY")
        if key is None:
            local = home / "local_api_key"
            if not local.is_file():
                _fail(f"no API key: pass --key, set FEEDGUARD_API_KEY, or run the service with home {home}")
            key = local.read_text(encoding="utf-8").strip()
        if feed is None:
            typer.echo(f"Generating a feed of {posts} posts with {images} images (seed {seed}) ...")
            feed = build_feed(home / "demo", posts, images, seed)
        rows = read_feed(feed)
        typer.echo(
            f"Replaying {len(rows)} posts from {feed} with {callers} callers, {batch} posts per request"
        )
        tally = Tally()
        asyncio.run(replay(url, key, rows, callers=callers, batch=batch, tally=tally))
        for line in summary(tally):
            typer.echo(line)
        for line in show_filter(url, key, rows):
            typer.echo(line)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=60)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
