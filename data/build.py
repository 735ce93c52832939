"""The versioned dataset build: real text + generated posts -> splits held out by family.

Why the split is by family: scores on the generator's own recipes are no evidence
(see ANCHORS.md), so ``test`` holds whole template families (and whole slices of each
real source) that training never saw. ``evasion`` is the test posts with evasion tricks,
plus evaded variants of test posts so it is large enough to measure. ``real_normal``
is real text held out from everything. No text, once normalized, is in both ``train``
and any evaluation split: the build drops such rows and then asserts it.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import random
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal

import datasets
from tqdm.auto import tqdm

from data.accounts import simulate_feed
from data.evasion import apply_evasion
from data.generator import GeneratedPost, family_label, generate_posts, list_families
from data.manifest import HANDWRITTEN_SOURCE, IN_REPO_SOURCES, build_manifest, write_manifest
from data.sources import REAL_KINDS, SOURCES, RealText, load_real_texts
from model.labels import EVASION_TRICKS, LABELS
from model.normalize import normalize

#: Splits every build writes, in order.
SPLITS: tuple[str, ...] = ("train", "validation", "test", "evasion", "real_normal")

#: Share of the families of each family_label group (and of each real source's slices) per split.
FAMILY_SPLIT: dict[str, float] = {"train": 0.7, "validation": 0.1, "test": 0.2}

#: Real text is cut into this many slices per source; slices are split like families.
REAL_SLICES = 10

#: Mix of standalone real posts across real kinds (reviews read most like feed posts).
REAL_MIX: dict[str, float] = {"review": 0.45, "news": 0.25, "quote": 0.15, "chat": 0.15}

#: Real kinds handed to the generator to embed inside posts (testimonials, reviews, chat).
EMBED_KINDS: tuple[str, ...] = ("review", "chat")

#: Simulated feed starts here (fixed, so builds are reproducible).
FEED_START = datetime(2024, 5, 6, 8, 0, tzinfo=timezone(timedelta(hours=8)))

#: Dataset columns, in order.
FEATURES = datasets.Features(
    {
        "post_id": datasets.Value("string"),
        "author_id": datasets.Value("string"),
        "created_at": datasets.Value("string"),
        "text": datasets.Value("string"),
        "labels": datasets.Sequence(datasets.Value("string")),
        **{label: datasets.Value("int8") for label in LABELS},
        "family": datasets.Value("string"),
        "kind": datasets.Value("string"),
        "tricks": datasets.Sequence(datasets.Value("string")),
        "source": datasets.Value("string"),
        "image_paths": datasets.Sequence(datasets.Value("string")),
        "image_template": datasets.Value("string"),
        "network_id": datasets.Value("string"),
        "copy_group": datasets.Value("string"),
    }
)


@dataclass(frozen=True)
class BuildPlan:
    """How big a build is. ``generated`` is what the generator is asked for train families."""

    generated: int  # posts generated for train families (call A); eval families get eval_ratio of it
    eval_ratio: float  # call B size relative to call A (only val/test families are kept from it)
    real_share: float  # standalone real posts per kept generated post
    real_normal: int  # size of the held-out real_normal split
    images: int  # images simulate_feed renders
    evade_normal_share: float  # share of test normal posts that get an evaded variant in `evasion`
    #: posts drawn from the training-only families (call C; see registry.SUPPLEMENT_FAMILIES)
    supplement: int = 0
    #: posts drawn from the opt-in variety families (call D; registry.VARIETY_FAMILIES); 0 in every
    #: named plan, set by ``feedguard data build --variety N``
    variety: int = 0
    #: add the hand-written training posts of data/handwritten/ (train only); False in every named
    #: plan, set by ``feedguard data build --handwritten``
    handwritten: bool = False
    #: how many rounds of writers (HANDWRITTEN_ROUNDS) ``handwritten`` adds: 1 is the first four
    #: writers alone (r13's data), so a build made before round 2 existed reads the same rows
    handwritten_rounds: int = 1


PLANS: dict[str, BuildPlan] = {
    "small": BuildPlan(
        generated=2400,
        eval_ratio=0.6,
        real_share=0.12,
        real_normal=300,
        images=150,
        evade_normal_share=0.25,
        supplement=150,
    ),
    "default": BuildPlan(
        generated=40000,
        eval_ratio=0.6,
        real_share=0.12,
        real_normal=3000,
        images=3200,
        evade_normal_share=0.25,
        supplement=3000,
    ),
}


def assign_families(families: Sequence[str], group_of: dict[str, str], seed: int) -> dict[str, str]:
    """Map each family to train/validation/test, deterministically, within each group.

    Every group (normal, hard_negative, each label, each real kind) gets families in every
    split when it has at least three, so each label is measured on families training never saw.
    """
    by_group: dict[str, list[str]] = {}
    for fam in sorted(families):
        by_group.setdefault(group_of[fam], []).append(fam)
    out: dict[str, str] = {}
    for group, fams in sorted(by_group.items()):
        random.Random(f"{seed}:families:{group}").shuffle(fams)
        n = len(fams)
        n_test = max(1, round(FAMILY_SPLIT["test"] * n)) if n >= 3 else 0
        n_val = max(1, round(FAMILY_SPLIT["validation"] * n)) if n >= 3 else 0
        for i, fam in enumerate(fams):
            out[fam] = "test" if i < n_test else "validation" if i < n_test + n_val else "train"
    return out


@dataclass
class _RealPools:
    holdout: list[RealText]  # for real_normal only
    by_split: dict[str, list[tuple[str, RealText]]]  # split -> (family, text)


def _real_pools(seed: int, plan: BuildPlan) -> _RealPools:
    """Slice each real source: a held-out part for real_normal, the rest in REAL_SLICES families."""
    holdout: list[RealText] = []
    slices: dict[str, list[RealText]] = {}
    per_source_holdout = _share(plan.real_normal, {k: REAL_MIX[k] for k in REAL_KINDS})
    for kind in REAL_KINDS:
        texts = load_real_texts(kind)
        random.Random(f"{seed}:real:{kind}").shuffle(texts)
        n_hold = min(per_source_holdout[kind], len(texts) // 5)
        holdout.extend(texts[:n_hold])
        for i, rt in enumerate(texts[n_hold:]):
            slices.setdefault(f"real/{kind}/{i % REAL_SLICES:02d}", []).append(rt)
    fam_split = assign_families(list(slices), {f: f.rsplit("/", 1)[0] for f in slices}, seed)
    by_split: dict[str, list[tuple[str, RealText]]] = {s: [] for s in FAMILY_SPLIT}
    for fam in sorted(slices):
        by_split[fam_split[fam]].extend((fam, rt) for rt in slices[fam])
    for s, items in by_split.items():
        random.Random(f"{seed}:realmix:{s}").shuffle(items)
    return _RealPools(holdout=holdout, by_split=by_split)


def _share(total: int, weights: dict[str, float]) -> dict[str, int]:
    """Split an integer total by weights (largest remainders), so parts always sum to total."""
    s = sum(weights.values())
    raw = {k: total * w / s for k, w in weights.items()}
    out = {k: int(v) for k, v in raw.items()}
    for k in sorted(raw, key=lambda k: out[k] - raw[k])[: total - sum(out.values())]:
        out[k] += 1
    return out


def _real_post(rt: RealText, family: str) -> GeneratedPost:
    kind = SOURCES[rt.source].kind
    return GeneratedPost(
        text=rt.text,
        labels=(),
        family=family,
        kind=f"normal/real_{kind}",
        tricks=(),
        source=f"real:{rt.source}",
        image_kind=None,
        copy_group=None,
    )


def _pick_real(pool: list[tuple[str, RealText]], n: int) -> list[GeneratedPost]:
    """n standalone real posts from a split's pool, mixed across kinds by REAL_MIX."""
    by_kind: dict[str, list[tuple[str, RealText]]] = {}
    for fam, rt in pool:
        by_kind.setdefault(SOURCES[rt.source].kind, []).append((fam, rt))
    want = _share(n, {k: REAL_MIX[k] for k in REAL_KINDS if by_kind.get(k)})
    out: list[GeneratedPost] = []
    for kind in REAL_KINDS:
        out.extend(_real_post(rt, fam) for fam, rt in by_kind.get(kind, [])[: want.get(kind, 0)])
    return out


