"""Composable parts: slot filling and the small moves (price, call to action, contact, claims) posts are built from.

A family recipe asks a :class:`Gen` for parts; every part draws its own phrasing from a bank and fills its
slots, so two posts from one family rarely share a sentence. All randomness goes through the one
``random.Random`` the caller passes, which keeps a build deterministic for its seed.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence

from data.generator import lexicon as lx
from data.generator import lexicon_life as ll
from data.generator import lexicon_mlm as lm
from data.generator.catalogue import Product, draw_product

_SLOT = re.compile(r"\{(\w+)\}")

Slot = str | Callable[[random.Random], str]


def _wx(rng: random.Random) -> str:
    """A WeChat id the way sellers pick them: a nickname plus lucky digits."""
    lucky = rng.choice(("520", "1314", "888", "666", "168", "99", "5201314", "88", "2023", "0808"))
    sep = rng.choice(("", "", "_", "-"))
    return f"{rng.choice(lx.WX_PREFIX)}{sep}{lucky}{rng.randint(0, 999) if rng.random() < 0.6 else ''}"


def _phone(rng: random.Random) -> str:
    head = rng.choice(("138", "139", "136", "158", "159", "186", "188", "135", "177", "150", "152", "189"))
    body = f"{rng.randint(0, 99999999):08d}"
    if rng.random() < 0.15:
        return f"{head}****{body[4:]}"
    return head + body


def _money(rng: random.Random) -> str:
    """An income or sales figure in the forms posts use: 3万, 12800, 5w+, 六位数."""
    w = rng.randint(1, 30)
    return rng.choice(
        (
            f"{w}万",
            f"{w}w+",
            f"{w}.{rng.randint(1, 9)}万",
            f"{rng.randint(8, 98)}{rng.choice(('00', '88', '80', '66'))}",
            f"{rng.randint(10, 99)}k",
            f"{rng.randint(1, 9)}{rng.randint(0, 9)}{rng.randint(0, 9)}{rng.randint(0, 9)}{rng.randint(0, 9)}元",
            rng.choice(("六位数", "五位数", "小十万", "过万", "好几万")),
        )
    )


def _money_small(rng: random.Random) -> str:
    return rng.choice(
        (f"{rng.randint(2, 9)}千", f"{rng.randint(15, 60)}00", f"{rng.randint(1, 5)}千多", "两三千")
    )


GLOBAL_SLOTS: dict[str, Slot] = {
    "n": lambda r: str(r.randint(2, 9)),
    "nn": lambda r: str(r.randint(10, 99)),
    "N": lambda r: str(r.choice((r.randint(100, 999), r.randint(100, 500), r.randint(1000, 5000)))),
    "k": _money,
    "k2": _money_small,
    "pct": lambda r: str(r.choice((80, 85, 90, 92, 95, 98, 99, 100, 60, 70))),
    "d": lambda r: r.choice(("1", "2", "3", "3.5", "4", "5", "6", "7", "8", "9", "2.5")),
    "h": lambda r: str(r.randint(7, 11)),
    "name": lambda r: r.choice(lx.NAMES),
    "city": lambda r: r.choice(lx.CITIES),
    "place": lambda r: r.choice(lx.TRIP_PLACES),
    "car": lambda r: r.choice(lx.CARS),
    "wx": _wx,
    "phone": _phone,
    "qq": lambda r: str(r.randint(100000, 9999999999)),
    "level": lambda r: r.choice(lm.LEVELS),
    "aud": lambda r: r.choice(lm.AUDIENCES),
    "pw": lambda r: r.choice(lm.PITCH_WORDS),
    "brand": lambda r: r.choice(lm.BRANDS),
    "role": lambda r: r.choice(ll.ROLES),
    "item": lambda r: r.choice(ll.SECONDHAND_ITEMS),
    "dish": lambda r: r.choice(ll.DISHES),
    "shop": lambda r: r.choice(ll.SHOPS),
    "book": lambda r: r.choice(ll.BOOKS),
    "price2": lambda r: str(r.choice((r.randint(2, 9) * 10, r.randint(1, 20) * 50, r.randint(3, 9)))),
    "emo": lambda r: r.choice(lx.EMOJI_SOFT),
    "who": lambda r: r.choice(("爸妈", "长辈", "老师", "客户", "女朋友", "老公", "领导", "闺蜜", "公婆")),
    "holiday": lambda r: r.choice(
        ("中秋", "春节", "母亲节", "七夕", "教师节", "元旦", "情人节", "端午", "国庆")
    ),
}


class Gen:
    """Per-post drawing context: the rng, the post's product, slot values and the real sentences."""

    def __init__(self, rng: random.Random, real: Sequence[str]) -> None:
        self.rng = rng
        self.real = real
        self.used_real = False
        #: every bank template filled for this post, so a labelling rule can see which phrases it drew
        self.drawn: set[str] = set()
        self.product: Product = draw_product(rng)
        self.other: Product = draw_product(rng)
        self.slots: dict[str, Slot] = dict(GLOBAL_SLOTS)
        self.set_product(self.product)

    def set_product(self, p: Product) -> None:
        """Point the product slots at ``p`` (prices stay fixed within one post, claims vary)."""
        self.product = p
        cat = p.category
        self.slots.update(
            p=p.name,
            ps=self.rng.choice((p.short, p.name, p.short)),
            p2=self.other.name,
            cat=cat.name,
            unit=p.unit,
            price=str(p.price),
            orig=str(p.original),
            claim=lambda r: r.choice(cat.claims),
            problem=lambda r: r.choice(cat.problems),
            upline=lambda r: self.f(r.choice(lm.UPLINES)),
        )

    # -------------------------------------------------------------- primitives
    def f(self, template: str) -> str:
        """Fill every ``{slot}`` of ``template``; a slot used twice may get two different values."""
        self.drawn.add(template)

        def rep(m: re.Match[str]) -> str:
            v = self.slots[m.group(1)]
            return v(self.rng) if callable(v) else v

        return _SLOT.sub(rep, template)

    def pick(self, bank: Sequence[str]) -> str:
        return self.f(self.rng.choice(bank))

    def pitch(self) -> str:
        """A recruitment pitch frame whose keyword slots get distinct pitch words (no 无需经验 twice)."""
        frame = self.rng.choice(lm.PITCH_FRAMES)
        words = iter(self.rng.sample(list(lm.PITCH_WORDS), frame.count("{pw}")))
        return self.f(re.sub(r"\{pw\}", lambda _m: next(words), frame))

    def some(self, bank: Sequence[str], lo: int, hi: int) -> list[str]:
        """``lo``..``hi`` distinct phrasings from ``bank``, filled, in random order."""
        k = min(len(bank), self.rng.randint(lo, hi))
        return [self.f(t) for t in self.rng.sample(list(bank), k)]

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def real_sentence(self) -> str:
        """A real sentence from the build's corpora (marks the post 'generated+real'), else a fallback."""
        if self.real:
            self.used_real = True
            return self.rng.choice(self.real)
        return self.rng.choice(lx.FALLBACK_REVIEWS)

    # -------------------------------------------------------------- selling moves
    def price(self) -> str:
        """One price statement, sometimes with a deal attached (买二送一, 第二件半价)."""
        r = self.rng.random()
        if r < 0.55:
            return self.pick(lx.PRICE_FORMATS)
        if r < 0.8:
            return f"{self.pick(lx.PRICE_FORMATS)}{self.rng.choice(('，', ' ', '！', '～'))}{self.pick(lx.PRICE_DEALS)}"
        return self.pick(lx.PRICE_DEALS)

    def cta(self) -> str:
        """A call to action, sometimes pointed at with 👇 and followed by a contact line."""
        parts = [self.pick(lx.CTA)]
        if self.chance(0.35):
            parts.append(self.pick(lx.CTA))
        text = self.rng.choice(("，", " ", "！", "～", "\n")).join(dict.fromkeys(parts))
        if self.chance(0.4):
            ptr = self.rng.choice(lx.POINTERS)
            text = f"{text}{ptr}\n{self.pick(lx.CONTACT)}" if self.chance(0.7) else f"{ptr}{text}"
        elif self.chance(0.25):
            text = f"{text} {self.pick(lx.CONTACT)}"
        return text

    def claims(self, lo: int = 1, hi: int = 4) -> list[str]:
        claims = self.rng.sample(
            list(self.product.category.claims), min(hi, len(self.product.category.claims))
        )
        k = self.rng.randint(lo, len(claims))
        return [self.rng.choice(lx.BENEFIT_FRAMES).replace("{claim}", c) for c in claims[:k]]

    def product_intro(self) -> str:
        return self.f(
            self.rng.choice(
                (
                    "{p}",
                    "这款{p}",
                    "{brand}{p}",
                    "{p}（{claim}）",
                    "今天推荐{p}",
                    "【{p}】",
                    "{p}，{claim}",
                    "我家的{p}",
                    "{cat}：{p}",
                )
            )
        )

    def scarcity(self) -> str:
        return self.pick(lx.SCARCITY)

    def emoji(self, bank: Sequence[str] = lx.EMOJI_SELL, lo: int = 1, hi: int = 3) -> str:
        return "".join(self.rng.choice(bank) for _ in range(self.rng.randint(lo, hi)))
