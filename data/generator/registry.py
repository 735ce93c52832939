"""The family registry: each family is one recipe (a distinct structure and set of parts) with an id.

The family id is the unit of the train/test split: whole families are held out, so a test score says
how the model does on recipes it never saw. The id's first segment is the family's group: one of
``model.labels.LABELS``, ``"hard_negative"`` or ``"normal"``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from data.generator.parts import Gen
from model.labels import LABELS

GROUPS: tuple[str, ...] = (*LABELS, "hard_negative", "normal")

IMAGE_KINDS: tuple[str, ...] = (
    "chat_screenshot",
    "payment_screenshot",
    "order_list",
    "product_photo",
    "parcel_pile",
    "lifestyle_photo",
)


@dataclass(frozen=True)
class Draft:
    """What a recipe returns: the text before evasion, its labels, subtype and image."""

    text: str
    labels: tuple[str, ...]
    kind: str
    image_kind: str | None


Recipe = Callable[[Gen], Draft]

#: family id -> recipe, in registration order (which is the stable order list_families reports).
FAMILIES: dict[str, Recipe] = {}
#: Training-only families, drawn in a build's own supplement call. They were written after the family
#: split was fixed: putting them through the seeded split would reshuffle which families are held
#: out (and every post's random stream), so no release could be compared with an earlier one on the
#: same test posts. They never reach validation, test or evasion.
SUPPLEMENT_FAMILIES: dict[str, Recipe] = {}
#: Opt-in training-only families (``feedguard data build --variety N``): the plain ways people sell
#: and show off (``families_variety``), drawn in a call of their own only when asked, so every
#: default build, and the release trained on it, stays what it was.
VARIETY_FAMILIES: dict[str, Recipe] = {}
#: The pools a family can be registered in: ``main`` goes through the seeded family split; the
#: others are training-only and drawn evenly in their own generator call.
POOLS: dict[str, dict[str, Recipe]] = {
    "main": FAMILIES,
    "supplement": SUPPLEMENT_FAMILIES,
    "variety": VARIETY_FAMILIES,
}


def family(fid: str, *, pool: str = "main") -> Callable[[Recipe], Recipe]:
    """Register a recipe under ``fid`` ("group/name"); the group must be a label, hard_negative or normal.

    ``pool`` is one of :data:`POOLS`: ``main`` (split into train/validation/test by family) or a
    training-only pool (``supplement``, ``variety``).
    """
    group = fid.split("/", 1)[0]
    if group not in GROUPS or "/" not in fid:
        raise ValueError(f"The family id {fid!r} must look like '<group>/<name>' with group in {GROUPS}.")
    if pool not in POOLS:
        raise ValueError(f"The family pool {pool!r} of {fid!r} must be one of {', '.join(POOLS)}.")

    def deco(fn: Recipe) -> Recipe:
        if any(fid in registered for registered in POOLS.values()):
            raise ValueError(f"The family id {fid!r} is registered twice.")
        POOLS[pool][fid] = fn
        return fn

    return deco


def pool_families(pool: str) -> dict[str, Recipe]:
    """The recipes of one pool; a clear error for an unknown pool name."""
    if pool not in POOLS:
        raise ValueError(f"The 'pool' parameter must be one of {', '.join(POOLS)}; got {pool!r} instead.")
    return POOLS[pool]


def group_of(fid: str) -> str:
    return fid.split("/", 1)[0]
