"""Simulated accounts, agent networks and time: who posts what, when, with which images.

The strongest evidence of fabricated proof is reuse: an upline hands one screenshot template and one piece of
copywriting to dozens of downline agents, who post it, edited, within hours. Ordinary users post their own photos and
occasionally a genuine screenshot nobody else has. This module turns a list of generated posts into such a feed,
writes every image file, and records the ground truth (which template each image came from, which network an
account belongs to) that the near-duplicate and account signals are measured against.
"""

from __future__ import annotations

import bisect
import itertools
import json
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from PIL import Image

from data.images.compose import collage, product_shot
from data.images.edits import apply_edit
from data.images.parcels import render_parcel_pile
from data.images.photos import photo_view, photos_by_role
from data.images.screenshots import render_screenshot, sample_field_edits

IMAGE_KINDS = (
    "chat_screenshot",
    "payment_screenshot",
    "order_list",
    "product_photo",
    "parcel_pile",
    "lifestyle_photo",
)
TRUTH_FILE = "feed_truth.json"  # per-account roles and per-image template + edits, beside the dataset
ROLES = ("ordinary", "lone_seller", "upline", "downline")
_SCREEN_KIND = {"chat_screenshot": "chat", "payment_screenshot": "payment", "order_list": "orders"}
_SCREEN_SIZES = ((540, 960), (540, 960), (480, 1040))
_WINDOW = timedelta(days=7)
_MAX_IMAGES_PER_POST = 9  # a feed post holds at most a 3x3 grid
# Reposters' image edits and how often each is made (platform re-encoding dominates).
_REPOST_EDITS = ("jpeg", "resize", "crop", "border", "sticker", "brightness_contrast", "rotate", "flip")
_REPOST_WEIGHTS = (5, 3, 2, 2, 2, 2, 0.4, 0.6)
_HOUR_WEIGHTS = (1, 0.5, 0.3, 0.2, 0.2, 0.4, 1, 2, 3, 3, 3, 3, 4, 3, 3, 3, 3, 3, 4, 5, 6, 6, 5, 3)
_NETWORK_SHARE_WITHOUT_COPY = 0.4  # seller posts without a copy group that still come from a network
_IMAGE_WEIGHT = {"upline": 6.0, "downline": 6.0, "lone_seller": 3.0, "ordinary": 1.0}
_POSTS_PER_NETWORK = 150
_POSTS_PER_LONE_SELLER = 25
_POSTS_PER_ORDINARY_USER = 5


@dataclass
class Account:
    author_id: str
    role: str
    network_id: str | None
    bursts: list[datetime] = field(default_factory=list)


@dataclass(frozen=True)
class Template:
    """What an image is made from; ``tid`` is the ground-truth duplicate cluster."""

    tid: str
    image_kind: str
    params: tuple


@dataclass
class _Network:
    network_id: str
    upline: Account
    downlines: list[Account]
    bursts: list[datetime]
    copy_anchor: dict[str, datetime] = field(default_factory=dict)
    copy_cycle: dict[str, itertools.cycle] = field(default_factory=dict)


def _check_args(posts: Sequence[Any], out_dir: Path, seed: int, start: datetime, n_images: int) -> None:
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValueError(f"The 'seed' parameter of simulate_feed must be an int; got {seed!r} instead.")
    if not isinstance(start, datetime):
        raise ValueError(f"The 'start' parameter of simulate_feed must be a datetime; got {start!r} instead.")
    if not isinstance(n_images, int) or n_images < 0:
        raise ValueError(
            f"The 'n_images' parameter of simulate_feed must be an int >= 0; got {n_images!r} instead."
        )
    if not isinstance(out_dir, (str, Path)):
        raise ValueError(f"The 'out_dir' parameter of simulate_feed must be a path; got {out_dir!r} instead.")
    for i, post in enumerate(posts):
        kind = getattr(post, "image_kind", None)
        if kind is not None and kind not in IMAGE_KINDS:
            raise ValueError(
                f"The 'posts' parameter of simulate_feed must hold posts with image_kind in {IMAGE_KINDS} or None; "
                f"got {kind!r} at index {i} instead."
            )


class _Ids:
    """Opaque account ids: random numbers, so an id says nothing about the account's role."""

    def __init__(self, rng: random.Random, n: int) -> None:
        self._numbers = iter(rng.sample(range(10 ** max(6, len(str(n)) + 2)), n))

    def next(self) -> str:
        return f"u{next(self._numbers):07d}"


