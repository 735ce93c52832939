"""Cross-account duplicate evidence: turns "similar" into "fabricated".

One screenshot under one account proves nothing; the same screenshot, its amount edited,
under 37 unrelated accounts within a week is how agent networks manufacture proof (an upline
hands the pictures and the copy to every downline). For one post this module looks up its
images and its text in the two near-duplicate indexes and reports:

* the matches (image and text), and how many *distinct other accounts* posted them — the
  number the policy turns into a fake_proof / seller bump;
* the same author's own earlier copies (re-posting the same ad all day is hard selling, not
  fabrication, so it is counted apart);
* the time window (first and last sighting) and a cluster id shared by the copies;
* sentences a moderator can read, and flat numeric features for the Scorer.

It only reads the indexes through :class:`model.signals.NearDupIndex`. Thresholds (PDQ radius,
quality gate, text similarity, time window) come from the policy file via
:class:`EvidenceConfig`; the defaults are Meta's PDQ recommendations and our measured text
threshold (see ``eval/reports/near_dup.md``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from model.hamming_index import HammingIndex
from model.image_verify import Fingerprint, VerifiedImageMatcher
from model.pdq import DEFAULT_MATCH_RADIUS, DEFAULT_MIN_QUALITY, PdqHash, hamming_distance
from model.signals import IndexedItem, Match, NearDupIndex, check_aware_datetime, check_nonempty_str, to_utc
from model.text_sketch import DEFAULT_MIN_SIMILARITY, TextSketchIndex


@dataclass(frozen=True)
class EvidenceConfig:
    """Near-duplicate settings, read from the policy file's ``near_duplicates`` section.

    ``window_days``: only copies posted within this many days of the post count (None: all).
    ``max_listed``: matches kept in :class:`Evidence` for display (counts always use all).
    """

    pdq_radius: int = DEFAULT_MATCH_RADIUS
    pdq_min_quality: int = DEFAULT_MIN_QUALITY
    text_min_similarity: float = DEFAULT_MIN_SIMILARITY
    window_days: float | None = None
    max_listed: int = 20

    def __post_init__(self) -> None:
        checks = {
            "pdq_radius": isinstance(self.pdq_radius, int) and 0 <= self.pdq_radius <= 63,
            "pdq_min_quality": isinstance(self.pdq_min_quality, int) and 0 <= self.pdq_min_quality <= 100,
            "text_min_similarity": isinstance(self.text_min_similarity, int | float)
            and 0 < self.text_min_similarity <= 1,
            "window_days": self.window_days is None
            or (isinstance(self.window_days, int | float) and self.window_days > 0),
            "max_listed": isinstance(self.max_listed, int) and self.max_listed >= 0,
        }
        for name, ok in checks.items():
            if not ok or isinstance(getattr(self, name), bool):
                raise ValueError(
                    f"The {name!r} parameter of EvidenceConfig is out of range; got {getattr(self, name)!r} instead."
                )

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> EvidenceConfig:
        """Build from a policy-file section; unknown keys are refused (a typo must not silently fall back)."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(
                f"The 'values' parameter of EvidenceConfig.from_mapping has unknown keys {unknown}; known: {sorted(known)}."
            )
        return cls(**dict(values))


@dataclass(frozen=True)
class ImageEvidence:
    """What one of the post's images matched."""

    image_index: int
    hash_hex: str
    matches: list[Match]
    other_accounts: int
    other_posts: int
    identical_posts: int
    reframed_posts: int
    self_copies: int
    min_distance: float | None
    first_seen: datetime | None