def _evasion_variants(test_posts: Sequence[GeneratedPost], seed: int, plan: BuildPlan) -> list[GeneratedPost]:
    """Evaded copies of test posts that carry no trick: every positive, a share of normal ones.

    Normal posts with tricks keep the split honest: tricks alone must not make a post spam.
    """
    rng = random.Random(f"{seed}:evasion")
    out: list[GeneratedPost] = []
    for post in test_posts:
        if post.tricks or post.source.startswith("real:"):
            continue
        if not post.labels and rng.random() >= plan.evade_normal_share:
            continue
        text, tricks = apply_evasion(post.text, rng)
        if tricks and text != post.text:
            out.append(dataclasses.replace(post, text=text, tricks=tuple(tricks)))
    return out


#: The hand-written training posts (data/handwritten/README.md): train only, opt-in.
HANDWRITTEN_DIR: Path = Path(__file__).resolve().parent / "handwritten"
#: One folder per round of writers, oldest first; a build adds the first ``handwritten_rounds``.
#: Rounds stay apart so that adding writers never changes what an older build's command reads.
HANDWRITTEN_ROUNDS: tuple[Path, ...] = (
    HANDWRITTEN_DIR,
    HANDWRITTEN_DIR / "round2",
    HANDWRITTEN_DIR / "round3",
    HANDWRITTEN_DIR / "round4",
)