def _rand_time(rng: random.Random, start: datetime, days: int = 7) -> datetime:
    day = rng.randrange(days)
    hour = rng.choices(range(24), weights=_HOUR_WEIGHTS)[0]
    return start + timedelta(days=day, hours=hour, minutes=rng.randrange(60), seconds=rng.randrange(60))


def _clip(t: datetime, start: datetime) -> datetime:
    return min(max(t, start), start + _WINDOW - timedelta(seconds=1))


class _Feed:
    """Holds the rng, accounts, template pools and the image writer for one simulate_feed call."""

    def __init__(self, seed: int, start: datetime, out_dir: Path) -> None:
        self.rng = random.Random(f"feedguard-feed:{seed}")
        self.start = start
        self.out_dir = out_dir
        self.pools: dict[tuple[str, str], list[Template]] = {}
        self.template_uses: dict[str, int] = {}
        self.copy_template: dict[tuple[str, str], int] = {}
        self.products = photos_by_role("product")
        self.lifestyle = photos_by_role("lifestyle")

    # ---- templates -------------------------------------------------------------------------------------------------
    def new_template(self, image_kind: str, *, personal: bool = False, proof: bool = True) -> Template:
        rng = self.rng
        if image_kind in _SCREEN_KIND:
            kind = _SCREEN_KIND[image_kind]
            style, content = rng.randrange(10**6), rng.randrange(10**9)
            size = rng.choice(_SCREEN_SIZES)
            topic = "personal" if personal else "proof"
            return Template(
                f"shot:{kind}:s{style}:c{content}" + (":personal" if personal else ""),
                image_kind,
                (kind, style, content, size, topic),
            )
        if image_kind == "product_photo":
            name, view = rng.choice(self.products), rng.randrange(1, 10**9)
            ad = rng.randrange(10**9) if proof and rng.random() < 0.6 else None
            return Template(
                f"photo:{name}:v{view}" + (f":a{ad}" if ad is not None else ""), image_kind, (name, view, ad)
            )
        if image_kind == "parcel_pile":
            pile = rng.randrange(10**9)
            return Template(f"parcels:{pile}", image_kind, (pile,))
        # lifestyle: sellers show off one shot (car, trip); ordinary users often post collages of several shots
        n_views = 1 if proof or rng.random() < 0.35 else rng.randint(2, 4)
        views = tuple((rng.choice(self.lifestyle), rng.randrange(1, 10**9)) for _ in range(n_views))
        if n_views == 1:
            return Template(f"photo:{views[0][0]}:v{views[0][1]}", image_kind, (views, None))
        layout = rng.randrange(10**9)
        return Template(f"collage:{layout}", image_kind, (views, layout))

    def pool_template(self, owner: str, image_kind: str, copy_group: str | None) -> Template:
        """A template from an owner's (network's or lone seller's) small pool; one copy group, one template."""
        key = (owner, image_kind)
        if key not in self.pools:
            size = self.rng.randint(1, 3) if image_kind != "product_photo" else self.rng.randint(2, 5)
            self.pools[key] = [self.new_template(image_kind) for _ in range(size)]
        pool = self.pools[key]
        if copy_group is None:
            return self.rng.choice(pool)
        index = self.copy_template.setdefault((copy_group, image_kind), self.rng.randrange(len(pool)))
        return pool[index % len(pool)]

    @staticmethod
    def render(template: Template, field_edits: dict[str, str] | None) -> Image.Image:
        p = template.params
        if template.image_kind in _SCREEN_KIND:
            kind, style, content, size, topic = p
            return render_screenshot(
                kind, content, style_seed=style, edits=field_edits, size=size, topic=topic
            )
        if template.image_kind == "product_photo":
            return product_shot(p[0], p[1], p[2])
        if template.image_kind == "parcel_pile":
            return render_parcel_pile(p[0])
        views, layout = p
        if layout is None:
            return photo_view(views[0][0], views[0][1])
        return collage([photo_view(name, view, max_side=480) for name, view in views], layout)

    # ---- one image -------------------------------------------------------------------------------------------------
    def make_image(self, template: Template, shared: bool, path_stem: str) -> tuple[str, str]:
        """Render one posted variant of ``template``; returns (relative path, edit description)."""
        rng = self.rng
        uses = self.template_uses.get(template.tid, 0)
        self.template_uses[template.tid] = uses + 1
        notes: list[str] = []
        field_edits = None
        reposted = shared and uses > 0
        if reposted and template.image_kind in _SCREEN_KIND and rng.random() < 0.75:
            fields = tuple(f for f in ("amount", "name", "time") if rng.random() < 0.6) or ("amount",)
            field_edits = sample_field_edits(rng, fields)
            notes.append("fields:" + ",".join(sorted(field_edits)))
        image = self.render(template, field_edits)
        n_edits = rng.choice((0, 1, 1, 2, 2, 3)) if reposted else rng.choice((0, 0, 1))
        kinds = (
            rng.choices(_REPOST_EDITS, weights=_REPOST_WEIGHTS, k=n_edits) if reposted else ["jpeg"] * n_edits
        )
        for kind in dict.fromkeys(kinds):
            image, _ = apply_edit(image, kind, rng)
            notes.append(kind)
        is_shot = template.image_kind in _SCREEN_KIND
        ext = "png" if is_shot and rng.random() < 0.25 else "jpg"
        relative = f"images/{path_stem}.{ext}"
        target = self.out_dir / relative
        if ext == "png":
            image.save(target, format="PNG", compress_level=1)
        else:
            image.save(target, format="JPEG", quality=88)
        return relative, ";".join(notes)


