"""Image edits that reposters make, each a pure function of (image, rng).

These are the transformations a near-duplicate detector must see through: platforms re-encode, people resize, crop,
screenshot a screenshot, stamp stickers or watermarks, adjust brightness, rotate and mirror. Every edit returns the
parameters it used so an evaluation can report recall per edit and per strength.
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable

from PIL import Image, ImageDraw, ImageEnhance

from data.images.drawing import Canvas, draw_emoji, draw_heart, draw_star, draw_status_bar
from data.images.fonts import get_font
from data.images.style import make_style

EDIT_KINDS = ("jpeg", "resize", "crop", "border", "sticker", "brightness_contrast", "rotate", "flip")

_RESAMPLE = {
    "nearest": Image.NEAREST,
    "bilinear": Image.BILINEAR,
    "bicubic": Image.BICUBIC,
    "lanczos": Image.LANCZOS,
}
_WATERMARKS = ("正品保证", "微信同款", "实拍图", "@小美严选", "VX:mm8866", "盗图必究", "官方授权", "爆款热卖")
_STICKER_COLOURS = ("#FF4D4F", "#FFC53D", "#FFFFFF", "#52C41A", "#1677FF", "#EB2F96")


def _jpeg(img: Image.Image, rng: random.Random) -> tuple[Image.Image, dict]:
    quality = rng.randint(30, 95)
    buffer = io.BytesIO()
    img.save(buffer, format="JPEG", quality=quality)
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return decoded.convert("RGB"), {"quality": quality}


def _resize(img: Image.Image, rng: random.Random) -> tuple[Image.Image, dict]:
    scale = rng.uniform(0.3, 2.0)
    method = rng.choice(tuple(_RESAMPLE))
    size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
    return img.resize(size, _RESAMPLE[method]), {
        "scale": round(scale, 4),
        "size": list(size),
        "resample": method,
    }


def _crop(img: Image.Image, rng: random.Random) -> tuple[Image.Image, dict]:
    fracs = [rng.uniform(0.0, 0.15) for _ in range(4)]  # left, top, right, bottom
    left, top = int(img.width * fracs[0]), int(img.height * fracs[1])
    right = max(left + 1, img.width - int(img.width * fracs[2]))
    bottom = max(top + 1, img.height - int(img.height * fracs[3]))
    box = (left, top, min(right, img.width), min(bottom, img.height))
    return img.crop(box), {"fractions": [round(f, 4) for f in fracs], "box": list(box)}


def _border(img: Image.Image, rng: random.Random) -> tuple[Image.Image, dict]:
    """A screenshot of a screenshot: the image inside a phone UI (status bar, bars), or plain padding."""
    w, h = img.size
    mode = rng.choice(("phone", "phone", "plain"))
    if mode == "plain":
        pad = [max(1, round(min(w, h) * rng.uniform(0.02, 0.12))) for _ in range(4)]
        colour = rng.choice(("#FFFFFF", "#000000", "#EDEDED", "#1A1A1A"))
        out = Image.new("RGB", (w + pad[0] + pad[2], h + pad[1] + pad[3]), colour)
        out.paste(img, (pad[0], pad[1]))
        return out, {"mode": mode, "pad": pad, "colour": colour}
    style = make_style(rng.randrange(10**6))
    side = max(1, round(w * rng.uniform(0.0, 0.06)))
    top = max(2, round(h * rng.uniform(0.05, 0.12)))
    bottom = max(1, round(h * rng.uniform(0.03, 0.12)))
    out = Image.new("RGB", (w + 2 * side, h + top + bottom), "#000000" if style.dark else style.bg)
    canvas = Canvas(out, ImageDraw.Draw(out), out.width / 750.0, style)
    if out.width >= 120:
        draw_status_bar(
            canvas,
            f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}",
            rng.randint(5, 100),
            rng.randint(1, 4),
        )
    out.paste(img, (side, top))
    # a home indicator / nav bar strip at the bottom
    bar_w = out.width * 0.35
    y = h + top + bottom * 0.55
    canvas.draw.rounded_rectangle(
        (out.width / 2 - bar_w / 2, y - 2, out.width / 2 + bar_w / 2, y + 2), radius=2, fill=style.text
    )
    return out, {"mode": mode, "side": side, "top": top, "bottom": bottom}


def _sticker(img: Image.Image, rng: random.Random) -> tuple[Image.Image, dict]:
    """Emoji, hearts, stars and text watermarks covering up to 10% of the image in total."""
    w, h = img.size
    budget = rng.uniform(0.02, 0.10) * w * h
    out = img.convert("RGBA")
    overlay = Image.new("RGBA", out.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    placed = []
    for _ in range(rng.randint(1, 3)):
        area = budget / 2 if len(placed) < 2 else budget
        kind = rng.choice(("emoji", "heart", "star", "watermark", "label"))
        if kind in ("watermark", "label"):
            text = rng.choice(_WATERMARKS)
            bw = max(1, min(w, round((area * 4) ** 0.5)))
            bh = max(1, min(h, round(area / bw)))
        else:
            bw = bh = max(1, min(w, h, round(area**0.5)))
        x, y = rng.randint(0, max(0, w - bw)), rng.randint(0, max(0, h - bh))
        if kind == "emoji":
            draw_emoji(draw, x + bw / 2, y + bh / 2, bw, rng.randrange(6))
        elif kind == "heart":
            draw_heart(draw, x + bw / 2, y + bh / 2, bw, rng.choice((*_STICKER_COLOURS[:2], "#EB2F96")))
        elif kind == "star":
            draw_star(draw, x + bw / 2, y + bh / 2, bw, rng.choice(_STICKER_COLOURS))
        else:
            font_size = max(1, min(bh, round(bw / max(1, len(text)) * 0.9)))
            if kind == "label":
                draw.rounded_rectangle(
                    (x, y, x + bw - 1, y + bh - 1),
                    radius=max(0, bh // 4),
                    fill=rng.choice((*_STICKER_COLOURS[:2], "#1677FF")),
                )
                draw.text(
                    (x + bw / 2, y + bh / 2),
                    text,
                    font=get_font(font_size, "bold"),
                    fill="#FFFFFF",
                    anchor="mm",
                )
            else:
                alpha = rng.randint(110, 200)
                draw.text(
                    (x + bw / 2, y + bh / 2),
                    text,
                    font=get_font(font_size, "bold"),
                    fill=(255, 255, 255, alpha),
                    anchor="mm",
                    stroke_width=max(0, font_size // 14),
                    stroke_fill=(0, 0, 0, alpha // 2),
                )
        placed.append({"type": kind, "box": [x, y, x + bw, y + bh]})
        budget -= bw * bh
        if budget < w * h * 0.005:
            break
    out.alpha_composite(overlay)
    coverage = sum((b["box"][2] - b["box"][0]) * (b["box"][3] - b["box"][1]) for b in placed) / (w * h)
    return out.convert("RGB"), {"stickers": placed, "coverage": round(min(coverage, 1.0), 4)}


def _brightness_contrast(img: Image.Image, rng: random.Random) -> tuple[Image.Image, dict]:
    brightness, contrast = rng.uniform(0.7, 1.3), rng.uniform(0.7, 1.3)
    out = ImageEnhance.Contrast(ImageEnhance.Brightness(img).enhance(brightness)).enhance(contrast)
    return out, {"brightness": round(brightness, 4), "contrast": round(contrast, 4)}


def _rotate(img: Image.Image, rng: random.Random) -> tuple[Image.Image, dict]:
    angle = rng.choice((90, 180, 270))
    op = {90: Image.Transpose.ROTATE_90, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_270}[
        angle
    ]
    return img.transpose(op), {"angle": angle}


def _flip(img: Image.Image, rng: random.Random) -> tuple[Image.Image, dict]:
    direction = rng.choice(("horizontal", "vertical"))
    op = Image.Transpose.FLIP_LEFT_RIGHT if direction == "horizontal" else Image.Transpose.FLIP_TOP_BOTTOM
    return img.transpose(op), {"direction": direction}


_EDITS: dict[str, Callable[[Image.Image, random.Random], tuple[Image.Image, dict]]] = {
    "jpeg": _jpeg,
    "resize": _resize,
    "crop": _crop,
    "border": _border,
    "sticker": _sticker,
    "brightness_contrast": _brightness_contrast,
    "rotate": _rotate,
    "flip": _flip,
}


def apply_edit(img: Image.Image, kind: str, rng: random.Random) -> tuple[Image.Image, dict]:
    """Apply one edit of ``kind`` to ``img``; returns the RGB result and the parameters used.

    Deterministic for a given ``rng`` state; the input image is never modified. Any image mode is accepted and
    converted to RGB first (a repost is always an RGB picture).
    """
    if not isinstance(img, Image.Image):
        raise ValueError(
            f"The 'img' parameter of apply_edit must be a PIL.Image.Image; got {type(img).__name__} instead."
        )
    if kind not in _EDITS:
        raise ValueError(
            f"The 'kind' parameter of apply_edit must be one of {EDIT_KINDS}; got {kind!r} instead."
        )
    if not isinstance(rng, random.Random):
        raise ValueError(
            f"The 'rng' parameter of apply_edit must be a random.Random; got {type(rng).__name__} instead."
        )
    if img.width < 1 or img.height < 1:
        raise ValueError(
            f"The 'img' parameter of apply_edit must have a non-empty size; got {img.size} instead."
        )
    rgb = img.convert("RGB") if img.mode != "RGB" else img.copy()
    out, params = _EDITS[kind](rgb, rng)
    return out, {"kind": kind, **params}
