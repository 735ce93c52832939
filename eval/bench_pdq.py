"""Image hashing speed: decode and hash timed apart, our 512-px path vs full resolution vs pHash.

The workload mirrors ANCHORS.md: 200 JPEGs with a 1024-px long side (here: the real photos and
rendered screenshots, re-encoded at quality 90). Each row times a whole loop over the 200
images in one process; the "2 processes" column splits the list over a pool of two.

    python -m eval.bench_pdq [--images 200] [--repeats 3] [--out eval/reports/bench_pdq.json]
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import imagehash
import numpy as np
import pdqhash
from PIL import Image

from model.image_io import DecodeLimits, decode_image
from model.pdq import hash_bytes, hash_image

DEFAULT_OUT = Path("eval/reports/bench_pdq.json")
_FULL = DecodeLimits(max_side=None)


def make_jpegs(count: int, side: int = 1024) -> list[bytes]:
    """``count`` JPEGs (quality 90) with a ``side``-px long side: real photos and screenshots, alternating."""
    from data.images.photos import load_real_photos
    from data.images.screenshots import SCREENSHOT_KINDS, render_screenshot

    photos = [image for _name, image in load_real_photos()]
    out: list[bytes] = []
    for i in range(count):
        if i % 2:
            image = render_screenshot(SCREENSHOT_KINDS[i % 3], 7000 + i, style_seed=i % 11, size=(576, 1024))
        else:
            image = photos[(i // 2) % len(photos)].convert("RGB")
            scale = side / max(image.size)
            image = image.resize(
                (round(image.width * scale), round(image.height * scale)), Image.Resampling.LANCZOS
            )
            if (i // 2) >= len(photos):  # vary repeats a little so no two files are identical
                image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=90)
        out.append(buffer.getvalue())
    return out


# Module-level workers so a process pool can pickle them by name (the pool only passes bytes).
def _ours(data: bytes) -> str:
    return hash_bytes(data).hex


def _ours_dihedral(data: bytes) -> str:
    return hash_bytes(data, dihedral=True).hex


def _full_resolution(data: bytes) -> str:
    return hash_image(decode_image(data, _FULL)).hex


def _phash(data: bytes) -> str:
    return str(imagehash.phash(Image.open(io.BytesIO(data))))


def _timed_loop(function: Callable[[Any], Any], inputs: Sequence[Any], repeats: int) -> float:
    """Median seconds for one pass over ``inputs``."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        for value in inputs:
            function(value)
        times.append(time.perf_counter() - started)
    return float(np.median(times))


def _timed_pool(function: Callable[[bytes], Any], inputs: Sequence[bytes], repeats: int) -> float:
    context = multiprocessing.get_context("fork")
    with context.Pool(2) as pool:
        pool.map(function, inputs[:4])  # warm up both workers
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            pool.map(function, inputs, chunksize=max(1, len(inputs) // 8))
            times.append(time.perf_counter() - started)
    return float(np.median(times))


def run(count: int, repeats: int, out: Path) -> dict[str, Any]:
    jpegs = make_jpegs(count)
    decoded_full = [np.ascontiguousarray(np.asarray(decode_image(d, _FULL))) for d in jpegs]
    decoded_512 = [np.ascontiguousarray(np.asarray(decode_image(d))) for d in jpegs]
    rows: list[dict[str, Any]] = []

    def add(name: str, seconds: float, pool_seconds: float | None = None, note: str = "") -> None:
        rows.append(
            {
                "what": name,
                "images_per_s_1proc": round(count / seconds, 1),
                "ms_per_image": round(1000 * seconds / count, 2),
                "images_per_s_2proc": None if pool_seconds is None else round(count / pool_seconds, 1),
                "note": note,
            }
        )
        print(
            f"{name:55s} {count / seconds:7.1f} img/s"
            + ("" if pool_seconds is None else f"  {count / pool_seconds:7.1f} img/s x2")
        )

    add(
        "decode only, full resolution (Pillow)", _timed_loop(lambda d: decode_image(d, _FULL), jpegs, repeats)
    )
    add("decode only, draft + shrink to 512 (ours)", _timed_loop(decode_image, jpegs, repeats))
    add("PDQ hash only, full-resolution arrays", _timed_loop(pdqhash.compute, decoded_full, repeats))
    add("PDQ hash only, 512-px arrays", _timed_loop(pdqhash.compute, decoded_512, repeats))
    add(
        "PDQ 8 dihedral hashes only, 512-px arrays",
        _timed_loop(pdqhash.compute_dihedral, decoded_512, repeats),
    )
    add(
        "decode + PDQ, full resolution",
        _timed_loop(_full_resolution, jpegs, repeats),
        _timed_pool(_full_resolution, jpegs, repeats),
    )
    add(
        "decode + PDQ, ours (model.pdq.hash_bytes)",
        _timed_loop(_ours, jpegs, repeats),
        _timed_pool(_ours, jpegs, repeats),
        "guarded decode, draft, 512 px",
    )
    add(
        "decode + PDQ + 7 dihedral variants, ours",
        _timed_loop(_ours_dihedral, jpegs, repeats),
        _timed_pool(_ours_dihedral, jpegs, repeats),
        "what a scoring query computes",
    )
    add("decode + imagehash.phash", _timed_loop(_phash, jpegs, repeats), _timed_pool(_phash, jpegs, repeats))
    result = {"images": count, "long_side": 1024, "repeats": repeats, "rows": rows}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1), encoding="utf-8")
    print(f"wrote {out}")
    return result


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    if args.images < 8 or args.repeats < 1:
        parser.error("--images must be >= 8 and --repeats >= 1")
    run(args.images, args.repeats, args.out)


if __name__ == "__main__":
    main()