def _image_counts(rng: random.Random, posts: Sequence[Any], n_images: int, roles: Sequence[str]) -> list[int]:
    """How many images each post carries, so that the total is about ``n_images``.

    When there are fewer images than posts that could carry one, network and seller posts are picked more often
    (weighted sampling without replacement): reuse across accounts is what the duplicate signals are measured on,
    and a sparse sample would leave almost every template with a single use.
    """
    counts = [0] * len(posts)
    candidates = [i for i, p in enumerate(posts) if getattr(p, "image_kind", None)]
    if not candidates or n_images == 0:
        return counts
    if n_images <= len(candidates):
        # Efraimidis-Spirakis: the n largest keys u ** (1 / weight) are a weighted sample without replacement.
        keys = sorted(
            ((rng.random() ** (1.0 / _IMAGE_WEIGHT[roles[i]]), i) for i in candidates), reverse=True
        )
        for _, i in keys[:n_images]:
            counts[i] = 1
        return counts
    for i in candidates:
        counts[i] = 1
    extra = min(n_images, len(candidates) * _MAX_IMAGES_PER_POST) - len(candidates)
    open_slots = list(candidates)
    while extra > 0 and open_slots:
        j = rng.randrange(len(open_slots))
        counts[open_slots[j]] += 1
        extra -= 1
        if counts[open_slots[j]] >= _MAX_IMAGES_PER_POST:
            open_slots[j] = open_slots[-1]
            open_slots.pop()
    return counts


