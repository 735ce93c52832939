"""Layout: how parts become a post (line breaks, emoji bullets, 【】 titles, hashtags, ！！！, signatures).

Everyday posts and seller posts go through the same layouts with the same odds of each decoration,
so layout alone never reveals the label; only the choice of emoji bank and hashtag bank differs
slightly, as in real feeds.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from data.generator import lexicon as lx

STYLES: tuple[str, ...] = ("inline", "lines", "spaced", "bullets", "mixed", "dense")
_INLINE_SEPS: tuple[str, ...] = ("，", "，", " ", "！", "。", "～", "  ", "；", "...", "，")


def _inline_join(rng: random.Random, parts: Sequence[str]) -> str:
    out = parts[0]
    for p in parts[1:]:
        sep = "" if out[-1:] in "！？。，~～!?…" or not out else rng.choice(_INLINE_SEPS)
        out += sep + p
    return out


def assemble(
    rng: random.Random,
    parts: Sequence[str],
    *,
    emoji: Sequence[str] = lx.EMOJI_SOFT,
    style: str | None = None,
    title: str | None = None,
    hashtags: Sequence[str] = (),
    signature: str | None = None,
    loud: float = 0.15,
) -> str:
    """Join ``parts`` in one of the layouts and decorate; empty parts are dropped.

    ``loud`` is the chance of an exclamation run (！！！) after a part; ``title`` goes in 【】 or
    between emoji; ``hashtags`` and ``signature`` end the post.
    """
    parts = [p.strip() for p in parts if p and p.strip()]
    if not parts:
        parts = [rng.choice(emoji)]
    style = style or rng.choice(STYLES)
    if loud and rng.random() < loud:
        i = rng.randrange(len(parts))
        parts[i] = parts[i].rstrip("！!。，") + rng.choice(("！！！", "!!!", "！！", "‼️", "❗❗"))
    if rng.random() < 0.35:
        i = rng.randrange(len(parts))
        e = "".join(rng.choice(emoji) for _ in range(rng.randint(1, 3)))
        parts[i] = f"{parts[i]}{e}" if rng.random() < 0.7 else f"{e}{parts[i]}"
    if style == "inline":
        body = _inline_join(rng, parts)
    elif style == "lines":
        body = "\n".join(parts)
    elif style == "spaced":
        body = "\n\n".join(parts)
    elif style == "bullets":
        b = rng.choice(lx.BULLETS)
        numbered = b == "①"
        lines = [parts[0]] + [
            (f"{'①②③④⑤⑥⑦⑧⑨⑩'[i % 10]}" if numbered else b) + p for i, p in enumerate(parts[1:])
        ]
        body = "\n".join(lines)
    elif style == "dense":
        body = " ".join(parts) if rng.random() < 0.5 else "".join(p.rstrip("。") + "。" for p in parts)
    else:
        body = parts[0]
        for p in parts[1:]:
            body += rng.choice(("\n", "\n\n", "，", " ", "\n", rng.choice(emoji)))
            body += p
    if title:
        if title.startswith("【"):
            t = title
        else:
            t = rng.choice(
                (
                    f"【{title}】",
                    f"{rng.choice(emoji)}{title}{rng.choice(emoji)}",
                    f"「{title}」",
                    title + "！",
                )
            )
        body = f"{t}\n{body}" if rng.random() < 0.8 else f"{t} {body}"
    if hashtags:
        tags = "".join(rng.sample(list(hashtags), min(len(hashtags), rng.randint(1, 3))))
        body = f"{body}\n{tags}" if rng.random() < 0.6 else f"{tags} {body}"
    if signature:
        body = f"{body}\n{signature}" if rng.random() < 0.8 else f"{body}\n\n{signature}"
    return body