def _check_rounds(rounds: Any, param: str, func: str) -> None:
    if isinstance(rounds, bool) or not isinstance(rounds, int) or not 1 <= rounds <= len(HANDWRITTEN_ROUNDS):
        raise ValueError(
            f"The '{param}' parameter of {func} must be an int in 1..{len(HANDWRITTEN_ROUNDS)};"
            f" got {rounds!r} instead."
        )


def load_handwritten_rows(rounds: int) -> list[dict[str, Any]]:
    """The hand-written training posts of the first ``rounds`` rounds, all of source and family
    ``handwritten`` (the repeat options and the model card count them as one source)."""
    _check_rounds(rounds, "rounds", "load_handwritten_rows")
    return [
        row
        for folder in HANDWRITTEN_ROUNDS[:rounds]
        for row in load_extra_rows(folder, source=HANDWRITTEN_SOURCE, group=HANDWRITTEN_SOURCE)
    ]


def load_extra_rows(
    path: Path,
    source: Literal["moderator", "handwritten"] = "moderator",
    group: str | None = None,
    parameter: str = "extra_sources",
) -> list[dict[str, Any]]:
    """Labelled posts to add to train: a directory of *.jsonl files, or a datasets dir.

    ``source`` says where they come from (moderator-decision exports, or the hand-written
    training posts); the manifest counts rows per source. Their family is ``extra/<group>``,
    the folder's name unless ``group`` is given (rounds of hand-written posts in folders of
    their own are one family). ``parameter`` is the build_dataset parameter that named the folder,
    so a bad folder's error points at the right one. JSONL rows: ``{"text": str,
    "labels": [label, ...]}`` with optional post_id, author_id, created_at, kind, tricks.
    A ``save_to_disk`` directory needs a ``text`` column plus either a ``labels`` list
    column or one 0/1 column per label.
    """
    path = Path(path)
    if not path.is_dir():
        raise ValueError(
            f"The '{parameter}' parameter of build_dataset must list directories; got {str(path)!r} instead."
        )
    records: list[tuple[str, dict[str, Any]]] = []
    if (path / "dataset_info.json").is_file() or (path / "dataset_dict.json").is_file():
        loaded = datasets.load_from_disk(str(path))
        parts = [loaded[s] for s in sorted(loaded)] if isinstance(loaded, datasets.DatasetDict) else [loaded]
        for part in parts:
            records.extend((f"{path}:{i}", r) for i, r in enumerate(part))
    else:
        files = sorted(path.glob("*.jsonl"))
        if not files:
            raise ValueError(
                f"The '{parameter}' directory {str(path)!r} holds no *.jsonl files and no saved dataset."
            )
        for f in files:
            # split("\n"), not splitlines(): export-decisions writes U+2028 and U+0085 raw inside posts.
            for n, line in enumerate(f.read_text(encoding="utf-8").split("\n"), 1):
                if line.strip():
                    try:
                        records.append((f"{f}:{n}", json.loads(line)))
                    except json.JSONDecodeError as e:
                        raise ValueError(f"{f}:{n} is not valid JSON ({e.msg}).") from e
    return [_extra_row(where, r, i, group or path.name, source) for i, (where, r) in enumerate(records)]


