"""Drawing primitives shared by the screenshot renderers: text runs with inline emoji, icons, bars, avatars.

Everything is drawn with Pillow shapes (no icon files ship with the fonts), in design pixels of a 750-wide phone
scaled by ``Canvas.s`` so one layout serves every output size.
"""

from __future__ import annotations

import functools
import math
import random
import re
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

from data.images.fonts import get_font
from data.images.photos import get_photo, photos_by_role, real_photo_at
from data.images.style import Style

_EMOJI_RE = re.compile(r"\[e(\d)\]")
Unit = str | int  # a character, or an emoji variant number


@dataclass
class Canvas:
    image: Image.Image
    draw: ImageDraw.ImageDraw
    s: float  # output pixels per design pixel (design width is 750)
    style: Style

    @property
    def width(self) -> int:
        return self.image.width

    @property
    def height(self) -> int:
        return self.image.height

    def p(self, value: float) -> int:
        """Design pixels -> output pixels."""
        return round(value * self.s)

    def font(self, design_size: float, weight: str = "regular") -> ImageFont.FreeTypeFont:
        return get_font(max(6, round(design_size * self.s * self.style.font_scale)), weight)


def new_canvas(size: tuple[int, int], style: Style) -> Canvas:
    image = Image.new("RGB", size, style.bg)
    return Canvas(image, ImageDraw.Draw(image), size[0] / 750.0, style)


def units(text: str) -> list[Unit]:
    """Split text into characters and emoji tokens (``[e3]`` -> 3)."""
    out: list[Unit] = []
    pos = 0
    for match in _EMOJI_RE.finditer(text):
        out.extend(text[pos : match.start()])
        out.append(int(match.group(1)))
        pos = match.end()
    out.extend(text[pos:])
    return out


_WIDTHS: dict[tuple[int, str], float] = {}


def char_width(font: ImageFont.FreeTypeFont, char: str) -> float:
    """Advance width of one character, memoised: FreeType measuring dominates render time otherwise.

    Keyed by ``id(font)``, which is stable because fonts come from the ``get_font`` cache and are never freed.
    """
    key = (id(font), char)
    width = _WIDTHS.get(key)
    if width is None:
        width = _WIDTHS[key] = font.getlength(char)
    return width


def unit_width(unit: Unit, font: ImageFont.FreeTypeFont) -> float:
    return font.size * 1.15 if isinstance(unit, int) else char_width(font, unit)


def text_width(text: str, font: ImageFont.FreeTypeFont) -> float:
    return sum(unit_width(u, font) for u in units(text))


def wrap(text: str, font: ImageFont.FreeTypeFont, max_width: float) -> list[list[Unit]]:
    """Greedy character wrap (Chinese has no spaces to break on)."""
    lines: list[list[Unit]] = [[]]
    width = 0.0
    for unit in units(text):
        w = unit_width(unit, font)
        if lines[-1] and width + w > max_width:
            lines.append([])
            width = 0.0
        lines[-1].append(unit)
        width += w
    return lines


def draw_line(
    c: Canvas, x: float, y: float, line: list[Unit], font: ImageFont.FreeTypeFont, fill: str
) -> None:
    """Draw one wrapped line at top-left (x, y); consecutive characters are drawn as one run for speed."""
    run = ""
    run_x = x
    cursor = x
    for unit in line:
        if isinstance(unit, int):
            if run:
                c.draw.text((run_x, y), run, font=font, fill=fill)
                run = ""
            size = font.size
            draw_emoji(c.draw, cursor + size * 0.575, y + size * 0.62, size, unit)
            cursor += size * 1.15
            run_x = cursor
        else:
            run += unit
            cursor += char_width(font, unit)
    if run:
        c.draw.text((run_x, y), run, font=font, fill=fill)


def draw_text(
    c: Canvas, xy: tuple[float, float], text: str, font: ImageFont.FreeTypeFont, fill: str, anchor: str = "la"
) -> float:
    """Draw single-line text with an anchor ("la" left, "ra" right, "ma" middle); returns its width."""
    width = text_width(text, font)
    x, y = xy
    if anchor[0] == "r":
        x -= width
    elif anchor[0] == "m":
        x -= width / 2
    draw_line(c, x, y, units(text), font, fill)
    return width


