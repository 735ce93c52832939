"""Photos as posted: seller product shots with price banners, and everyday multi-photo collages.

The few dozen real photos must stand in for thousands of distinct posted pictures. A seller's product shot adds a
price banner (as ads do); an ordinary user's post is often a collage of several shots, which also keeps unrelated
users from "sharing" an image by accident.
"""

from __future__ import annotations

import random

from PIL import Image, ImageDraw

from data.images.fonts import get_font
from data.images.photos import photo_view

_BANNERS = ("限时特价", "今日秒杀", "买二送一", "厂家直供", "爆款返场", "代理价", "正品保证", "包邮到家")
_BANNER_COLOURS = ("#E53935", "#FF6D00", "#D81B60", "#2E7D32", "#6A1B9A")


def product_shot(
    name: str, view_seed: int, ad_seed: int | None = None, *, max_side: int = 720
) -> Image.Image:
    """A product photo; with ``ad_seed`` a price banner and tag are stamped on it like a seller's ad."""
    image = photo_view(name, view_seed, max_side=max_side)
    if ad_seed is None:
        return image
    rng = random.Random(f"ad:{ad_seed}")
    w, h = image.size
    draw = ImageDraw.Draw(image)
    band = max(12, round(h * rng.uniform(0.1, 0.16)))
    colour = rng.choice(_BANNER_COLOURS)
    y0 = 0 if rng.random() < 0.4 else h - band
    draw.rectangle((0, y0, w, y0 + band), fill=colour)
    price = rng.choice((19.9, 29.9, 39, 59, 68, 99, 128, 168, 199, 298, 399, 688))
    text = f"{rng.choice(_BANNERS)}  ¥{price:g}"
    draw.text(
        (w / 2, y0 + band / 2),
        text,
        font=get_font(max(8, round(band * 0.55)), "bold"),
        fill="#FFFFFF",
        anchor="mm",
    )
    if rng.random() < 0.6:  # round sticker tag
        r = max(8, round(min(w, h) * rng.uniform(0.08, 0.13)))
        cx = rng.choice((r + 8, w - r - 8))
        cy = (band + r + 8) if y0 == 0 else r + 8
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill="#FFD600")
        draw.text(
            (cx, cy),
            rng.choice(("热卖", "新品", "包邮", "特价")),
            font=get_font(max(6, round(r * 0.6)), "bold"),
            fill="#C62828",
            anchor="mm",
        )
    return image


def collage(views: list[Image.Image], layout_seed: int, *, side: int = 720) -> Image.Image:
    """Tile 2-4 photos into one picture (grid or one-big-plus-strip), as phone collage apps do."""
    if not 1 <= len(views) <= 4:
        raise ValueError(f"The 'views' parameter of collage must hold 1-4 images; got {len(views)} instead.")
    rng = random.Random(f"collage:{layout_seed}")
    gap = rng.choice((0, 4, 8))
    canvas = Image.new("RGB", (side, side), rng.choice(("#FFFFFF", "#000000", "#F4F1EA")))
    n = len(views)
    if n == 1:
        cells = [(0, 0, side, side)]
    elif n == 2:
        cells = (
            [(0, 0, side // 2, side), (side // 2, 0, side, side)]
            if rng.random() < 0.5
            else [(0, 0, side, side // 2), (0, side // 2, side, side)]
        )
    elif n == 3:
        cells = [
            (0, 0, side, side * 3 // 5),
            (0, side * 3 // 5, side // 2, side),
            (side // 2, side * 3 // 5, side, side),
        ]
    else:
        half = side // 2
        cells = [(0, 0, half, half), (half, 0, side, half), (0, half, half, side), (half, half, side, side)]
    for view, (x0, y0, x1, y1) in zip(views, cells, strict=True):
        cw, ch = x1 - x0 - gap, y1 - y0 - gap
        scale = max(cw / view.width, ch / view.height)
        resized = view.resize(
            (max(cw, round(view.width * scale)), max(ch, round(view.height * scale))), Image.BILINEAR
        )
        left, top = (resized.width - cw) // 2, (resized.height - ch) // 2
        canvas.paste(resized.crop((left, top, left + cw, top + ch)), (x0 + gap // 2, y0 + gap // 2))
    return canvas
