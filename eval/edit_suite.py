"""The image edit suite: does a duplicate checker see through reposting edits, and NOT match look-alikes?

Built from the generated phone screenshots (chat, payment, order lists) and the real photos
that ship with scikit-image and opencv-doc:

* originals — one screenshot per (kind, app template ``style_seed``, ``content_seed``), plus
  every real photo — are indexed;
* positive queries — each original after each reposting edit: ``data.images.edits`` (JPEG
  30-95, resize 0.3-2x, crop up to 15 % per side, phone-frame / padding border, stickers up
  to 10 %, brightness/contrast, rotations, flips) and, for screenshots, the fabricator's
  edits of the amount, the name or the time (re-rendered from the template);
* negative queries — *distractors*: a different screenshot of the same app template (another
  conversation, other amounts), put through the same edits. They must not match anything.

Each method indexes the originals and answers every query with the originals it matches. A
match to the query's own source is a true positive; any other match (a look-alike of the same
template, an unrelated photo) is a false positive. Precision and recall are reported per edit
type and overall. Retrieval against the whole index is stricter than pairwise checks: every
same-template original is a chance to be fooled.

    python -m eval.edit_suite [--styles 8] [--contents 4] [--out eval/reports/edit_suite.json]
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import imagehash
import numpy as np
from PIL import Image

from data.images.edits import EDIT_KINDS, apply_edit
from data.images.photos import load_real_photos
from data.images.screenshots import SCREENSHOT_KINDS, render_screenshot, sample_field_edits
from model.hamming_index import HammingIndex
from model.pdq import DEFAULT_MATCH_RADIUS, hash_image
from model.signals import IndexedItem

FIELD_EDITS = ("amount", "name", "time")
SUITE_EDITS = (*EDIT_KINDS, *FIELD_EDITS)
SCREEN_SIZE = (540, 960)
#: pHash threshold: 8 of 64 bits is the same fraction of the hash (12.5 %) as PDQ's 31 of 256.
PHASH_THRESHOLD = 8
DEFAULT_OUT = Path("eval/reports/edit_suite.json")
_T0 = datetime(2026, 11, 17, tzinfo=UTC)


@dataclass
class Original:
    id: str
    kind: str  # "chat" | "payment" | "orders" | "photo"
    template: str  # app template for screenshots, the photo name for photos
    image: Image.Image


@dataclass
class Query:
    source: str | None  # the original it was made from; None for a distractor
    edit: str
    kind: str
    image: Image.Image
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class Suite:
    originals: list[Original]
    queries: list[Query]
    seed: int


def _shrink(image: Image.Image, side: int = 720) -> Image.Image:
    image = image.convert("RGB")
    if max(image.size) > side:
        image = image.copy()
        image.thumbnail((side, side))
    return image


def build_suite(*, styles: int = 8, contents: int = 4, seed: int = 0, distractor_edits: bool = True) -> Suite:
    """Render the originals, the edited copies and the distractors (deterministic for ``seed``)."""
    rng = random.Random(seed)
    originals: list[Original] = []
    queries: list[Query] = []
    distractors: list[tuple[str, str, Image.Image]] = []
    for kind in SCREENSHOT_KINDS:
        for style in range(styles):
            style_seed = 1000 * (SCREENSHOT_KINDS.index(kind) + 1) + style + seed * 7919
            for content in range(contents):
                content_seed = style_seed * 31 + content
                image = render_screenshot(kind, content_seed, style_seed=style_seed, size=SCREEN_SIZE)
                original = Original(f"{kind}-{style}-{content}", kind, f"{kind}-{style}", image)
                originals.append(original)
                for edit in FIELD_EDITS:
                    edits = sample_field_edits(rng, (edit,))
                    edited = render_screenshot(
                        kind, content_seed, style_seed=style_seed, size=SCREEN_SIZE, edits=edits
                    )
                    queries.append(Query(original.id, edit, kind, edited, dict(edits)))
                # a different screenshot of the same app template: must not match
                distractor = render_screenshot(
                    kind, content_seed + 10_000, style_seed=style_seed, size=SCREEN_SIZE
                )
                distractors.append((kind, original.template, distractor))
    for name, photo in load_real_photos():
        originals.append(Original(f"photo-{name}", "photo", name, _shrink(photo)))
    for original in originals:
        for edit in EDIT_KINDS:
            edited, params = apply_edit(original.image, edit, rng)
            queries.append(Query(original.id, edit, original.kind, edited, params))
    for kind, _template, distractor in distractors:
        queries.append(Query(None, "none", kind, distractor))
        if distractor_edits:
            for edit in EDIT_KINDS:
                edited, params = apply_edit(distractor, edit, rng)
                queries.append(Query(None, edit, kind, edited, params))
    return Suite(originals, queries, seed)


class Method(Protocol):
    """A duplicate checker under test: index originals, then name the originals each query matches."""

    name: str

    def index(self, originals: Sequence[Original]) -> None: ...

    def query(self, image: Image.Image) -> set[str]: ...


class PdqMethod:
    """PDQ alone: the 8 dihedral query hashes against the originals' hashes at radius 31, quality-gated."""

    name = "pdq"

    def __init__(self, radius: int = DEFAULT_MATCH_RADIUS, min_quality: int = 50) -> None:
        self.radius = radius
        self.min_quality = min_quality
        self._index = HammingIndex(radius=radius)

    @staticmethod
    def _hash(image: Image.Image, dihedral: bool) -> Any:
        return hash_image(_shrink(image, 512), dihedral=dihedral)

    def index(self, originals: Sequence[Original]) -> None:
        items = []
        for original in originals:
            value = self._hash(original.image, False)
            if value.passes_quality(self.min_quality):
                items.append(IndexedItem(value.hex, original.id, original.id, _T0, image_id=original.id))
        self._index.add(items)

    def query(self, image: Image.Image) -> set[str]:
        value = self._hash(image, True)
        if not value.passes_quality(self.min_quality):
            return set()
        return {m.item.post_id for m in self._index.query(value)}


