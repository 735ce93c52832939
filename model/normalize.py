"""Text normalizer: undo the spellings sellers use to slip past filters.

Training and scoring both call :func:`normalize`, so the model only ever sees
normalized text and cannot learn a surface form the service will never show it.
It also reports what it undid, because evasion is itself evidence and a reason a
moderator can read ("薇信 was folded to 微信").

The steps run in a fixed order, each recording the trick it undoes (names from
:data:`model.labels.EVASION_TRICKS`):

1. zero-width characters dropped (``separator``);
2. NFKC, which folds full-width letters and digits (``fullwidth``) and circled or
   parenthesised digits (``digits``);
3. traditional to simplified characters with OpenCC (``traditional``);
4. spelled-out digit runs (一三八…, 壹贰叁…) and spaced digit runs (1 3 8 …) joined (``digits``);
5. symbols, spaces or emoji inserted between single characters removed (``separator``);
6. variant spellings of contact words folded to 微信 / QQ, and known homophones (``homophone``);
7. pinyin and initials of sales and recruitment words replaced by the words (``pinyin``).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

from model.normalize_tables import (
    CONTACT_PREFIXES,
    CONTACT_VARIANTS_AFTER_PREFIX,
    CONTACT_VARIANTS_ALWAYS,
    HOMOPHONE_WORDS,
    ORDINARY_AFTER_ASK,
    PINYIN_WORDS,
    SPELLED_DIGITS,
    TRADITIONAL_AMBIGUOUS,
)

MAX_TEXT_CHARS = 100_000


@dataclass(frozen=True)
class Undo:
    """One evasion undone: the trick, the fragment as posted, what it became."""

    trick: str
    original: str
    replacement: str


@dataclass(frozen=True)
class NormalizedText:
    """The normalized text plus what was undone to get there."""

    text: str
    original: str
    undone: tuple[Undo, ...] = field(default=())

    @property
    def tricks(self) -> tuple[str, ...]:
        """Distinct trick names undone, in first-seen order."""
        return tuple(dict.fromkeys(u.trick for u in self.undone))


#: A post's text as every text model takes it: raw, or already normalized. A caller that normalized
#: a post for its own use (the Scorer reads the tricks undone, the blend feeds two models) passes the
#: :class:`NormalizedText` on, so the post is normalized once on the scoring path, not once per model.
PostText = str | NormalizedText


_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\ufeff\u00ad]")
_FULLWIDTH = re.compile("[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]+")
_ENCLOSED_DIGITS = re.compile("[\u2460-\u249b\u24ea-\u24ff\u2776-\u2793\u3251-\u325f\u32b1-\u32bf]+")
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# Decorative symbols sellers drop between characters. Spaces count only inside a run of
# single characters ("招 代 理"), never between words ("今天 天气"), see _SPACED_RUN.
_DECOR = " \t·•・‧∙●○◆◇■□▪▫★☆✦✧✩✪✫✬✭✮✯✰※✖✕✗✘×*#_|/~^`'\"\\-.❤♥♡❥❣💕💗💖💓💞💘✨⭐🌟🔥💰💸🉐㊙"
_DECOR_CLASS = f"[{_DECOR}\ufe0f\u20e3]"
# A run of >= 2 single CJK characters or Latin letters, each followed by 1-3 decorations, then
# the rest of the word ("别/嫌/我/刷屏", "招 代 理").
_SPACED_RUN = re.compile(rf"(?<![{_CJK}A-Za-z])(?:[{_CJK}A-Za-z]{_DECOR_CLASS}{{1,3}}){{2,}}[{_CJK}A-Za-z]+")
# One strong decoration wedged inside a word: 月入过✖万. Hearts and sparkles are left alone: between
# two words of an ordinary post ("好开心❤谢谢") they are affection, not a dodge.
_STRONG_DECOR = "✖✕✗✘×※丨"
_WEDGED = re.compile(rf"(?<=[{_CJK}])[{_STRONG_DECOR}]\ufe0f?(?=[{_CJK}])")
_SPACED_DIGITS = re.compile(r"(?<!\d)\d(?:[\s.\-·_*/|,]{1,2}\d){4,}(?!\d)")
_SPELLED_DIGIT_RUN = re.compile("[" + "".join(SPELLED_DIGITS) + "]{5,}")
_MULTISPACE = re.compile(r"[ \t]+")


def _record(undone: list[Undo], trick: str) -> Callable[[re.Match[str], str], str]:
    def keep(match: re.Match[str], replacement: str) -> str:
        if match.group(0) != replacement:
            undone.append(Undo(trick, match.group(0), replacement))
        return replacement

    return keep


@functools.lru_cache(maxsize=1)
def _t2s() -> Callable[[str], str]:
    from opencc import OpenCC

    return OpenCC("t2s").convert


def _undo_traditional(text: str, undone: list[Undo]) -> str:
    simplified = _t2s()(text)
    if simplified == text or len(simplified) != len(text):
        return simplified
    changed = [i for i, (a, b) in enumerate(zip(text, simplified, strict=True)) if a != b]
    telling = [i for i in changed if text[i] not in TRADITIONAL_AMBIGUOUS]
    if len(telling) >= 2 or (telling and len(text) <= 20):
        start, end = changed[0], changed[-1] + 1
        undone.append(Undo("traditional", text[start:end], simplified[start:end]))
    return simplified


def _fold_wide_forms(text: str, undone: list[Undo]) -> str:
    for match in _FULLWIDTH.finditer(text):
        undone.append(Undo("fullwidth", match.group(0), unicodedata.normalize("NFKC", match.group(0))))
    for match in _ENCLOSED_DIGITS.finditer(text):
        undone.append(Undo("digits", match.group(0), unicodedata.normalize("NFKC", match.group(0))))
    return unicodedata.normalize("NFKC", text)


def _join_digits(text: str, undone: list[Undo]) -> str:
    keep = _record(undone, "digits")
    text = _SPELLED_DIGIT_RUN.sub(lambda m: keep(m, "".join(SPELLED_DIGITS[c] for c in m.group(0))), text)
    return _SPACED_DIGITS.sub(lambda m: keep(m, re.sub(r"\D", "", m.group(0))), text)


def _drop_separators(text: str, undone: list[Undo]) -> str:
    keep = _record(undone, "separator")
    text = _SPACED_RUN.sub(lambda m: keep(m, re.sub(_DECOR_CLASS, "", m.group(0))), text)
    return _WEDGED.sub(lambda m: keep(m, ""), text)


@functools.lru_cache(maxsize=1)
def _contact_patterns() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    def alternation(words: dict[str, str]) -> str:
        return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))

    always = re.compile(
        rf"(?<![A-Za-z])(?:{alternation(CONTACT_VARIANTS_ALWAYS)})(?![A-Za-z])", re.IGNORECASE
    )
    prefixes = "|".join(re.escape(p) for p in sorted(CONTACT_PREFIXES, key=len, reverse=True))
    # A Latin word must not run on into more letters (加vip); a character that also starts ordinary
    # words must not run on into one (加威力, 扣分).
    bounded = "|".join(
        re.escape(w) + ("(?![A-Za-z])" if w.isascii() else f"(?![{_CJK}])" if w in ORDINARY_AFTER_ASK else "")
        for w in sorted(CONTACT_VARIANTS_AFTER_PREFIX, key=len, reverse=True)
    )
    after_prefix = re.compile(rf"(?P<ask>{prefixes})\s?(?P<word>{bounded})", re.IGNORECASE)
    homophones = re.compile(alternation(HOMOPHONE_WORDS))
    return always, after_prefix, homophones


def _lookup(table: dict[str, str], fragment: str) -> str:
    return table.get(fragment) or table.get(fragment.lower()) or table[fragment.strip().lower()]


_ASK_SPELLED = {"+": "加", "➕": "加"}


def _fold_contact_words(text: str, undone: list[Undo]) -> str:
    keep = _record(undone, "homophone")
    always, after_prefix, homophones = _contact_patterns()
    text = always.sub(lambda m: keep(m, _lookup(CONTACT_VARIANTS_ALWAYS, m.group(0))), text)
    text = after_prefix.sub(
        lambda m: keep(
            m,
            _ASK_SPELLED.get(m.group("ask"), m.group("ask"))
            + _lookup(CONTACT_VARIANTS_AFTER_PREFIX, m.group("word")),
        ),
        text,
    )
    return homophones.sub(lambda m: keep(m, HOMOPHONE_WORDS[m.group(0)]), text)


@functools.lru_cache(maxsize=1)
def _pinyin_pattern() -> re.Pattern[str]:
    words = sorted(PINYIN_WORDS, key=len, reverse=True)
    spaced = "|".join(r"\s?".join(re.escape(part) for part in w.split(" ")) for w in words)
    return re.compile(rf"(?<![A-Za-z])(?:{spaced})(?![A-Za-z])", re.IGNORECASE)


def _replace_pinyin(text: str, undone: list[Undo]) -> str:
    keep = _record(undone, "pinyin")

    def chinese(match: re.Match[str]) -> str:
        key = re.sub(r"\s", "", match.group(0)).lower()
        return keep(match, _PINYIN_BY_JOINED[key])

    return _pinyin_pattern().sub(chinese, text)


_PINYIN_BY_JOINED = {w.replace(" ", ""): zh for w, zh in PINYIN_WORDS.items()}


def normalized(text: PostText) -> NormalizedText:
    """``text`` normalized; a :class:`NormalizedText` is taken as already done (it is what
    :func:`normalize` returns) and returned as is."""
    return text if isinstance(text, NormalizedText) else normalize(text)


def normalize(text: str) -> NormalizedText:
    """Normalize one post's text and record every evasion it undid.

    Raises ``ValueError`` for a non-string or a text over :data:`MAX_TEXT_CHARS`
    characters (callers enforce their own, lower, limits first).
    """
    if not isinstance(text, str):
        raise ValueError(
            f"The 'text' parameter of normalize must be a str; got {type(text).__name__} instead."
        )
    if len(text) > MAX_TEXT_CHARS:
        raise ValueError(
            f"The 'text' parameter of normalize must be at most {MAX_TEXT_CHARS} characters; got {len(text)}."
        )
    undone: list[Undo] = []
    out = text
    zero_width = _ZERO_WIDTH.findall(out)
    if zero_width:
        undone.append(Undo("separator", "".join(zero_width), ""))
        out = _ZERO_WIDTH.sub("", out)
    out = _fold_wide_forms(out, undone)
    out = _undo_traditional(out, undone)
    out = _join_digits(out, undone)
    out = _drop_separators(out, undone)
    out = _fold_contact_words(out, undone)
    out = _replace_pinyin(out, undone)
    out = "\n".join(_MULTISPACE.sub(" ", line).strip() for line in out.splitlines())
    out = re.sub(r"\n{3,}", "\n\n", out).strip()
    return NormalizedText(text=out, original=text, undone=tuple(undone))
