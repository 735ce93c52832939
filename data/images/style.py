"""App templates: the look a ``style_seed`` picks (colours, status bar, fonts, layout).

Fabricators reuse one app's look across many fake screenshots; distractors in the duplicate evaluation share a style
and differ in content. Keeping every style decision here, drawn only from the style seed, is what makes that split
exact: no content decision can leak into the look and vice versa.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

PAYMENT_LAYOUTS = ("receipt", "notices", "summary")
ORDER_LAYOUTS = ("cards", "compact")


@dataclass(frozen=True)
class Style:
    dark: bool
    phone: str  # "iphone" (time left, icons right) or "android" (carrier + percent)
    carrier: str
    bg: str  # chat / page background
    bar_bg: str  # status + title bar background
    text: str
    subtext: str
    card: str
    line: str
    me_bubble: str
    me_text: str
    them_bubble: str
    them_text: str
    accent: str  # brand colour: pay green, order orange...
    font_scale: float
    avatar_radius: float  # 0 = square, 0.5 = circle
    bubble_radius: int
    payment_layout: str
    order_layout: str
    title_centered: bool


_ACCENTS = ("#07C160", "#07C160", "#1677FF", "#FF5000", "#FA5151", "#00A870")
_ME_BUBBLES = ("#95EC69", "#95EC69", "#A9E87E", "#12B7F5", "#9EEA6A", "#FFE27A")
_CARRIERS = ("中国移动", "中国联通", "中国电信", "中国移动 5G", "")


def make_style(style_seed: int) -> Style:
    """The app template for ``style_seed`` (deterministic)."""
    rng = random.Random(f"feedguard-style:{style_seed}")
    dark = rng.random() < 0.18
    phone = rng.choice(("iphone", "iphone", "android"))
    accent = rng.choice(_ACCENTS)
    me_bubble = rng.choice(_ME_BUBBLES)
    if dark:
        bg, bar_bg, text, subtext, card, line = (
            "#111111",
            "#1E1E1E",
            "#E6E6E6",
            "#8C8C8C",
            "#1F1F1F",
            "#2C2C2C",
        )
        them_bubble, them_text = "#2C2C2C", "#E6E6E6"
        me_bubble = "#3EB575" if me_bubble != "#12B7F5" else "#1D7FC4"
        me_text = "#0D0D0D" if me_bubble == "#3EB575" else "#FFFFFF"
    else:
        grey = rng.choice(("#EDEDED", "#EDEDED", "#F2F2F2", "#EBEBEB", "#F5F5F5"))
        bg, bar_bg, text, subtext, card, line = grey, grey, "#191919", "#9A9A9A", "#FFFFFF", "#E5E5E5"
        them_bubble, them_text = "#FFFFFF", "#191919"
        me_text = "#FFFFFF" if me_bubble == "#12B7F5" else "#191919"
    return Style(
        dark=dark,
        phone=phone,
        carrier=rng.choice(_CARRIERS) if phone == "android" else "",
        bg=bg,
        bar_bg=bar_bg,
        text=text,
        subtext=subtext,
        card=card,
        line=line,
        me_bubble=me_bubble,
        me_text=me_text,
        them_bubble=them_bubble,
        them_text=them_text,
        accent=accent,
        font_scale=rng.uniform(0.92, 1.1),
        avatar_radius=rng.choice((0.1, 0.12, 0.15, 0.5)),
        bubble_radius=rng.choice((8, 10, 12, 16)),
        payment_layout=rng.choice(PAYMENT_LAYOUTS),
        order_layout=rng.choice(ORDER_LAYOUTS),
        title_centered=rng.random() < 0.85,
    )