class PHashMethod:
    """``imagehash.phash`` (64-bit DCT hash), the common choice, at the same relative threshold as PDQ."""

    name = "phash"

    def __init__(self, threshold: int = PHASH_THRESHOLD) -> None:
        self.threshold = threshold
        self._hashes: list[tuple[str, imagehash.ImageHash]] = []

    def index(self, originals: Sequence[Original]) -> None:
        self._hashes = [(o.id, imagehash.phash(o.image)) for o in originals]

    def query(self, image: Image.Image) -> set[str]:
        value = imagehash.phash(image)
        return {oid for oid, h in self._hashes if value - h <= self.threshold}


def evaluate(
    suite: Suite, method: Method, *, progress: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """Run one method over the suite; counts and rates per edit type, per kind and overall."""
    started = time.perf_counter()
    method.index(suite.originals)
    index_seconds = time.perf_counter() - started
    per_edit: dict[str, dict[str, int]] = {}
    per_kind: dict[str, dict[str, int]] = {}
    query_seconds: list[float] = []
    failures: list[dict[str, Any]] = []
    for number, query in enumerate(suite.queries):
        started = time.perf_counter()
        found = method.query(query.image)
        query_seconds.append(time.perf_counter() - started)
        tp = int(query.source is not None and query.source in found)
        fn = int(query.source is not None and not tp)
        fp = len(found - {query.source})
        for table, key in ((per_edit, query.edit), (per_kind, query.kind)):
            row = table.setdefault(key, {"tp": 0, "fn": 0, "fp": 0, "queries": 0})
            row["tp"] += tp
            row["fn"] += fn
            row["fp"] += fp
            row["queries"] += 1
        if (fn or fp) and len(failures) < 400:
            failures.append(
                {"edit": query.edit, "kind": query.kind, "source": query.source, "found": sorted(found)}
            )
        if progress and number % 250 == 0:
            progress(f"{method.name}: {number}/{len(suite.queries)} queries")
    overall = {"tp": 0, "fn": 0, "fp": 0, "queries": 0}
    for row in per_edit.values():
        for key in overall:
            overall[key] += row[key]
    for table in (per_edit, per_kind):
        for row in table.values():
            _rates(row)
    _rates(overall)
    times = np.array(query_seconds) * 1000
    return {
        "method": method.name,
        "per_edit": per_edit,
        "per_kind": per_kind,
        "overall": overall,
        "index_seconds": round(index_seconds, 3),
        "query_ms_p50": round(float(np.percentile(times, 50)), 2),
        "query_ms_p99": round(float(np.percentile(times, 99)), 2),
        "failures": failures,
    }


def _rates(row: dict[str, Any]) -> None:
    positives = row["tp"] + row["fn"]
    claimed = row["tp"] + row["fp"]
    row["recall"] = round(row["tp"] / positives, 4) if positives else None
    row["precision"] = round(row["tp"] / claimed, 4) if claimed else None


def default_methods() -> list[Method]:
    """PDQ alone, PDQ with the crop-tolerant verified matcher, and pHash."""
    from model.image_verify import VerifiedImageMatcher

    class VerifiedMethod:
        name = "pdq+local"

        def __init__(self) -> None:
            self.matcher = VerifiedImageMatcher()

        def index(self, originals: Sequence[Original]) -> None:
            for original in originals:
                self.matcher.add(
                    IndexedItem("0" * 64, original.id, original.id, _T0, image_id=original.id), original.image
                )

        def query(self, image: Image.Image) -> set[str]:
            return {m.item.post_id for m in self.matcher.query(image)}

    return [PdqMethod(), VerifiedMethod(), PHashMethod()]


def run(
    styles: int, contents: int, seed: int, out: Path, methods: Sequence[Method] | None = None
) -> dict[str, Any]:
    started = time.perf_counter()
    suite = build_suite(styles=styles, contents=contents, seed=seed)
    build_seconds = time.perf_counter() - started
    print(
        f"suite: {len(suite.originals)} originals, {len(suite.queries)} queries ({build_seconds:.0f} s to render)"
    )
    results = {
        "suite": {
            "originals": len(suite.originals),
            "queries": len(suite.queries),
            "positive_queries": sum(q.source is not None for q in suite.queries),
            "distractor_queries": sum(q.source is None for q in suite.queries),
            "styles": styles,
            "contents": contents,
            "seed": seed,
            "screen_size": list(SCREEN_SIZE),
            "build_seconds": round(build_seconds, 1),
        },
        "methods": [],
    }
    for method in methods or default_methods():
        result = evaluate(suite, method, progress=print)
        overall = result["overall"]
        print(
            f"{method.name}: recall {overall['recall']} precision {overall['precision']} (p50 {result['query_ms_p50']} ms)"
        )
        results["methods"].append(result)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1, ensure_ascii=False), encoding="utf-8")
    print(f"wrote {out}")
    return results


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--styles", type=int, default=8, help="app templates per screenshot kind")
    parser.add_argument("--contents", type=int, default=4, help="screenshots per template")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--methods", default="pdq,pdq+local,phash", help="comma-separated subset")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    if args.styles < 1 or args.contents < 1:
        parser.error("--styles and --contents must be at least 1")
    wanted = [m.strip() for m in args.methods.split(",") if m.strip()]
    available = {m.name: m for m in default_methods()}
    unknown = [m for m in wanted if m not in available]
    if unknown:
        parser.error(f"--methods must name some of {', '.join(available)}; got {', '.join(unknown)}")
    run(args.styles, args.contents, args.seed, args.out, [available[m] for m in wanted])


if __name__ == "__main__":
    main()