def _extra_row(where: str, r: Any, i: int, group: str, source: str) -> dict[str, Any]:
    if not isinstance(r, dict) or not isinstance(r.get("text"), str) or not r["text"].strip():
        raise ValueError(f"{where}: each extra row needs a non-empty 'text' string.")
    if "labels" in r and isinstance(r["labels"], list | tuple):
        labels = [str(x) for x in r["labels"]]
    elif all(k in r for k in LABELS):
        labels = [k for k in LABELS if int(r[k])]
    else:
        raise ValueError(
            f"{where}: each extra row needs 'labels' (a list) or 0/1 columns {', '.join(LABELS)}."
        )
    bad = [x for x in labels if x not in LABELS]
    if bad:
        raise ValueError(f"{where}: labels {bad} are not among {', '.join(LABELS)}.")
    tricks = r.get("tricks") or []
    if not isinstance(tricks, list | tuple) or any(t not in EVASION_TRICKS for t in tricks):
        raise ValueError(
            f"{where}: 'tricks' must list names among {', '.join(EVASION_TRICKS)}; got {tricks!r}."
        )
    return {
        "post_id": str(r.get("post_id") or r.get("id") or f"x{i:06d}"),
        "author_id": str(r.get("author_id") or ""),
        "created_at": str(r.get("created_at") or ""),
        "text": r["text"],
        "labels": [x for x in LABELS if x in labels],
        "family": f"extra/{group}",
        "kind": str(r.get("kind") or IN_REPO_SOURCES[source]["kind"]),
        "tricks": [t for t in EVASION_TRICKS if t in tricks],
        "source": source,
        "image_paths": [],
        "image_template": None,
        "network_id": None,
        "copy_group": None,
    }


def _with_label_columns(row: dict[str, Any]) -> dict[str, Any]:
    out = {k: row[k] for k in FEATURES if k not in LABELS}
    out["labels"] = [label for label in LABELS if label in row["labels"]]  # one canonical order
    out["tricks"] = list(row["tricks"])
    out["image_paths"] = [str(p) for p in row["image_paths"]]
    for label in LABELS:
        out[label] = int(label in out["labels"])
    return {k: out[k] for k in FEATURES}


@functools.lru_cache(maxsize=200_000)
def _norm(text: str) -> str:
    """Normalized text, cached: the build and its leak check normalize the same texts twice."""
    return normalize(text).text


def _drop_overlap(
    posts: dict[str, list[GeneratedPost]], train_extra: Sequence[dict[str, Any]]
) -> dict[str, int]:
    """Drop evaluation posts whose normalized text is in train (and validation posts also in test)."""
    train_norm = {_norm(p.text) for p in tqdm(posts["train"], desc="normalize train", leave=False)}
    train_norm.update(_norm(r["text"]) for r in train_extra)
    test_norm = {_norm(p.text) for p in posts["test"]}
    dropped: dict[str, int] = {}
    for split in ("validation", "test", "evasion", "real_normal"):
        banned = train_norm | test_norm if split == "validation" else train_norm
        kept = [p for p in posts[split] if _norm(p.text) not in banned]
        dropped[split] = len(posts[split]) - len(kept)
        posts[split] = kept
    return dropped


def check_no_leak(dd: datasets.DatasetDict) -> None:
    """Raise AssertionError if any normalized text or template family is in train and an eval split."""
    train_norm = {_norm(t) for t in dd["train"]["text"]}
    train_fams = set(dd["train"]["family"])
    for split in SPLITS[1:]:
        shared = [t for t in dd[split]["text"] if _norm(t) in train_norm]
        if shared:
            raise AssertionError(
                f"{len(shared)} {split} texts also in train after normalization, e.g. {shared[0]!r}"
            )
        fams = set(dd[split]["family"]) & train_fams
        if fams:
            raise AssertionError(f"families in both train and {split}: {sorted(fams)[:5]}")