def draw_emoji(draw: ImageDraw.ImageDraw, cx: float, cy: float, size: float, variant: int) -> None:
    """Paint a small emoji (the font has none): faces, a heart, a red packet."""
    r = size * 0.5
    box = (cx - r, cy - r, cx + r, cy + r)
    if variant == 2:
        draw_heart(draw, cx, cy, size * 0.95, "#F0453A")
        return
    if variant == 5:
        draw.rounded_rectangle((cx - r * 0.75, cy - r, cx + r * 0.75, cy + r), radius=r * 0.2, fill="#E8453C")
        draw.ellipse((cx - r * 0.3, cy - r * 0.3, cx + r * 0.3, cy + r * 0.3), fill="#F6C453")
        return
    draw.ellipse(box, fill="#FFCC33", outline="#E0A800", width=max(1, round(size / 24)))
    eye = max(1.5, size * 0.08)
    ey = cy - r * 0.2
    if variant == 1:  # laughing: closed eyes arcs
        for ex in (cx - r * 0.38, cx + r * 0.38):
            draw.arc(
                (ex - eye * 1.6, ey - eye, ex + eye * 1.6, ey + eye * 1.6), 200, 340, fill="#5A3A00", width=2
            )
        draw.chord((cx - r * 0.55, cy - r * 0.05, cx + r * 0.55, cy + r * 0.65), 0, 180, fill="#8B2E00")
    elif variant == 3:  # star eyes
        for ex in (cx - r * 0.38, cx + r * 0.38):
            draw_star(draw, ex, ey, eye * 2.4, "#E8453C")
        draw.arc(
            (cx - r * 0.45, cy - r * 0.2, cx + r * 0.45, cy + r * 0.55), 20, 160, fill="#5A3A00", width=2
        )
    else:  # smile (0) or blush (4)
        for ex in (cx - r * 0.38, cx + r * 0.38):
            draw.ellipse((ex - eye, ey - eye * 1.3, ex + eye, ey + eye * 1.3), fill="#5A3A00")
        if variant == 4:
            for ex in (cx - r * 0.6, cx + r * 0.6):
                draw.ellipse((ex - eye * 1.5, cy + r * 0.05, ex + eye * 1.5, cy + r * 0.3), fill="#FF9A8B")
        draw.arc((cx - r * 0.5, cy - r * 0.25, cx + r * 0.5, cy + r * 0.55), 20, 160, fill="#5A3A00", width=2)


def draw_heart(draw: ImageDraw.ImageDraw, cx: float, cy: float, size: float, fill: str) -> None:
    r = size * 0.27
    draw.ellipse((cx - 2 * r, cy - 1.6 * r, cx, cy + 0.4 * r), fill=fill)
    draw.ellipse((cx, cy - 1.6 * r, cx + 2 * r, cy + 0.4 * r), fill=fill)
    draw.polygon(
        [(cx - 1.93 * r, cy - 0.3 * r), (cx + 1.93 * r, cy - 0.3 * r), (cx, cy + 1.9 * r)], fill=fill
    )


def draw_star(draw: ImageDraw.ImageDraw, cx: float, cy: float, size: float, fill: str) -> None:

    points = []
    for i in range(10):
        radius = size * (0.5 if i % 2 == 0 else 0.22)
        angle = math.pi / 2 + i * math.pi / 5
        points.append((cx + radius * math.cos(angle), cy - radius * math.sin(angle)))
    draw.polygon(points, fill=fill)


def draw_check_circle(draw: ImageDraw.ImageDraw, cx: float, cy: float, r: float, fill: str) -> None:
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fill)
    w = max(2, round(r * 0.16))
    draw.line(
        [(cx - r * 0.45, cy + r * 0.02), (cx - r * 0.1, cy + r * 0.36), (cx + r * 0.48, cy - r * 0.3)],
        fill="#FFFFFF",
        width=w,
        joint="curve",
    )


