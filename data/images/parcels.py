"""Procedural photos of parcel piles ("今天又发了200单"): no such photos ship in any installed package.

A pile is drawn as stacked cardboard boxes with tape and shipping labels on a floor, lit from one side. Crude next to
a real photo, but it has what matters for duplicate detection: each seed is a distinct scene, and reposts of one pile
are near-duplicates of each other.
"""

from __future__ import annotations

import random

from PIL import Image, ImageDraw

from data.images.fonts import get_font

_BOX = ((196, 150, 100), (182, 136, 88), (205, 165, 115), (170, 125, 80), (215, 180, 130), (230, 230, 225))
_FLOORS = ((120, 110, 100), (150, 140, 125), (95, 95, 100), (170, 150, 120), (200, 200, 195))
_WALLS = ((225, 222, 215), (200, 205, 210), (235, 230, 220), (180, 175, 170))


def _shade(colour: tuple[int, int, int], factor: float) -> tuple[int, int, int]:
    return tuple(max(0, min(255, round(v * factor))) for v in colour)  # type: ignore[return-value]


def render_parcel_pile(seed: int, size: tuple[int, int] = (720, 960)) -> Image.Image:
    """A photo-like pile of parcels for ``seed`` (deterministic), RGB at ``size``."""
    if not isinstance(seed, int):
        raise ValueError(f"The 'seed' parameter of render_parcel_pile must be an int; got {seed!r} instead.")
    if not (
        isinstance(size, tuple)
        and len(size) == 2
        and all(isinstance(v, int) and 64 <= v <= 4096 for v in size)
    ):
        raise ValueError(
            f"The 'size' parameter of render_parcel_pile must be (w, h) ints in [64, 4096]; got {size!r} instead."
        )
    rng = random.Random(f"parcels:{seed}")
    # Drawn at half size and scaled up: the interpolation softens the vector edges as a phone camera would, at a
    # fraction of the cost of a blur filter.
    out_size = size
    w, h = max(32, size[0] // 2), max(32, size[1] // 2)
    size = (w, h)
    horizon = round(h * rng.uniform(0.25, 0.45))
    img = Image.new("RGB", size, rng.choice(_WALLS))
    draw = ImageDraw.Draw(img)
    floor = rng.choice(_FLOORS)
    draw.rectangle((0, horizon, w, h), fill=floor)
    for i in range(0, w, max(8, w // rng.randint(6, 14))):  # floor tiles / planks
        draw.line([(i, horizon), (i + (i - w / 2) * 0.8, h)], fill=_shade(floor, 0.9), width=1)
    light = rng.uniform(0.8, 1.2)
    rows = rng.randint(3, 6)
    base_y = h - rng.randint(h // 20, h // 6)
    row_h = (base_y - horizon * 0.7) / rows
    boxes = []
    for r in range(rows):
        y1 = base_y - r * row_h * rng.uniform(0.9, 1.0)
        x = rng.uniform(-w * 0.1, w * 0.05) + r * w * rng.uniform(0.02, 0.08)
        limit = w * (1.05 - r * rng.uniform(0.05, 0.12))
        while x < limit:
            bw = rng.uniform(0.12, 0.3) * w
            bh = row_h * rng.uniform(0.75, 1.0)
            boxes.append((x, y1 - bh, x + bw, y1))
            x += bw * rng.uniform(0.92, 1.02)
    for x0, y0, x1, y1 in reversed(boxes):  # back rows first so the front overlaps them
        colour = _shade(rng.choice(_BOX), light * rng.uniform(0.85, 1.1))
        depth = (y1 - y0) * 0.18
        draw.polygon(
            [(x0, y0), (x0 + depth, y0 - depth), (x1 + depth, y0 - depth), (x1, y0)],
            fill=_shade(colour, 1.12),
        )
        draw.polygon(
            [(x1, y0), (x1 + depth, y0 - depth), (x1 + depth, y1 - depth), (x1, y1)],
            fill=_shade(colour, 0.72),
        )
        draw.rectangle((x0, y0, x1, y1), fill=colour, outline=_shade(colour, 0.6))
        cx = (x0 + x1) / 2
        draw.rectangle(
            (cx - (x1 - x0) * 0.04, y0, cx + (x1 - x0) * 0.04, y1), fill=_shade(colour, 1.18)
        )  # tape
        if rng.random() < 0.7:  # shipping label with a barcode
            lx0 = x0 + (x1 - x0) * rng.uniform(0.08, 0.5)
            ly0 = y0 + (y1 - y0) * rng.uniform(0.15, 0.45)
            lw, lh = (x1 - x0) * 0.38, (y1 - y0) * 0.4
            draw.rectangle((lx0, ly0, lx0 + lw, ly0 + lh), fill=(245, 245, 240))
            bx = lx0 + lw * 0.1
            while bx < lx0 + lw * 0.9:
                bar = rng.choice((0.5, 0.5, 1, 1.5))
                draw.rectangle((bx, ly0 + lh * 0.55, bx + bar, ly0 + lh * 0.9), fill=(30, 30, 30))
                bx += bar + rng.choice((0.5, 1, 1.5))
            for k in range(2):
                ty = ly0 + lh * (0.12 + 0.2 * k)
                draw.line(
                    [(lx0 + lw * 0.1, ty), (lx0 + lw * rng.uniform(0.5, 0.9), ty)], fill=(90, 90, 90), width=1
                )
    if rng.random() < 0.5:
        text = rng.choice(("今日发货", "又是爆单的一天", "打包到手软", "感恩客户信任", "今天又发了{}单"))
        text = text.format(rng.choice((100, 200, 300, 500, 888)))
        font = get_font(max(12, w // 14), "bold")
        draw.text(
            (w / 2, h * 0.08),
            text,
            font=font,
            fill=(255, 255, 255),
            anchor="ma",
            stroke_width=max(1, w // 240),
            stroke_fill=(200, 40, 40),
        )
    return img.resize(out_size, Image.BILINEAR)
