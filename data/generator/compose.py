"""Top level of the generator: pick families, draw posts, copy upline scripts, apply evasion.

The mix of groups is fixed by ``GROUP_WEIGHTS`` and families inside a group are used round-robin, so
every family appears as soon as ``n`` allows and a split by family gets balanced pieces. A share of
seller posts are downline copies of an earlier post of the same family (the upline's script, shared
via ``copy_group``), because reused copywriting is what the near-duplicate signal is measured on.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from data.evasion import apply_evasion
from data.generator import (  # noqa: F401  (register families)
    families_contrast,
    families_everyday,
    families_life,
    families_mlm,
    families_sell,
    families_siblings,
    families_story,
    families_variety,
)
from data.generator import lexicon as lx
from data.generator.parts import Gen
from data.generator.proof import PROOF_CLAIMS, with_proof_label
from data.generator.registry import FAMILIES, GROUPS, POOLS, Draft, group_of, pool_families

#: Share of each group in a generated batch (normal and hard negatives are the majority, as in feeds).
GROUP_WEIGHTS: dict[str, float] = {
    "normal": 0.30,
    "hard_negative": 0.22,
    "hard_sell": 0.20,
    "recruitment": 0.14,
    "fake_proof": 0.14,
}
#: Share of seller posts that are a downline's copy of an earlier post of the same family.
COPY_RATE: float = 0.10
#: Real sentences outside this length range are not used inside generated posts.
REAL_LEN: tuple[int, int] = (4, 80)


@dataclass(frozen=True)
class GeneratedPost:
    """One generated post and everything the build, the split and the image simulator need to know."""

    text: str
    labels: tuple[str, ...]
    family: str
    kind: str
    tricks: tuple[str, ...]
    source: str
    image_kind: str | None
    copy_group: str | None


def list_families(*, pool: str = "main") -> list[str]:
    """Every family id of ``pool`` (``registry.POOLS``), in a stable order (registration order)."""
    return list(pool_families(pool))


def family_label(family: str) -> str:
    """The family's group: "normal", "hard_negative" or one of LABELS (its primary label)."""
    if not any(family in registered for registered in POOLS.values()):
        raise ValueError(
            f"The 'family' parameter of family_label must be a known family id; got {family!r} instead."
        )
    return group_of(family)


def _check_rate(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
        raise ValueError(
            f"The '{name}' parameter of generate_posts must be a number in [0, 1]; got {value!r} instead."
        )
    return float(value)


def _clean_real(real_sentences: Sequence[str]) -> tuple[str, ...]:
    if isinstance(real_sentences, str):
        raise ValueError(
            "The 'real_sentences' parameter of generate_posts must be a sequence of str; got a single str instead."
        )
    lo, hi = REAL_LEN
    out: dict[str, None] = {}
    for s in real_sentences:
        if not isinstance(s, str):
            raise ValueError(
                f"The 'real_sentences' parameter of generate_posts must hold str items; got {type(s).__name__} instead."
            )
        s = " ".join(s.split())
        if lo <= len(s) <= hi:
            out[s] = None
    return tuple(out)


def _plan(n: int, rng: random.Random) -> list[str]:
    """Family of each post: group counts by weight, families round-robin in a shuffled order."""
    counts = {g: int(n * w) for g, w in GROUP_WEIGHTS.items()}
    order = list(GROUP_WEIGHTS)
    for i in range(n - sum(counts.values())):
        counts[order[i % len(order)]] += 1
    plan: list[str] = []
    for g in GROUPS:
        fams = [f for f in FAMILIES if group_of(f) == g]
        rng.shuffle(fams)
        plan.extend(fams[i % len(fams)] for i in range(counts[g]))
    rng.shuffle(plan)
    return plan


def _even_plan(n: int, rng: random.Random, families: Sequence[str]) -> list[str]:
    """Family of each post of a training-only pool: its families round-robin, shuffled."""
    fams = list(families)
    rng.shuffle(fams)
    plan = [fams[i % len(fams)] for i in range(n)] if fams else []
    rng.shuffle(plan)
    return plan


def _downline_edit(text: str, rng: random.Random) -> str:
    """How a downline reposts the upline's copy: verbatim, or with an emoji, signature or tweak."""
    r = rng.random()
    if r < 0.45:
        return text
    if r < 0.65:
        return (
            text
            + rng.choice(("", "\n"))
            + "".join(rng.choice(lx.EMOJI_SOFT) for _ in range(rng.randint(1, 3)))
        )
    if r < 0.8:
        return f"{text}\n——{rng.choice(lx.NAMES)}"
    if r < 0.9:
        return rng.choice(lx.EMOJI_SELL) + text
    return text.replace("\n\n", "\n") if "\n\n" in text else text + "！"


def generate_posts(
    n: int,
    seed: int,
    real_sentences: Sequence[str] = (),
    *,
    evasion_rate: float = 0.4,
    normal_evasion_rate: float = 0.03,
    pool: str = "main",
) -> list[GeneratedPost]:
    """Generate ``n`` labelled posts, deterministic for ``seed``.

    ``real_sentences`` (reviews, chat lines, news sentences) are embedded in fake testimonials, hard
    negatives and normal posts alike; such posts have source "generated+real". Evasion tricks go on
    ``evasion_rate`` of seller posts and ``normal_evasion_rate`` of the others. ``pool`` other than
    ``main`` draws from that training-only pool instead (``registry.POOLS``), evenly.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"The 'n' parameter of generate_posts must be an int >= 0; got {n!r} instead.")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"The 'seed' parameter of generate_posts must be an int; got {seed!r} instead.")
    evasion_rate = _check_rate("evasion_rate", evasion_rate)
    normal_evasion_rate = _check_rate("normal_evasion_rate", normal_evasion_rate)
    real = _clean_real(real_sentences)
    rng = random.Random(seed)
    recipes = pool_families(pool)
    plan = _plan(n, rng) if pool == "main" else _even_plan(n, rng, recipes)

    drafts: list[Draft] = []
    sources: list[str] = []
    for fid in plan:
        g = Gen(random.Random(rng.getrandbits(64)), real)
        d = with_proof_label(recipes[fid](g), group_of(fid), not PROOF_CLAIMS.isdisjoint(g.drawn))
        drafts.append(d)
        sources.append("generated+real" if g.used_real else "generated")

    texts = [d.text for d in drafts]
    groups: list[str | None] = [None] * n
    seen: dict[str, list[int]] = {}
    copy_rng = random.Random(rng.getrandbits(64))
    for i, (fid, d) in enumerate(zip(plan, drafts, strict=True)):
        if not d.labels:
            continue
        earlier = seen.setdefault(fid, [])
        if earlier and copy_rng.random() < COPY_RATE:
            j = copy_rng.choice(earlier)
            gid = groups[j] or f"cg-{seed}-{j}"
            groups[j] = groups[i] = gid
            drafts[i] = drafts[j]
            sources[i] = sources[j]
            texts[i] = _downline_edit(texts[j], copy_rng)
        else:
            earlier.append(i)

    posts: list[GeneratedPost] = []
    ev_rng = random.Random(rng.getrandbits(64))
    for i, (fid, d) in enumerate(zip(plan, drafts, strict=True)):
        text, tricks = texts[i], ()
        rate = evasion_rate if d.labels else normal_evasion_rate
        if ev_rng.random() < rate:
            text, tricks = apply_evasion(text, ev_rng)
        posts.append(
            GeneratedPost(text, tuple(d.labels), fid, d.kind, tricks, sources[i], d.image_kind, groups[i])
        )
    return posts