def draw_status_bar(c: Canvas, time_text: str, battery: int, signal: int) -> int:
    """Status bar with clock, signal, wifi and battery; returns its height in output pixels."""
    st = c.style
    h = c.p(64 if st.phone == "iphone" else 52)
    c.draw.rectangle((0, 0, c.width, h), fill=st.bar_bg)
    fg = st.text
    f_time = c.font(30 if st.phone == "iphone" else 26, "bold" if st.phone == "iphone" else "regular")
    y_mid = h * 0.55
    if st.phone == "iphone":
        draw_text(c, (c.p(70), y_mid - f_time.size * 0.72), time_text, f_time, fg)
    else:
        f_small = c.font(24)
        x = c.p(24)
        x += draw_text(c, (x, y_mid - f_time.size * 0.72), time_text, f_time, fg) + c.p(14)
        if st.carrier:
            draw_text(c, (x, y_mid - f_small.size * 0.72), st.carrier, f_small, fg)
    # battery (right)
    right = c.width - c.p(40 if st.phone == "iphone" else 24)
    bw, bh = c.p(48), c.p(22)
    if st.phone == "android":
        f_pct = c.font(22)
        right -= draw_text(c, (right, y_mid - f_pct.size * 0.7), f"{battery}%", f_pct, fg, anchor="ra") + c.p(
            8
        )
    bx0, by0 = right - bw, y_mid - bh / 2
    c.draw.rounded_rectangle((bx0, by0, right, by0 + bh), radius=c.p(5), outline=fg, width=max(1, c.p(2)))
    c.draw.rectangle((right + 1, by0 + bh * 0.3, right + c.p(4), by0 + bh * 0.7), fill=fg)
    fill_w = (bw - c.p(8)) * battery / 100
    level_color = "#34C759" if battery > 50 and st.phone == "android" else ("#FF3B30" if battery < 20 else fg)
    c.draw.rectangle((bx0 + c.p(4), by0 + c.p(4), bx0 + c.p(4) + fill_w, by0 + bh - c.p(4)), fill=level_color)
    # wifi
    wx = bx0 - c.p(30)
    for i, rad in enumerate((c.p(20), c.p(13), c.p(6))):
        box = (wx - rad, y_mid + c.p(8) - rad, wx + rad, y_mid + c.p(8) + rad)
        if i < 2:
            c.draw.arc(box, 225, 315, fill=fg, width=max(1, c.p(4)))
        else:
            c.draw.pieslice(box, 225, 315, fill=fg)
    # signal bars
    sx = wx - c.p(34) - c.p(32)
    for i in range(4):
        bar_h = c.p(7 + 5 * i)
        x0 = sx + i * c.p(8)
        colour = fg if i < signal else st.subtext
        c.draw.rounded_rectangle(
            (x0, y_mid + c.p(10) - bar_h, x0 + c.p(5), y_mid + c.p(10)), radius=1, fill=colour
        )
    return h


def draw_title_bar(
    c: Canvas, top: int, title: str, *, right_icon: str = "dots", badge: int | None = None
) -> int:
    """Navigation bar under the status bar: back chevron, title, a right-hand icon; returns its bottom y."""
    st = c.style
    h = c.p(88)
    c.draw.rectangle((0, top, c.width, top + h), fill=st.bar_bg)
    cy = top + h / 2
    w = max(2, c.p(4))
    c.draw.line(
        [(c.p(44), cy - c.p(16)), (c.p(28), cy), (c.p(44), cy + c.p(16))],
        fill=st.text,
        width=w,
        joint="curve",
    )
    x_text = c.p(60)
    if badge is not None:
        fb = c.font(28)
        x_text += draw_text(c, (x_text, cy - fb.size * 0.7), str(badge), fb, st.text) + c.p(10)
    f = c.font(34, "bold" if not st.dark else "regular")
    if st.title_centered:
        draw_text(c, (c.width / 2, cy - f.size * 0.72), title, f, st.text, anchor="ma")
    else:
        draw_text(c, (x_text + c.p(10), cy - f.size * 0.72), title, f, st.text)
    rx = c.width - c.p(44)
    if right_icon == "dots":
        for i in (-1, 0, 1):
            x = rx + i * c.p(14)
            c.draw.ellipse((x - c.p(4), cy - c.p(4), x + c.p(4), cy + c.p(4)), fill=st.text)
    elif right_icon == "person":
        c.draw.ellipse((rx - c.p(10), cy - c.p(20), rx + c.p(10), cy), outline=st.text, width=w)
        c.draw.arc((rx - c.p(20), cy + c.p(2), rx + c.p(20), cy + c.p(40)), 180, 360, fill=st.text, width=w)
    c.draw.line([(0, top + h - 1), (c.width, top + h - 1)], fill=st.line, width=1)
    return top + h


