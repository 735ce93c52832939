"""Render phone screenshots of chats, payments and order lists: the raw material of fabricated proof.

``style_seed`` picks the app template (colours, status bar, fonts, layout); ``content_seed`` the conversation,
amounts and rows. Fabrication is modelled the way it happens: render one template, then re-render it with ``edits``
to the amount, name or time, which changes only those pixels. A different ``content_seed`` with the same
``style_seed`` is a distractor: same app, a genuinely different screenshot.
"""

from __future__ import annotations

import random
from collections.abc import Mapping

from PIL import Image

from data.images import chat, orders, payment
from data.images import content as ct
from data.images.style import make_style

SCREENSHOT_KINDS = ("chat", "payment", "orders")
EDIT_FIELDS = ("amount", "name", "time", "avatar_seed")
TOPICS = ("proof", "personal")
_MIN_SIDE, _MAX_SIDE = 120, 4096


def _check(
    kind: str,
    content_seed: int,
    style_seed: int,
    edits: Mapping[str, str] | None,
    size: tuple[int, int],
    topic: str,
) -> None:
    if kind not in SCREENSHOT_KINDS:
        raise ValueError(
            f"The 'kind' parameter of render_screenshot must be one of {SCREENSHOT_KINDS}; got {kind!r} instead."
        )
    for name, value in (("content_seed", content_seed), ("style_seed", style_seed)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError(
                f"The '{name}' parameter of render_screenshot must be an int; got {value!r} instead."
            )
    if (
        not isinstance(size, tuple)
        or len(size) != 2
        or not all(isinstance(v, int) and _MIN_SIDE <= v <= _MAX_SIDE for v in size)
    ):
        raise ValueError(
            f"The 'size' parameter of render_screenshot must be a (width, height) tuple of ints in "
            f"[{_MIN_SIDE}, {_MAX_SIDE}]; got {size!r} instead."
        )
    if edits is not None:
        unknown = sorted(set(edits) - set(EDIT_FIELDS))
        if unknown:
            raise ValueError(
                f"The 'edits' parameter of render_screenshot accepts keys {EDIT_FIELDS}; got unknown keys {unknown} instead."
            )
        if "avatar_seed" in edits and not str(edits["avatar_seed"]).lstrip("-").isdigit():
            raise ValueError(
                f"The 'edits[\"avatar_seed\"]' value of render_screenshot must be an integer; got {edits['avatar_seed']!r} instead."
            )
    if topic not in TOPICS:
        raise ValueError(
            f"The 'topic' parameter of render_screenshot must be one of {TOPICS}; got {topic!r} instead."
        )


def render_screenshot(
    kind: str,
    content_seed: int,
    *,
    style_seed: int = 0,
    edits: Mapping[str, str] | None = None,
    size: tuple[int, int] = (750, 1334),
    topic: str = "proof",
) -> Image.Image:
    """Render one RGB phone screenshot (deterministic in all arguments).

    kind: "chat" | "payment" | "orders". edits: field overrides a fabricator makes to a template, keys "amount"
    (e.g. "3680" -> "3,680.00"), "name", "time" ("HH:MM") and "avatar_seed" (int as str). topic: "proof" (seller
    proof, the default) or "personal" (a genuine screenshot an ordinary user might post: family chat, a year-end bonus).
    """
    _check(kind, content_seed, style_seed, edits, size, topic)
    style = make_style(style_seed)
    edits = edits or {}
    if kind == "chat":
        chat_content = chat.make_content(content_seed, topic)
        chat.apply_edits(chat_content, edits)
        return chat.render_chat(chat_content, style, size)
    if kind == "payment":
        pay = payment.make_content(content_seed, topic)
        payment.apply_edits(pay, edits)
        return payment.render_payment(pay, style, size)
    order_content = orders.make_content(content_seed, topic)
    orders.apply_edits(order_content, edits)
    return orders.render_orders(order_content, style, size)


def sample_field_edits(
    rng: random.Random, fields: tuple[str, ...] = ("amount", "name", "time")
) -> dict[str, str]:
    """Random values for a fabricator's edit of a template: a new amount, payer/contact name and/or time.

    Callers pick which fields; each chosen field gets a value. Used by the account simulator and the edit suite.
    """
    unknown = sorted(set(fields) - set(EDIT_FIELDS))
    if unknown:
        raise ValueError(
            f"The 'fields' parameter of sample_field_edits accepts {EDIT_FIELDS}; got unknown {unknown} instead."
        )
    out: dict[str, str] = {}
    if "amount" in fields:
        out["amount"] = ct.fmt_amount(ct.amount_value(rng, 99, 9800))
    if "name" in fields:
        out["name"] = ct.person_name(rng) if rng.random() < 0.6 else ct.masked_name(rng)
    if "time" in fields:
        out["time"] = ct.fmt_clock(*ct.clock(rng))
    if "avatar_seed" in fields:
        out["avatar_seed"] = str(rng.randrange(10**9))
    return out