def simulate_feed(
    posts: Sequence[Any],
    out_dir: Path,
    seed: int,
    *,
    start: datetime,
    n_images: int,
    progress: bool = False,
) -> list[dict]:
    """Give every post an author, a time and images; write images under ``out_dir/images/``.

    ``posts`` are ``data.generator.GeneratedPost`` objects (any object with the same fields works). Returns one dict
    per post, in input order, with post_id, author_id, created_at (ISO 8601), image_paths (relative to out_dir),
    image_template (ground-truth duplicate cluster of the first image, or None), network_id, and the post's own fields
    as plain values (text, labels, family, kind, tricks, source, copy_group). Finer ground truth (each account's
    role; each image's template and the edits made to it) goes to ``out_dir/feed_truth.json``. Call once per
    dataset: post ids ("p000123") and image file names are unique within one call.
    """
    out_dir = Path(out_dir)
    _check_args(posts, out_dir, seed, start, n_images)
    (out_dir / "images").mkdir(parents=True, exist_ok=True)
    feed = _Feed(seed, start, out_dir)
    rng = feed.rng

    seller = [i for i, p in enumerate(posts) if tuple(p.labels)]
    normal = [i for i, p in enumerate(posts) if not tuple(p.labels)]
    network_posts = [
        i for i in seller if posts[i].copy_group is not None or rng.random() < _NETWORK_SHARE_WITHOUT_COPY
    ]
    in_network = set(network_posts)
    lone_posts = [i for i in seller if i not in in_network]

    n_networks = math.ceil(len(network_posts) / _POSTS_PER_NETWORK) if network_posts else 0
    downline_counts = [rng.randint(5, 60) for _ in range(n_networks)]
    n_lone = math.ceil(len(lone_posts) / _POSTS_PER_LONE_SELLER) if lone_posts else 0
    n_ordinary = max(1, math.ceil(len(normal) / _POSTS_PER_ORDINARY_USER)) if normal else 0
    ids = _Ids(rng, n_networks + sum(downline_counts) + n_lone + n_ordinary)

    networks: list[_Network] = []
    for k, n_down in enumerate(downline_counts):
        nid = f"n{k:03d}"
        # Campaign bursts start by day 6, so that the reposts trailing a burst stay inside the week.
        bursts = sorted(_rand_time(rng, start, 6) for _ in range(rng.randint(6, 20)))
        upline = Account(ids.next(), "upline", nid)
        downs = [Account(ids.next(), "downline", nid) for _ in range(n_down)]
        networks.append(_Network(nid, upline, downs, bursts))
    lone = [
        Account(
            ids.next(),
            "lone_seller",
            None,
            sorted(_rand_time(rng, start, 6) for _ in range(rng.randint(3, 10))),
        )
        for _ in range(n_lone)
    ]
    ordinary = [Account(ids.next(), "ordinary", None) for _ in range(n_ordinary)]
    # A few ordinary users post a lot, most post a little.
    ordinary_cum = list(itertools.accumulate(1.0 / math.sqrt(k + 1) for k in range(n_ordinary)))

    copy_network: dict[str, _Network] = {}
    author: list[Account] = [None] * len(posts)  # type: ignore[list-item]
    created: list[datetime] = [start] * len(posts)
    for i in network_posts:
        cg = posts[i].copy_group
        if cg is not None:
            net = copy_network.setdefault(cg, networks[rng.randrange(n_networks)])
            if cg not in net.copy_cycle:
                members = [net.upline, *net.downlines]
                rng.shuffle(members)
                net.copy_cycle[cg] = itertools.cycle(members)
                net.copy_anchor[cg] = rng.choice(net.bursts)
            author[i] = next(net.copy_cycle[cg])
            anchor = net.copy_anchor[cg]
        else:
            net = networks[rng.randrange(n_networks)]
            author[i] = net.upline if rng.random() < 0.2 else rng.choice(net.downlines)
            anchor = rng.choice(net.bursts)
        delay = rng.uniform(0, 20) if author[i].role == "upline" else 20 + rng.expovariate(1 / 120)
        created[i] = _clip(anchor + timedelta(minutes=delay, seconds=rng.randrange(60)), start)
    for i in lone_posts:
        acc = rng.choice(lone)
        author[i] = acc
        created[i] = _clip(rng.choice(acc.bursts) + timedelta(minutes=rng.uniform(0, 90)), start)
    for i in normal:
        k = bisect.bisect_left(ordinary_cum, rng.random() * ordinary_cum[-1])
        author[i] = ordinary[min(k, n_ordinary - 1)]
        created[i] = _rand_time(rng, start)

    counts = _image_counts(rng, posts, n_images, [a.role for a in author])
    iterator = range(len(posts))
    if progress:
        from tqdm import tqdm

        iterator = tqdm(iterator, desc="images", unit="post")
    rows = []
    images_truth: list[dict[str, str]] = []
    for i in iterator:
        post, acc = posts[i], author[i]
        post_id = f"p{i:06d}"
        paths: list[str] = []
        templates: list[str] = []
        notes: list[str] = []
        for slot in range(counts[i]):
            kind = post.image_kind
            if acc.role in ("upline", "downline"):
                template = feed.pool_template(acc.network_id, kind, post.copy_group if slot == 0 else None)
                shared = True
            elif acc.role == "lone_seller":
                template = feed.pool_template(acc.author_id, kind, None)
                shared = True
            else:
                template = feed.new_template(kind, personal=True, proof=False)
                shared = False
            path, note = feed.make_image(template, shared, f"{post_id}_{slot}")
            paths.append(path)
            templates.append(template.tid)
            notes.append(note)
        images_truth.extend(
            {"path": path, "post_id": post_id, "author_id": acc.author_id, "template": tid, "edits": note}
            for path, tid, note in zip(paths, templates, notes, strict=True)
        )
        rows.append(
            {
                "post_id": post_id,
                "author_id": acc.author_id,
                "created_at": created[i].isoformat(timespec="seconds"),
                "image_paths": paths,
                "image_template": templates[0] if templates else None,
                "network_id": acc.network_id,
                "text": post.text,
                "labels": list(post.labels),
                "family": post.family,
                "kind": post.kind,
                "tricks": list(post.tricks),
                "source": post.source,
                "copy_group": post.copy_group,
            }
        )
    accounts = (
        [net.upline for net in networks] + [a for net in networks for a in net.downlines] + lone + ordinary
    )
    truth = {
        "seed": seed,
        "accounts": sorted(
            ({"author_id": a.author_id, "role": a.role, "network_id": a.network_id} for a in accounts),
            key=lambda a: a["author_id"],
        ),
        "images": images_truth,
    }
    (out_dir / TRUTH_FILE).write_text(json.dumps(truth, ensure_ascii=False, indent=0), encoding="utf-8")
    return rows