def build_dataset(
    out_dir: Path,
    size: Literal["small", "default"],
    seed: int = 13,
    extra_sources: Sequence[Path] = (),
    variety: int = 0,
    handwritten: bool = False,
    handwritten_rounds: int = 1,
    handwritten_extra: Sequence[Path] = (),
) -> Path:
    """Build the dataset into ``out_dir`` and return ``out_dir``.

    Writes ``out_dir/dataset`` (a DatasetDict, load with ``datasets.load_from_disk``),
    ``out_dir/manifest.json`` and ``out_dir/images/``. Same seed and size, same rows and hashes.
    ``variety`` adds that many training posts from the opt-in variety families (``BuildPlan.variety``);
    ``handwritten`` adds the hand-written training posts (``BuildPlan.handwritten``), of the first
    ``handwritten_rounds`` rounds of writers (``HANDWRITTEN_ROUNDS``). ``handwritten_extra`` adds
    folders of other hand-written posts (the retired outside holdouts, ``data/handwritten/retired*``)
    the way the rounds are added: as source ``handwritten``, giving way to held-out rows, so that
    they neither change a held-out split nor count as moderator decisions, as ``extra_sources`` rows do.
    """
    if size not in PLANS:
        raise ValueError(
            f"The 'size' parameter of build_dataset must be one of {', '.join(PLANS)}; got {size!r} instead."
        )
    if isinstance(variety, bool) or not isinstance(variety, int) or variety < 0:
        raise ValueError(
            f"The 'variety' parameter of build_dataset must be an int >= 0; got {variety!r} instead."
        )
    if not isinstance(handwritten, bool):
        raise ValueError(
            f"The 'handwritten' parameter of build_dataset must be a bool; got {handwritten!r} instead."
        )
    _check_rounds(handwritten_rounds, "handwritten_rounds", "build_dataset")
    if handwritten_rounds > 1 and not handwritten:
        raise ValueError(
            "The 'handwritten_rounds' parameter of build_dataset needs handwritten=True"
            f" (rounds of posts that are not added); got {handwritten_rounds} with handwritten=False."
        )
    plan = replace(
        PLANS[size], variety=variety, handwritten=handwritten, handwritten_rounds=handwritten_rounds
    )
    return build_with_plan(
        Path(out_dir),
        plan,
        size=size,
        seed=seed,
        extra_sources=extra_sources,
        handwritten_extra=handwritten_extra,
    )


