"""Evasion transforms: rewrite a post the way sellers do to slip past keyword filters.

Sellers do not write 微信 and 招代理 once filters catch them; they write 薇信, 招 代 理, zdl,
賺錢, ＶＸ１３８ and 一三八. The model must be trained on these spellings and measured on them, so
the generator applies them to a share of posts and records which ones it applied. One function per
trick, named exactly as in ``model.labels.EVASION_TRICKS``; each returns the text unchanged when the
trick has nothing to act on, and :func:`apply_evasion` records only the tricks that changed the text.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from functools import lru_cache

from model.labels import EVASION_TRICKS

# Words sellers disguise: contact words, recruiting words, money words. Longest first so that
# "招代理" is chosen before "代理" when both match.
KEY_WORDS: tuple[str, ...] = tuple(
    sorted(
        (
            "招代理",
            "代理",
            "微信",
            "加微",
            "私聊",
            "私信",
            "赚钱",
            "月入过万",
            "月入",
            "兼职",
            "副业",
            "加盟",
            "招募",
            "合伙人",
            "一件代发",
            "零门槛",
            "零库存",
            "货源",
            "下单",
            "拿货",
            "总代",
            "收款",
            "回购",
            "好评",
            "反馈",
            "躺赚",
            "宝妈",
            "团队",
            "微商",
            "扫码",
            "优惠",
            "包邮",
            "价格",
            "特价",
            "现价",
            "原价",
            "秒杀",
            "出单",
            "爆单",
            "提车",
            "收入",
            "工资",
            "面膜",
            "减肥",
            "瘦身",
            "酵素",
            "代购",
            "正品",
            "厂家",
            "批发",
            "名额",
            "培训",
            "创业",
        ),
        key=len,
        reverse=True,
    )
)

# Variant spellings of contact and money words (the normalizer folds these back).
HOMOPHONES: dict[str, tuple[str, ...]] = {
    "微信": (
        "薇信",
        "V信",
        "v信",
        "威❤",
        "徽",
        "vx",
        "wx",
        "威信",
        "卫星",
        "VX",
        "微❤",
        "薇❤",
        "魏信",
        "维信",
    ),
    "加微": ("加薇", "+V", "+v", "加V", "加威", "家薇", "➕V"),
    "QQ": ("扣扣", "企鹅", "口口", "Q Q", "扣"),
    "代理": ("代哩", "带理", "代li", "玳理", "袋理"),
    "赚钱": ("赚q", "挣米", "赚米", "賺q", "搞米", "赚💰"),
    "私聊": ("丝聊", "私撩", "s聊", "私鹿", "私l"),
    "私信": ("丝信", "s信", "私❤"),
    "加盟": ("家盟", "佳盟", "加萌"),
    "微商": ("V商", "威商", "薇商", "wei商"),
    "兼职": ("兼值", "尖职", "兼zhi"),
    "收入": ("收ru", "收🉐"),
    "月入": ("月ru", "月🉐", "月收"),
    "宝妈": ("宝麻", "宝🐴", "煲妈"),
    "下单": ("下🥚", "下丹", "xia单"),
    "钱": ("💰", "米", "q"),
}

# Characters put between the characters of a key word.
SEPARATORS: tuple[str, ...] = (
    " ",
    " ",
    "·",
    "✖",
    "\u200b",
    "\u200b",
    "-",
    "/",
    "|",
    "丨",
    "❤",
    "⭐",
    "🌸",
    "✨",
    "_",
    ".",
    "~",
    "*",
    "💋",
)

# Pinyin spellings used in posts: full pinyin, initials, and mixed (jia v).
PINYIN_WORDS: dict[str, tuple[str, ...]] = {
    "招代理": ("zhaodaili", "zdl", "zhao代理", "招dl", "zhao dai li"),
    "代理": ("daili", "dl", "dai li", "DL"),
    "微信": ("weixin", "wx", "wei xin", "WX", "weix"),
    "加微信": ("jia v", "jia wx", "jiav", "+weixin", "jia weixin"),
    "赚钱": ("zhuanqian", "zq", "zhuan钱"),
    "私聊": ("siliao", "sl", "si聊"),
    "兼职": ("jianzhi", "jz"),
    "月入过万": ("yue入过w", "月ru过w", "yueru过万"),
    "一件代发": ("yjdf", "一件daifa"),
    "零门槛": ("0门kan", "ling门槛"),
    "宝妈": ("baoma", "bm", "宝ma"),
    "副业": ("fuye", "fy"),
    "下单": ("xiadan", "xd"),
    "货源": ("huoyuan", "hy"),
    "收款": ("shoukuan", "sk"),
    "好评": ("haoping", "hp"),
    "回购": ("huigou", "hg"),
    "拿货": ("nahuo", "nh"),
}

CN_DIGITS: str = "零一二三四五六七八九"
CAPITAL_DIGITS: str = "零壹贰叁肆伍陆柒捌玖"
CIRCLED_DIGITS: str = "⓪①②③④⑤⑥⑦⑧⑨"
PARENS_DIGITS: str = "0⑴⑵⑶⑷⑸⑹⑺⑻⑼"

_CJK = re.compile(r"[\u4e00-\u9fff]{2,4}")
_DIGIT_RUN = re.compile(r"\d{2,}")
_ASCII_ALNUM = re.compile(r"[A-Za-z0-9]+")


@lru_cache(maxsize=1)
def _s2t() -> Callable[[str], str]:
    """Build the OpenCC converter once: loading its dictionaries costs far more than converting."""
    from opencc import OpenCC

    return OpenCC("s2t").convert


def _targets(text: str, words: Sequence[str]) -> list[str]:
    """Key words present in ``text``, in ``words`` order (deterministic, no set iteration)."""
    return [w for w in words if w in text]


def _pick_some(rng: random.Random, items: list[str]) -> list[str]:
    """One to all of ``items``, at least one, so a transform hits one or several words."""
    k = rng.randint(1, len(items))
    return rng.sample(items, k)


def fullwidth(text: str, rng: random.Random) -> str:
    """Turn ASCII letters and digits into full-width forms (ＶＸ, １３８), all or only some runs."""
    runs = list(_ASCII_ALNUM.finditer(text))
    if not runs:
        return text
    whole = rng.random() < 0.5
    chosen = {m.start() for m in runs} if whole else {m.start() for m in _pick_some_matches(rng, runs)}
    out: list[str] = []
    last = 0
    for m in runs:
        out.append(text[last : m.start()])
        seg = m.group()
        if m.start() in chosen:
            seg = "".join(chr(ord(c) + 0xFEE0) for c in seg)
        out.append(seg)
        last = m.end()
    out.append(text[last:])
    return "".join(out)


def _pick_some_matches(rng: random.Random, runs: list[re.Match[str]]) -> list[re.Match[str]]:
    k = rng.randint(1, len(runs))
    return rng.sample(runs, k)


def traditional(text: str, rng: random.Random) -> str:
    """Convert to traditional characters (賺錢, 門檻) with OpenCC, the whole post or one line of it."""
    convert = _s2t()
    lines = text.split("\n")
    if len(lines) > 1 and rng.random() < 0.3:
        i = rng.randrange(len(lines))
        lines[i] = convert(lines[i])
        out = "\n".join(lines)
        if out != text:
            return out
    return convert(text)


def separator(text: str, rng: random.Random) -> str:
    """Put spaces, symbols, emoji or zero-width spaces between the characters of key words (招 代 理)."""
    words = _targets(text, KEY_WORDS)
    if not words:
        words = list(dict.fromkeys(m.group() for m in _CJK.finditer(text)))
        if not words:
            return text
        words = rng.sample(words, min(len(words), rng.randint(1, 2)))
    else:
        words = _pick_some(rng, words[:6])
    sep = rng.choice(SEPARATORS)
    for w in words:
        s = sep if rng.random() < 0.8 else rng.choice(SEPARATORS)
        text = text.replace(w, s.join(w), 1 if rng.random() < 0.5 else -1)
    return text


def homophone(text: str, rng: random.Random) -> str:
    """Swap contact and money words for variant spellings (微信 -> 薇信/V信/威❤, QQ -> 扣扣)."""
    words = _targets(text, sorted(HOMOPHONES, key=len, reverse=True))
    if not words:
        return text
    for w in _pick_some(rng, words):
        if w not in text:
            continue
        text = text.replace(w, rng.choice(HOMOPHONES[w]))
    return text


def pinyin(text: str, rng: random.Random) -> str:
    """Write key words in pinyin or initials (daili, zdl, weixin, jia v); else pinyin a random word."""
    words = _targets(text, sorted(PINYIN_WORDS, key=len, reverse=True))
    if words:
        for w in _pick_some(rng, words):
            if w in text:
                text = text.replace(w, rng.choice(PINYIN_WORDS[w]))
        return text
    from pypinyin import Style, lazy_pinyin

    spans = list(dict.fromkeys(m.group()[:2] for m in _CJK.finditer(text)))
    if not spans:
        return text
    w = rng.choice(spans)
    style = Style.FIRST_LETTER if rng.random() < 0.4 else Style.NORMAL
    joiner = "" if rng.random() < 0.7 else " "
    return text.replace(w, joiner.join(lazy_pinyin(w, style=style)), 1)


def digits(text: str, rng: random.Random) -> str:
    """Spell out or split digit runs of phone numbers, IDs and prices (一三八, ①③⑧, 壹贰, 1 3 8)."""
    runs = list(_DIGIT_RUN.finditer(text))
    if not runs:
        return text
    style = rng.choice(("cn", "capital", "circled", "parens", "split", "mixed"))
    chosen = {m.start() for m in _pick_some_matches(rng, runs)}
    out: list[str] = []
    last = 0
    for m in runs:
        out.append(text[last : m.start()])
        seg = m.group()
        if m.start() in chosen:
            seg = _spell(seg, style, rng)
        out.append(seg)
        last = m.end()
    out.append(text[last:])
    return "".join(out)


def _spell(num: str, style: str, rng: random.Random) -> str:
    tables = {"cn": CN_DIGITS, "capital": CAPITAL_DIGITS, "circled": CIRCLED_DIGITS, "parens": PARENS_DIGITS}
    if style in tables:
        return "".join(tables[style][int(c)] for c in num)
    if style == "split":
        return rng.choice((" ", "-", ".", "、", " ")).join(num)
    return "".join(rng.choice((c, CN_DIGITS[int(c)], CIRCLED_DIGITS[int(c)])) for c in num)


TRICKS: dict[str, Callable[[str, random.Random], str]] = {
    "fullwidth": fullwidth,
    "traditional": traditional,
    "separator": separator,
    "homophone": homophone,
    "pinyin": pinyin,
    "digits": digits,
}
if tuple(TRICKS) != EVASION_TRICKS:
    raise ImportError("data.evasion.TRICKS must list exactly model.labels.EVASION_TRICKS, in order.")

# Order in which tricks run when several are asked for: word-level rewrites first, then the
# character-level ones, so one trick does not erase the target of the next (a separator inside
# 微信 would stop the homophone; full-width after digit spelling still finds the letters).
_ORDER: tuple[str, ...] = ("homophone", "pinyin", "digits", "separator", "fullwidth", "traditional")


def applicable_tricks(text: str) -> list[str]:
    """Tricks that would change ``text``; random choice picks only among these."""
    found: list[str] = []
    if _ASCII_ALNUM.search(text):
        found.append("fullwidth")
    if _s2t()(text) != text:
        found.append("traditional")
    if _CJK.search(text) or _targets(text, KEY_WORDS):
        found.append("separator")
        found.append("pinyin")
    if _targets(text, list(HOMOPHONES)):
        found.append("homophone")
    if _DIGIT_RUN.search(text):
        found.append("digits")
    return [t for t in EVASION_TRICKS if t in found]


def apply_evasion(
    text: str, rng: random.Random, tricks: Sequence[str] | None = None
) -> tuple[str, tuple[str, ...]]:
    """Apply ``tricks`` (or 1-3 random applicable ones) and return (new text, tricks that changed it).

    A trick that finds nothing to act on (no digits for ``digits``) is not recorded, so the
    recorded tricks always describe the text that comes out.
    """
    if not isinstance(text, str):
        raise ValueError(
            f"The 'text' parameter of apply_evasion must be a str; got {type(text).__name__} instead."
        )
    if not isinstance(rng, random.Random):
        raise ValueError(
            f"The 'rng' parameter of apply_evasion must be a random.Random; got {type(rng).__name__} instead."
        )
    if tricks is None:
        pool = applicable_tricks(text)
        if not pool:
            return text, ()
        # Contact-word variants and spelled digits are what sellers use most; weight them up
        # where they apply, since they have fewer targets than the character-level tricks.
        weighted = [t for t in pool for _ in range(3 if t in ("homophone", "digits") else 1)]
        k = rng.choice((1, 1, 1, 2, 2, 3))
        chosen = list(dict.fromkeys(rng.sample(weighted, min(len(weighted), k))))
    else:
        if isinstance(tricks, str):
            raise ValueError(
                f"The 'tricks' parameter of apply_evasion must be a sequence of trick names; got the str {tricks!r} instead."
            )
        unknown = [t for t in tricks if t not in TRICKS]
        if unknown:
            raise ValueError(
                f"The 'tricks' parameter of apply_evasion must hold names from {', '.join(EVASION_TRICKS)}; "
                f"got {unknown!r} instead."
            )
        chosen = list(dict.fromkeys(tricks))
    applied: list[str] = []
    for name in _ORDER:
        if name not in chosen:
            continue
        new = TRICKS[name](text, rng)
        if new != text:
            applied.append(name)
            text = new
    return text, tuple(applied)
