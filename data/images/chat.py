"""Chat screenshots: the "customer feedback" (反馈图) that sellers post as proof.

Contents come from the content seed; the look from the style. Field edits (contact name, transfer amount, the
latest time, the contact's avatar) change only their own pixels, because every layout decision is taken before the
edits are applied and none depends on an edited value.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field

from PIL import Image

from data.images import content as ct
from data.images.drawing import (
    Canvas,
    draw_input_bar,
    draw_line,
    draw_status_bar,
    draw_text,
    draw_title_bar,
    new_canvas,
    paste_avatar,
    thumbnail,
    unit_width,
    wrap,
)
from data.images.style import Style

TOPICS = ("proof", "personal")


@dataclass
class ChatContent:
    contact: str
    contact_avatar: int
    me_avatar: int
    base_time: tuple[int, int]
    status_delta: int
    battery: int
    signal: int
    unread: int | None
    amount: str
    items: list[tuple] = field(default_factory=list)


def _fresh(rng: random.Random, make, seen: set[str]) -> str:
    """A line not yet used in this conversation (people do not send the same sentence twice)."""
    line = make(rng)
    for _ in range(8):
        if line not in seen:
            break
        line = make(rng)
    seen.add(line)
    return line


def make_content(content_seed: int, topic: str) -> ChatContent:
    rng = random.Random(f"chat:{topic}:{content_seed}")
    chat = ChatContent(
        contact=ct.person_name(rng),
        contact_avatar=rng.randrange(10**9),
        me_avatar=rng.randrange(10**9),
        base_time=ct.clock(rng),
        status_delta=rng.randint(0, 40),
        battery=rng.randint(8, 100),
        signal=rng.randint(2, 4),
        unread=rng.choice((None, None, rng.randint(1, 99))),
        amount=ct.fmt_amount(ct.amount_value(rng, 39, 3000)),
    )
    day = rng.choice(("昨天", "星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "周日"))
    early = ct.fmt_clock(*ct.clock(rng))
    items: list[tuple] = [("time", f"{day} {early}")]
    n_turns = rng.randint(3, 8)
    transfer_at = rng.randint(max(0, n_turns - 2), n_turns - 1)  # near the end, so it stays on screen
    late_at = rng.randint(1, n_turns)
    photo_at = rng.randrange(n_turns) if topic == "proof" and rng.random() < 0.35 else -1
    seen: set[str] = set()
    for turn in range(n_turns):
        if turn == late_at:
            items.append(("time", None))  # the latest timestamp: shows base_time
        if topic == "proof":
            left = _fresh(rng, ct.question if rng.random() < 0.15 else ct.praise, seen)
            items.append(("msg", "left", left))
            if turn == photo_at:  # the customer's "before/after" or product photo
                items.append(("photo", "left", rng.randrange(10**9), rng.choice((220, 260, 300))))
            if rng.random() < 0.3:
                items.append(("msg", "left", _fresh(rng, ct.praise, seen)))
            if turn == transfer_at:
                note = rng.choice(ct.NOTES)
                items.append(("transfer", "left", note, rng.random() < 0.7))
            if rng.random() < 0.85:
                items.append(("msg", "right", _fresh(rng, ct.reply, seen)))
        else:
            first, second = ct.personal_pair(rng)
            if first in seen:
                continue
            seen.add(first)
            side = rng.choice(("left", "right"))
            items.append(("msg", side, first))
            if turn == transfer_at and rng.random() < 0.5:
                items.append(
                    ("transfer", side, rng.choice(("生日快乐", "红包", "饭钱", "")), rng.random() < 0.7)
                )
            items.append(("msg", "right" if side == "left" else "left", second))
    if late_at == n_turns:
        items.insert(len(items) - 1, ("time", None))
    chat.items = items
    return chat


def apply_edits(chat: ChatContent, edits: Mapping[str, str]) -> None:
    if "name" in edits:
        chat.contact = str(edits["name"])
    if "amount" in edits:
        chat.amount = ct.parse_amount(str(edits["amount"]))
    if "time" in edits:
        chat.base_time = ct.parse_clock(str(edits["time"]))
    if "avatar_seed" in edits:
        chat.contact_avatar = int(edits["avatar_seed"])


_AV = 80  # avatar size, design px
_MARGIN = 24


def _bubble_layout(c: Canvas, text: str) -> tuple[list, int, int]:
    font = c.font(32)
    max_w = c.p(750 - 2 * (_MARGIN + _AV + 22) - 60)
    lines = wrap(text, font, max_w)
    line_h = round(font.size * 1.45)
    width = max(sum(unit_width(u, font) for u in line) for line in lines)
    return lines, round(width) + c.p(44), line_h * len(lines) + c.p(36)


def _item_height(c: Canvas, item: tuple) -> int:
    if item[0] == "time":
        return c.p(70)
    if item[0] == "transfer":
        return c.p(196) + c.p(28)
    if item[0] == "photo":
        return c.p(item[3]) + c.p(28)
    _, bubble_h = _bubble_layout(c, item[2])[1:]
    return max(bubble_h, c.p(_AV)) + c.p(28)


def _draw_bubble(c: Canvas, y: int, side: str, text: str, avatar_seed: int) -> None:
    st = c.style
    font = c.font(32)
    lines, bw, bh = _bubble_layout(c, text)
    av = c.p(_AV)
    line_h = round(font.size * 1.45)
    if side == "left":
        paste_avatar(c, avatar_seed, c.p(_MARGIN), y, av)
        x0 = c.p(_MARGIN + 20) + av
        colour, fg = st.them_bubble, st.them_text
        tail = [(x0 - c.p(10), y + c.p(40)), (x0 + 1, y + c.p(30)), (x0 + 1, y + c.p(50))]
    else:
        paste_avatar(c, avatar_seed, c.width - c.p(_MARGIN) - av, y, av)
        x0 = c.width - c.p(_MARGIN + 20) - av - bw
        colour, fg = st.me_bubble, st.me_text
        tail = [(x0 + bw + c.p(10), y + c.p(40)), (x0 + bw - 1, y + c.p(30)), (x0 + bw - 1, y + c.p(50))]
    c.draw.rounded_rectangle((x0, y, x0 + bw, y + bh), radius=c.p(st.bubble_radius), fill=colour)
    c.draw.polygon(tail, fill=colour)
    ty = y + c.p(18) - round(font.size * 0.08)
    for line in lines:
        draw_line(c, x0 + c.p(22), ty, line, font, fg)
        ty += line_h


def _draw_transfer(
    c: Canvas, y: int, side: str, note: str, received: bool, amount: str, avatar_seed: int
) -> None:
    av = c.p(_AV)
    w, h = c.p(460), c.p(196)
    if side == "left":
        paste_avatar(c, avatar_seed, c.p(_MARGIN), y, av)
        x0 = c.p(_MARGIN + 20) + av
    else:
        paste_avatar(c, avatar_seed, c.width - c.p(_MARGIN) - av, y, av)
        x0 = c.width - c.p(_MARGIN + 20) - av - w
    top_colour = "#FCD9B0" if received else "#FA9D3B"
    if c.style.dark:
        top_colour = "#8A5A2B" if received else "#C97A2C"
    c.draw.rounded_rectangle((x0, y, x0 + w, y + h), radius=c.p(10), fill=top_colour)
    c.draw.rectangle((x0, y + h - c.p(52), x0 + w, y + h - c.p(10)), fill=c.style.card)
    c.draw.rounded_rectangle((x0, y + h - c.p(52), x0 + w, y + h), radius=c.p(10), fill=c.style.card)
    # icon: circle with two arrows (transfer) or a check (received)
    cx, cy, r = x0 + c.p(62), y + c.p(72), c.p(34)
    c.draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline="#FFFFFF", width=max(2, c.p(4)))
    if received:
        c.draw.line(
            [(cx - r * 0.45, cy), (cx - r * 0.1, cy + r * 0.35), (cx + r * 0.45, cy - r * 0.3)],
            fill="#FFFFFF",
            width=max(2, c.p(4)),
        )
    else:
        c.draw.line(
            [(cx - r * 0.5, cy - r * 0.2), (cx + r * 0.5, cy - r * 0.2)], fill="#FFFFFF", width=max(2, c.p(3))
        )
        c.draw.line(
            [(cx - r * 0.5, cy + r * 0.2), (cx + r * 0.5, cy + r * 0.2)], fill="#FFFFFF", width=max(2, c.p(3))
        )
    f_amount = c.font(34)
    f_note = c.font(24)
    draw_text(c, (x0 + c.p(116), y + c.p(30)), f"¥{amount}", f_amount, "#FFFFFF")
    status = note if note else "已收款" if received else "请收款"
    draw_text(c, (x0 + c.p(116), y + c.p(82)), status, f_note, "#FFFFFF")
    draw_text(c, (x0 + c.p(24), y + h - c.p(42)), "微信转账", c.font(22), c.style.subtext)


def render_chat(chat: ChatContent, style: Style, size: tuple[int, int]) -> Image.Image:
    c = new_canvas(size, style)
    status_time = ct.fmt_clock(*ct.add_minutes(chat.base_time, chat.status_delta))
    heights = [_item_height(c, item) for item in chat.items]
    bar_h = c.p(64 if style.phone == "iphone" else 52)
    title_bottom = bar_h + c.p(88)
    input_top = c.height - c.p(110)
    y = title_bottom + c.p(20)
    total = sum(heights)
    if y + total > input_top - c.p(16):
        y = input_top - c.p(16) - total  # scrolled to the latest message, like a real screenshot
    for item, h in zip(chat.items, heights, strict=True):
        if y + h < title_bottom:
            y += h
            continue
        if y > input_top:
            break
        if item[0] == "time":
            label = item[1] if item[1] is not None else ct.fmt_clock(*chat.base_time)
            f = c.font(24)
            tw = draw_text(c, (c.width / 2, y + c.p(20)), label, f, style.subtext, anchor="ma")
            del tw
        elif item[0] == "msg":
            seed = chat.contact_avatar if item[1] == "left" else chat.me_avatar
            _draw_bubble(c, y + c.p(14), item[1], item[2], seed)
        elif item[0] == "photo":
            paste_avatar(c, chat.contact_avatar, c.p(_MARGIN), y + c.p(14), c.p(_AV))
            side_px = c.p(item[3])
            c.image.paste(thumbnail(item[2], side_px), (c.p(_MARGIN + 20 + _AV), y + c.p(14)))
        else:
            seed = chat.contact_avatar if item[1] == "left" else chat.me_avatar
            _draw_transfer(c, y + c.p(14), item[1], item[2], item[3], chat.amount, seed)
        y += h
    draw_status_bar(c, status_time, chat.battery, chat.signal)
    draw_title_bar(c, bar_h, chat.contact, right_icon="dots", badge=chat.unread)
    draw_input_bar(c)
    return c.image