def draw_input_bar(c: Canvas) -> int:
    """Chat input bar (voice, text box, emoji, plus) at the bottom; returns its top y."""
    st = c.style
    h = c.p(110)
    top = c.height - h
    c.draw.rectangle((0, top, c.width, c.height), fill="#1E1E1E" if st.dark else "#F7F7F7")
    c.draw.line([(0, top), (c.width, top)], fill=st.line, width=1)
    cy = top + c.p(52)
    r = c.p(26)
    w = max(1, c.p(3))
    fg = st.text
    c.draw.ellipse((c.p(44) - r, cy - r, c.p(44) + r, cy + r), outline=fg, width=w)
    for k in (8, 15):
        c.draw.arc((c.p(36) - c.p(k), cy - c.p(k), c.p(36) + c.p(k), cy + c.p(k)), 300, 60, fill=fg, width=w)
    box_l, box_r = c.p(88), c.width - c.p(156)
    c.draw.rounded_rectangle((box_l, cy - c.p(34), box_r, cy + c.p(34)), radius=c.p(8), fill=st.card)
    ex = c.width - c.p(116)
    c.draw.ellipse((ex - r, cy - r, ex + r, cy + r), outline=fg, width=w)
    c.draw.arc((ex - r * 0.55, cy - r * 0.35, ex + r * 0.55, cy + r * 0.55), 20, 160, fill=fg, width=w)
    for dx in (-0.35, 0.35):
        c.draw.ellipse((ex + r * dx - w, cy - r * 0.3 - w, ex + r * dx + w, cy - r * 0.3 + w), fill=fg)
    px = c.width - c.p(44)
    c.draw.ellipse((px - r, cy - r, px + r, cy + r), outline=fg, width=w)
    c.draw.line([(px - r * 0.5, cy), (px + r * 0.5, cy)], fill=fg, width=w)
    c.draw.line([(px, cy - r * 0.5), (px, cy + r * 0.5)], fill=fg, width=w)
    return top


_AVATAR_COLOURS = (
    "#F4A261",
    "#E76F51",
    "#2A9D8F",
    "#E9C46A",
    "#8AB17D",
    "#B5838D",
    "#6D6875",
    "#457B9D",
    "#F28482",
)


@functools.lru_cache(maxsize=512)
def avatar(seed: int, size: int, radius_frac: float) -> Image.Image:
    """A profile picture: usually a crop of a real photo (as most people use), else a coloured initial."""
    rng = random.Random(f"avatar:{seed}")
    if rng.random() < 0.7:
        photo = real_photo_at(rng)
        side = int(min(photo.size) * rng.uniform(0.3, 0.7))
        x0 = rng.randint(0, photo.width - side)
        y0 = rng.randint(0, photo.height - side)
        img = photo.crop((x0, y0, x0 + side, y0 + side)).resize((size, size), Image.BILINEAR)
    else:
        img = Image.new("RGB", (size, size), rng.choice(_AVATAR_COLOURS))
        d = ImageDraw.Draw(img)
        char = rng.choice("丽娜敏静美小阳花雨佳琳欣A星月")
        font = get_font(max(6, int(size * 0.5)), "bold")
        d.text((size / 2, size / 2), char, font=font, fill="#FFFFFF", anchor="mm")
    mask = Image.new("L", (size, size), 0)
    ImageDraw.Draw(mask).rounded_rectangle(
        (0, 0, size - 1, size - 1), radius=int(size * radius_frac), fill=255
    )
    img.putalpha(mask)
    return img


def paste_avatar(c: Canvas, seed: int, x: int, y: int, size: int) -> None:
    av = avatar(seed, size, c.style.avatar_radius)
    c.image.paste(av, (x, y), av)


@functools.lru_cache(maxsize=256)
def thumbnail(seed: int, size: int) -> Image.Image:
    """A product thumbnail for order rows: a crop of a real product photo."""
    rng = random.Random(f"thumb:{seed}")
    names = photos_by_role("product")
    photo = get_photo(names[rng.randrange(len(names))])
    side = int(min(photo.size) * rng.uniform(0.55, 0.95))
    x0 = rng.randint(0, photo.width - side)
    y0 = rng.randint(0, photo.height - side)
    return photo.crop((x0, y0, x0 + side, y0 + side)).resize((size, size), Image.BILINEAR)