@dataclass
class Evidence:
    """Duplicate evidence for one post (see the module docstring)."""

    post_id: str
    image_matches: list[Match] = field(default_factory=list)
    text_matches: list[Match] = field(default_factory=list)
    images: list[ImageEvidence] = field(default_factory=list)
    other_accounts: int = 0
    dup_accounts_image: int = 0
    dup_accounts_text: int = 0
    dup_posts_image: int = 0
    dup_posts_text: int = 0
    self_copies_image: int = 0
    self_copies_text: int = 0
    image_min_distance: float | None = None
    text_max_similarity: float | None = None
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    cluster_id: str | None = None
    skipped_images: int = 0
    reasons: list[str] = field(default_factory=list)

    def features(self) -> dict[str, float]:
        """Flat numbers for the Scorer and the policy (missing distances become neutral values)."""
        return {
            "dup_accounts": float(self.other_accounts),
            "dup_accounts_image": float(self.dup_accounts_image),
            "dup_accounts_text": float(self.dup_accounts_text),
            "dup_posts_image": float(self.dup_posts_image),
            "dup_posts_text": float(self.dup_posts_text),
            "self_copies_image": float(self.self_copies_image),
            "self_copies_text": float(self.self_copies_text),
            "image_min_distance": -1.0 if self.image_min_distance is None else float(self.image_min_distance),
            "text_max_similarity": 0.0
            if self.text_max_similarity is None
            else float(self.text_max_similarity),
            "window_days": 0.0
            if self.first_seen is None or self.last_seen is None
            else (self.last_seen - self.first_seen).total_seconds() / 86_400.0,
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (times as ISO 8601 UTC) for the score response and the review page."""

        def match_dict(match: Match) -> dict[str, Any]:
            item = asdict(match.item)
            item["created_at"] = match.item.created_at.isoformat()
            if item["key"].startswith("mh1:"):
                del item["key"]  # a text sketch key is 700 opaque characters; nobody reads it
            return {**item, "distance": match.distance}

        return {
            "post_id": self.post_id,
            "other_accounts": self.other_accounts,
            "cluster_id": self.cluster_id,
            "first_seen": None if self.first_seen is None else self.first_seen.isoformat(),
            "last_seen": None if self.last_seen is None else self.last_seen.isoformat(),
            "features": self.features(),
            "reasons": list(self.reasons),
            "image_matches": [match_dict(m) for m in self.image_matches],
            "text_matches": [match_dict(m) for m in self.text_matches],
            "skipped_images": self.skipped_images,
        }


class EvidenceFinder:
    """Looks up a post's images and text in the duplicate indexes, and records posts into them."""

    def __init__(
        self,
        image_index: NearDupIndex | None = None,
        text_index: NearDupIndex | None = None,
        config: EvidenceConfig | None = None,
        local_matcher: VerifiedImageMatcher | None = None,
    ) -> None:
        self.config = config or EvidenceConfig()
        self.local_matcher = local_matcher
        self.image_index = (
            image_index if image_index is not None else HammingIndex(radius=self.config.pdq_radius)
        )
        self.text_index = (
            text_index
            if text_index is not None
            else TextSketchIndex(min_similarity=self.config.text_min_similarity)
        )
        for name, index in (("image_index", self.image_index), ("text_index", self.text_index)):
            if not isinstance(index, NearDupIndex):
                raise ValueError(
                    f"The {name!r} parameter of EvidenceFinder must implement NearDupIndex; got {type(index).__name__} instead."
                )

    # ---- persistence --------------------------------------------------------------------
    def save(self, directory: Path) -> None:
        """Save the indexes under ``directory/images``, ``directory/texts`` (and ``directory/local``)."""
        directory = Path(directory)
        self.image_index.save(directory / "images")
        self.text_index.save(directory / "texts")
        if self.local_matcher is not None:
            self.local_matcher.save(directory / "local")

    @classmethod
    def load(
        cls, directory: Path, config: EvidenceConfig | None = None, *, local: bool = False
    ) -> EvidenceFinder:
        """Load indexes saved by :meth:`save`; a missing directory starts empty (first run).

        ``local=True`` also loads (or starts) the crop-tolerant window of :mod:`model.image_verify`.
        """
        directory = Path(directory)
        config = config or EvidenceConfig()
        images = (
            HammingIndex.load(directory / "images")
            if (directory / "images" / "meta.json").is_file()
            else HammingIndex(radius=config.pdq_radius)
        )
        texts = (
            TextSketchIndex.load(directory / "texts")
            if (directory / "texts" / "meta.json").is_file()
            else TextSketchIndex(min_similarity=config.text_min_similarity)
        )
        matcher = None
        if local:
            matcher = (
                VerifiedImageMatcher.load(directory / "local")
                if (directory / "local" / "meta.json").is_file()
                else VerifiedImageMatcher()
            )
        return cls(images, texts, config, matcher)

    # ---- recording ----------------------------------------------------------------------
    def add_post(
        self,
        post_id: str,
        author_id: str,
        created_at: datetime,
        text_normalized: str,
        image_hashes: Sequence[PdqHash] = (),
        image_ids: Sequence[str] | None = None,
        images: Sequence[Fingerprint | Any] | None = None,
    ) -> int:
        """Index a post's images (quality-gated) and text; re-adding a post replaces it. Returns items added.

        ``images`` (decoded images or :class:`~model.image_verify.Fingerprint`, one per hash) feed
        the crop-tolerant window when this finder has one; without them only the hashes are kept.
        """
        check_nonempty_str(post_id, "post_id", "EvidenceFinder.add_post")
        check_nonempty_str(author_id, "author_id", "EvidenceFinder.add_post")
        check_aware_datetime(created_at, "created_at", "EvidenceFinder.add_post")
        hashes = self._check_hashes(image_hashes, "EvidenceFinder.add_post")
        ids = self._image_ids(post_id, len(hashes), image_ids)
        pixels = self._check_images(images, len(hashes), "EvidenceFinder.add_post")
        self.remove_post(post_id)
        image_items = [
            IndexedItem(h.hex, post_id, author_id, created_at, image_id=image_id)
            for h, image_id in zip(hashes, ids, strict=True)
            if h.passes_quality(self.config.pdq_min_quality)
        ]
        self.image_index.add(image_items)
        if self.local_matcher is not None and pixels is not None:
            for value, image_id, image in zip(hashes, ids, pixels, strict=True):
                if value.passes_quality(self.config.pdq_min_quality):
                    self.local_matcher.add(
                        IndexedItem(value.hex, post_id, author_id, created_at, image_id=image_id), image
                    )
        added = len(image_items)
        sketch = self._sketch(text_normalized)
        if sketch is not None:
            self.text_index.add([IndexedItem(sketch.to_key(), post_id, author_id, created_at)])
            added += 1
        return added

    def remove_post(self, post_id: str) -> int:
        """Remove a post from the indexes (a deleted post stops counting as evidence)."""
        removed = self.image_index.remove_post(post_id) + self.text_index.remove_post(post_id)
        if self.local_matcher is not None:
            self.local_matcher.remove_post(post_id)
        return removed

    def observe(
        self,
        post_id: str,
        author_id: str,
        created_at: datetime,
        text_normalized: str,
        image_hashes: Sequence[PdqHash] = (),
        image_ids: Sequence[str] | None = None,
        images: Sequence[Fingerprint | Any] | None = None,
    ) -> Evidence:
        """Evidence for the post against what came before it, then record it (the Scorer's one call)."""
        evidence = self.evidence_for(
            post_id, author_id, created_at, text_normalized, image_hashes, images=images
        )
        self.add_post(post_id, author_id, created_at, text_normalized, image_hashes, image_ids, images)
        return evidence

    # ---- looking up ---------------------------------------------------------------------
    def evidence_for(
        self,
        post_id: str,
        author_id: str,
        created_at: datetime,
        text_normalized: str,
        image_hashes: Sequence[PdqHash] = (),
        *,
        images: Sequence[Fingerprint | Any] | None = None,
    ) -> Evidence:
        """Near-duplicates of this post's images and text already in the indexes (the post itself excluded).

        With a crop-tolerant window and ``images`` (one per hash; fingerprints made with
        ``dihedral=True`` or decoded images), images in the window are matched by it — cropped
        and reframed copies found, same-template look-alikes rejected — and the PDQ index
        answers for everything older.
        """
        check_nonempty_str(post_id, "post_id", "EvidenceFinder.evidence_for")
        check_nonempty_str(author_id, "author_id", "EvidenceFinder.evidence_for")
        check_aware_datetime(created_at, "created_at", "EvidenceFinder.evidence_for")
        if not isinstance(text_normalized, str):
            raise ValueError(
                f"The 'text_normalized' parameter of EvidenceFinder.evidence_for must be a str; "
                f"got {type(text_normalized).__name__} instead."
            )
        hashes = self._check_hashes(image_hashes, "EvidenceFinder.evidence_for")
        pixels = self._check_images(images, len(hashes), "EvidenceFinder.evidence_for")
        evidence = Evidence(post_id=post_id)

        all_image_matches: dict[tuple[str, str], Match] = {}
        for position, image_hash in enumerate(hashes):
            if not image_hash.passes_quality(self.config.pdq_min_quality):
                evidence.skipped_images += 1
                continue
            matches = self.image_index.query(image_hash, exclude_post_id=post_id)
            if self.local_matcher is not None and pixels is not None:
                matches = self._with_local(image_hash, pixels[position], matches, post_id)
            matches = self._in_window(matches, created_at)
            others = [m for m in matches if m.item.author_id != author_id]
            evidence.images.append(
                ImageEvidence(
                    image_index=position,
                    hash_hex=image_hash.hex,
                    matches=matches[: self.config.max_listed],
                    other_accounts=len({m.item.author_id for m in others}),
                    other_posts=len({m.item.post_id for m in others}),
                    identical_posts=len({m.item.post_id for m in others if m.distance == 0}),
                    reframed_posts=len({m.item.post_id for m in others if m.item.variant == "local"}),
                    self_copies=len({m.item.post_id for m in matches if m.item.author_id == author_id}),
                    min_distance=min((m.distance for m in others), default=None),
                    first_seen=min((m.item.created_at for m in others), default=None),
                )
            )
            for match in matches:
                key = (match.item.post_id, match.item.image_id)
                if key not in all_image_matches or match.distance < all_image_matches[key].distance:
                    all_image_matches[key] = match

        image_matches = sorted(all_image_matches.values(), key=lambda m: (m.distance, m.item.created_at))
        text_matches: list[Match] = []
        sketch = self._sketch(text_normalized)
        if sketch is not None:
            text_matches = self._in_window(self.text_index.query(sketch, exclude_post_id=post_id), created_at)

        image_others = [m for m in image_matches if m.item.author_id != author_id]
        text_others = [m for m in text_matches if m.item.author_id != author_id]
        evidence.image_matches = image_matches[: self.config.max_listed]
        evidence.text_matches = text_matches[: self.config.max_listed]
        evidence.dup_accounts_image = len({m.item.author_id for m in image_others})
        evidence.dup_accounts_text = len({m.item.author_id for m in text_others})
        evidence.dup_posts_image = len({m.item.post_id for m in image_others})
        evidence.dup_posts_text = len({m.item.post_id for m in text_others})
        evidence.self_copies_image = len(
            {m.item.post_id for m in image_matches if m.item.author_id == author_id}
        )
        evidence.self_copies_text = len(
            {m.item.post_id for m in text_matches if m.item.author_id == author_id}
        )
        evidence.other_accounts = len({m.item.author_id for m in (*image_others, *text_others)})
        evidence.image_min_distance = min((m.distance for m in image_others), default=None)
        evidence.text_max_similarity = max((1.0 - m.distance for m in text_others), default=None)
        others = [*image_others, *text_others]
        if others:
            evidence.first_seen = min(m.item.created_at for m in others)
            evidence.last_seen = max(m.item.created_at for m in others)
        evidence.cluster_id = self._cluster_id(post_id, created_at, [*image_matches, *text_matches])
        evidence.reasons = self._reasons(evidence, text_others)
        return evidence

    # ---- helpers ------------------------------------------------------------------------
    def _sketch(self, text: str) -> Any:
        sketcher = getattr(self.text_index, "sketch", None)
        if sketcher is None:
            raise ValueError(
                "The 'text_index' of EvidenceFinder must offer sketch(text) to turn text into its signal."
            )
        return sketcher(text)

    def _with_local(
        self, image_hash: PdqHash, image: Fingerprint | Any, matches: list[Match], post_id: str
    ) -> list[Match]:
        """Verified window matches (distance re-expressed in PDQ bits) plus index matches outside the window."""
        assert self.local_matcher is not None
        verified = [
            Match(m.item, float(min(hamming_distance(h, m.item.key) for h in image_hash.query_hexes())))
            for m in self.local_matcher.query(image, exclude_post_id=post_id)
        ]
        seen = {(m.item.post_id, m.item.image_id) for m in verified}
        older = [
            m
            for m in matches
            if (m.item.post_id, m.item.image_id) not in seen
            and not self.local_matcher.holds(m.item.post_id, m.item.image_id)
        ]
        return sorted([*verified, *older], key=lambda m: (m.distance, m.item.created_at, m.item.post_id))

    @staticmethod
    def _check_images(images: Sequence[Any] | None, count: int, owner: str) -> list[Any] | None:
        if images is None:
            return None
        pixels = list(images)
        if len(pixels) != count:
            raise ValueError(
                f"The 'images' parameter of {owner} must hold one image per hash ({count}); got {len(pixels)} instead."
            )
        return pixels

    @staticmethod
    def _check_hashes(image_hashes: Sequence[PdqHash], owner: str) -> list[PdqHash]:
        hashes = list(image_hashes)
        for position, value in enumerate(hashes):
            if not isinstance(value, PdqHash):
                raise ValueError(
                    f"The 'image_hashes' parameter of {owner} must hold PdqHash objects; "
                    f"got {type(value).__name__} at position {position} instead."
                )
        return hashes

    @staticmethod
    def _image_ids(post_id: str, count: int, image_ids: Sequence[str] | None) -> list[str]:
        if image_ids is None:
            return [f"{post_id}#{i}" for i in range(count)]
        ids = list(image_ids)
        if len(ids) != count or not all(isinstance(i, str) and i for i in ids):
            raise ValueError(
                f"The 'image_ids' parameter of EvidenceFinder.add_post must be {count} non-empty strs "
                f"(one per image hash); got {ids!r} instead."
            )
        return ids

    def _in_window(self, matches: list[Match], created_at: datetime) -> list[Match]:
        if self.config.window_days is None:
            return matches
        window = timedelta(days=self.config.window_days)
        return [m for m in matches if abs(m.item.created_at - created_at) <= window]

    @staticmethod
    def _cluster_id(post_id: str, created_at: datetime, matches: list[Match]) -> str | None:
        """Named after the earliest post among the copies (usually the upline's original), so every copy
        seen later gets the same id without a global clustering pass."""
        if not matches:
            return None
        earliest = min(
            [(to_utc(created_at), post_id), *((m.item.created_at, m.item.post_id) for m in matches)]
        )
        return "dup-" + hashlib.sha1(earliest[1].encode("utf-8")).hexdigest()[:12]

    def _reasons(self, evidence: Evidence, text_others: list[Match]) -> list[str]:
        reasons = []
        several = len(evidence.images) > 1
        for image in evidence.images:
            which = f"image {image.image_index + 1}" if several else "this image"
            if image.other_accounts and image.first_seen is not None:
                edited = image.other_posts - image.identical_posts
                kinds = ", ".join(
                    part
                    for part in (
                        f"{image.identical_posts} identical" if image.identical_posts else "",
                        f"{edited} edited" if edited else "",
                        f"{image.reframed_posts} of them cropped or reframed" if image.reframed_posts else "",
                    )
                    if part
                )
                reasons.append(
                    f"{which.capitalize()} also appears under {image.other_accounts} other "
                    f"account{_s(image.other_accounts)} since {image.first_seen.date().isoformat()} "
                    f"({image.other_posts} post{_s(image.other_posts)}: {kinds}; "
                    f"closest {image.min_distance:.0f} of 256 bits apart)."
                )
            if image.self_copies:
                reasons.append(
                    f"The author also posted {which} in {image.self_copies} other post{_s(image.self_copies)}."
                )
        if text_others:
            accounts = evidence.dup_accounts_text
            since = min(m.item.created_at for m in text_others).date().isoformat()
            reasons.append(
                f"The same copywriting (up to {evidence.text_max_similarity:.0%} similar) was posted by {accounts} other "
                f"account{_s(accounts)} ({evidence.dup_posts_text} post{_s(evidence.dup_posts_text)}) since {since}."
            )
        if evidence.self_copies_text:
            reasons.append(
                f"The author also posted the same text in {evidence.self_copies_text} other post{_s(evidence.self_copies_text)}."
            )
        return reasons


def _s(count: int) -> str:
    return "" if count == 1 else "s"