def build_with_plan(
    out_dir: Path,
    plan: BuildPlan,
    *,
    size: str,
    seed: int = 13,
    extra_sources: Sequence[Path] = (),
    handwritten_extra: Sequence[Path] = (),
) -> Path:
    """build_dataset with an explicit plan (tests use tiny plans to check determinism quickly)."""
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(
            f"The 'seed' parameter of build_dataset must be a non-negative int; got {seed!r} instead."
        )
    extra_rows = [row for p in extra_sources for row in load_extra_rows(Path(p))]
    retired_rows = [
        row
        for p in handwritten_extra
        for row in load_extra_rows(Path(p), source=HANDWRITTEN_SOURCE, parameter="handwritten_extra")
    ]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in ("dataset", "images"):
        if (out_dir / stale).exists():
            shutil.rmtree(out_dir / stale)
    (out_dir / "manifest.json").unlink(missing_ok=True)

    stages = tqdm(total=6, desc="data build", unit="stage")
    stages.set_postfix_str("real text")
    pools = _real_pools(seed, plan)
    families = list_families()
    gen_groups = {f: family_label(f) for f in families}
    fam_split = assign_families(families, gen_groups, seed)
    stages.update()

    stages.set_postfix_str("generate")
    embed = {
        s: [rt.text for _, rt in pools.by_split[s] if SOURCES[rt.source].kind in EMBED_KINDS]
        for s in FAMILY_SPLIT
    }
    posts: dict[str, list[GeneratedPost]] = {s: [] for s in SPLITS}
    gen_a = generate_posts(plan.generated, seed * 1000 + 1, embed["train"])
    posts["train"] = [p for p in gen_a if fam_split[p.family] == "train"]
    gen_b = generate_posts(
        round(plan.generated * plan.eval_ratio), seed * 1000 + 2, embed["validation"] + embed["test"]
    )
    for p in gen_b:
        if fam_split[p.family] != "train":
            posts[fam_split[p.family]].append(p)
    # Call C, last and on its own seed, so calls A and B (every held-out post) are what they were
    # before supplement families existed.
    posts["train"].extend(generate_posts(plan.supplement, seed * 1000 + 3, embed["train"], pool="supplement"))
    # Call D, only when asked: a build without it is byte-identical to one made before it existed.
    if plan.variety:
        posts["train"].extend(generate_posts(plan.variety, seed * 1000 + 4, embed["train"], pool="variety"))
    for split in FAMILY_SPLIT:
        posts[split].extend(_pick_real(pools.by_split[split], round(plan.real_share * len(posts[split]))))
        random.Random(f"{seed}:order:{split}").shuffle(posts[split])
    stages.update()

    stages.set_postfix_str("evasion")
    posts["evasion"] = [p for p in posts["test"] if p.tricks] + _evasion_variants(posts["test"], seed, plan)
    posts["real_normal"] = [_real_post(rt, f"real/{SOURCES[rt.source].kind}/holdout") for rt in pools.holdout]
    stages.update()

    stages.set_postfix_str("de-duplicate")
    dropped = _drop_overlap(posts, extra_rows)
    # Hand-written posts give way to held-out ones (not the other way round, as moderator rows do):
    # with or without them, every held-out row is the one the build would have anyway.
    hand_rows = (load_handwritten_rows(plan.handwritten_rounds) if plan.handwritten else []) + retired_rows
    if hand_rows:
        held_out = {_norm(p.text) for split in SPLITS[1:] for p in posts[split]}
        kept_hand = [r for r in hand_rows if _norm(r["text"]) not in held_out]
        dropped[HANDWRITTEN_SOURCE] = len(hand_rows) - len(kept_hand)
        extra_rows = [*extra_rows, *kept_hand]
    stages.update()

    stages.set_postfix_str("accounts + images")
    # One feed for every post, so post ids are unique across splits and networks span the feed.
    # Evasion rows that are test rows keep the test row's identity.
    test_ids = {id(p) for p in posts["test"]}
    flat: list[GeneratedPost] = []
    where: list[tuple[str, int]] = []
    for split in SPLITS:
        for i, p in enumerate(posts[split]):
            if split == "evasion" and id(p) in test_ids:
                continue
            flat.append(p)
            where.append((split, i))
    fed = simulate_feed(flat, out_dir, seed, start=FEED_START, n_images=plan.images)
    if len(fed) != len(flat):
        raise RuntimeError(f"simulate_feed returned {len(fed)} rows for {len(flat)} posts.")
    rows: dict[str, list[dict[str, Any] | None]] = {s: [None] * len(posts[s]) for s in SPLITS}
    by_obj: dict[int, dict[str, Any]] = {}
    for (split, i), row in zip(where, fed, strict=True):
        rows[split][i] = _with_label_columns(row)
        by_obj[id(posts[split][i])] = rows[split][i]  # type: ignore[assignment]
    for i, p in enumerate(posts["evasion"]):
        if rows["evasion"][i] is None:
            rows["evasion"][i] = by_obj[id(p)]
    rows["train"].extend(_with_label_columns(r) for r in extra_rows)
    stages.update()

    stages.set_postfix_str("save")
    bars_were_on = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()  # one progress bar for the build, not one per split
    dd = datasets.DatasetDict(
        {s: datasets.Dataset.from_list(_complete(rows[s]), features=FEATURES) for s in SPLITS}
    )
    check_no_leak(dd)
    dd.save_to_disk(str(out_dir / "dataset"))
    manifest = build_manifest(
        dd,
        out_dir=out_dir,
        seed=seed,
        size=size,
        plan=dataclasses.asdict(plan),
        dropped_overlap=dropped,
        extra_sources=[str(p) for p in extra_sources],
        handwritten_extra=[str(p) for p in handwritten_extra],
    )
    write_manifest(manifest, out_dir / "manifest.json")
    if bars_were_on:
        datasets.enable_progress_bars()
    stages.update()
    stages.close()
    return out_dir


def _complete(rows: Iterable[dict[str, Any] | None]) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        if r is None:
            raise RuntimeError(
                "a post lost its simulated-feed row; simulate_feed must return one row per post."
            )
        out.append(r)
    return out


def load_build(out_dir: Path) -> datasets.DatasetDict:
    """Load a finished build's splits (``out_dir/dataset``)."""
    path = Path(out_dir) / "dataset"
    if not path.is_dir():
        raise ValueError(
            f"The 'out_dir' parameter of load_build must be a build directory holding dataset/; got {str(out_dir)!r}."
        )
    return datasets.load_from_disk(str(path))
