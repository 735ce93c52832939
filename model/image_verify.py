"""Crop-tolerant image matching with verification: ORB local features + an aligned block comparison.

PDQ alone has two blind spots that matter for fabricated proof (numbers in
``eval/reports/near_dup.md``):

* geometry — a crop of 8 % moves a PDQ hash ~80 bits, and a "screenshot of a screenshot" (the
  image inside a phone frame) 50-120 bits: both look like unrelated images;
* templates — two *different* payment notices of the same app differ only in a few small text
  fields, so their PDQ hashes can be 22-30 bits apart: inside the match radius.

This module adds, per indexed image, a small fingerprint: ORB keypoints (positions + 256-bit
descriptors) and a grayscale thumbnail. A query is matched in two ways —

1. PDQ candidates (the usual radius, dihedral variants included), aligned by the dihedral
   transform whose hash matched;
2. local-feature candidates: ORB descriptors voted per indexed image (FAISS binary k-NN with
   Lowe's ratio test), aligned by a RANSAC similarity transform (rotation, uniform scale,
   translation — what crops, borders and resizes do);

— and every candidate is *verified*: the query thumbnail is warped onto the candidate's, both
are cut into blocks, and a block counts as changed when its zero-mean normalized correlation
drops (brightness and contrast changes keep correlation; new text does not). A repost changes
few blocks (a sticker, an edited amount); a different screenshot of the same template changes
many (every row of a different conversation). The match decision is "changed fraction of the
overlap <= ``max_changed``" with enough overlap.

Cost, per indexed image: ~300 descriptors x 32 B + points + a <=192-px thumbnail, about 30 KB
(vs 32 B for a PDQ hash), and a query costs ORB extraction plus a k-NN over all stored
descriptors, so this layer is meant for a bounded window of recent images (the weeks in which
a network spreads a template), not for the whole history; PDQ keeps covering that.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import cv2
import faiss
import numpy as np
from PIL import Image

from model.hamming_index import HammingIndex
from model.pdq import DEFAULT_MATCH_RADIUS, DEFAULT_MIN_QUALITY, PdqHash, hamming_distance, hash_image
from model.signals import IndexedItem, Match, check_nonempty_str

#: Longest side of the image ORB runs on (PDQ uses the same 512 px decode).
FEATURE_SIDE = 512
#: Longest side of the stored thumbnail that verification compares.
THUMB_SIDE = 192
#: ORB keypoints kept per image (strongest first).
ORB_FEATURES = 300
#: Block size (thumbnail pixels) of the verification grid.
BLOCK = 8
#: Neighbours per query descriptor when voting for local-feature candidates.
_VOTE_NEIGHBOURS = 16


@dataclass(frozen=True)
class VerifyConfig:
    """Thresholds of the local-feature matcher (the policy file may override them).

    Defaults were chosen on the edit suite (``python -m eval.edit_suite``), where a repost
    changes at most ~8 % of the blocks and a same-template distractor at least ~12 %.
    """

    pdq_radius: int = DEFAULT_MATCH_RADIUS
    pdq_min_quality: int = DEFAULT_MIN_QUALITY
    max_changed: float = 0.10
    min_overlap: float = 0.5
    ratio: float = 0.8
    max_descriptor_distance: int = 48
    min_votes: int = 8
    max_candidates: int = 8
    min_inliers: int = 8
    ransac_pixels: float = 3.0
    block_min_std: float = 6.0
    block_min_correlation: float = 0.5

    def __post_init__(self) -> None:
        for name in ("max_changed", "min_overlap", "ratio", "block_min_correlation"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
                raise ValueError(f"The {name!r} parameter of VerifyConfig must be in [0, 1]; got {value!r} instead.")
        for name in ("pdq_radius", "max_descriptor_distance", "min_votes", "max_candidates", "min_inliers"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"The {name!r} parameter of VerifyConfig must be a non-negative int; got {value!r} instead.")


@dataclass(frozen=True, eq=False)
class Fingerprint:
    """What verification needs of one image: its PDQ hash, ORB features and a grayscale thumbnail.

    ``points`` are in thumbnail pixel coordinates.
    """

    pdq: PdqHash
    points: np.ndarray  # (k, 2) float32
    descriptors: np.ndarray  # (k, 32) uint8
    thumb: np.ndarray  # (h, w) uint8

    @property
    def nbytes(self) -> int:
        return 32 + self.points.nbytes + self.descriptors.nbytes + self.thumb.nbytes


@dataclass(frozen=True)
class Verification:
    """Why a candidate was accepted or not (for reasons and for tuning)."""

    accepted: bool
    route: str  # "pdq" or "local"
    changed: float
    overlap: float
    inliers: int = 0


def _fit(image: Image.Image, side: int) -> Image.Image:
    if image.mode != "RGB":
        image = image.convert("RGB")
    if max(image.size) > side:
        image = image.copy()
        image.thumbnail((side, side))
    return image


_ORB_LOCK = threading.Lock()
_ORB: cv2.ORB | None = None


def _orb() -> cv2.ORB:
    global _ORB
    with _ORB_LOCK:
        if _ORB is None:
            _ORB = cv2.ORB_create(nfeatures=ORB_FEATURES)
        return _ORB


def fingerprint(image: Image.Image, *, dihedral: bool = True) -> Fingerprint:
    """Fingerprint a decoded image (any size; it is shrunk to 512 px first, as for PDQ)."""
    if not isinstance(image, Image.Image):
        raise ValueError(f"The 'image' parameter of fingerprint must be a PIL image; got {type(image).__name__} instead.")
    base = _fit(image, FEATURE_SIDE)
    pdq = hash_image(base, dihedral=dihedral)
    gray = np.asarray(base.convert("L"))
    keypoints, descriptors = cv2.ORB_create(nfeatures=ORB_FEATURES).detectAndCompute(gray, None)
    thumb_image = base.convert("L")
    thumb_image.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.BOX)
    thumb = np.asarray(thumb_image, dtype=np.uint8)
    scale = thumb.shape[1] / gray.shape[1]
    if descriptors is None or not keypoints:
        points = np.zeros((0, 2), dtype=np.float32)
        descriptors = np.zeros((0, 32), dtype=np.uint8)
    else:
        points = (np.array([k.pt for k in keypoints], dtype=np.float32) + 0.5) * scale - 0.5
    return Fingerprint(pdq, points, np.ascontiguousarray(descriptors, dtype=np.uint8), thumb)


# ---- the block comparison ---------------------------------------------------------------------
def _dihedral_warp(thumb: np.ndarray, variant: int) -> np.ndarray:
    """Undo the dihedral transform ``variant`` (PDQ's order) on the query so it faces like the original."""
    # The variant-th hash of the *query* equals the original's hash when the query is the
    # original transformed by the inverse of that variant, so apply the variant itself.
    ops = {
        0: lambda a: a,
        1: lambda a: np.rot90(a, 1),  # rotate 90
        2: lambda a: np.rot90(a, 2),
        3: lambda a: np.rot90(a, 3),
        4: lambda a: a[::-1, :],  # PDQ "flipx": mirror about the horizontal axis
        5: lambda a: a[:, ::-1],  # PDQ "flipy": mirror about the vertical axis
        6: lambda a: a.T,  # flip about the main diagonal
        7: lambda a: np.rot90(a, 2).T,  # flip about the anti-diagonal
    }
    return np.ascontiguousarray(ops[variant](thumb))


def changed_fraction(
    warped: np.ndarray, valid: np.ndarray, reference: np.ndarray, config: VerifyConfig
) -> tuple[float, float]:
    """(fraction of compared blocks that changed, fraction of the reference's blocks compared)."""
    h, w = reference.shape
    by, bx = h // BLOCK, w // BLOCK
    if by == 0 or bx == 0:
        return 1.0, 0.0

    def blocks(a: np.ndarray) -> np.ndarray:
        return a[: by * BLOCK, : bx * BLOCK].reshape(by, BLOCK, bx, BLOCK).transpose(0, 2, 1, 3).reshape(by, bx, -1)

    a = blocks(warped.astype(np.float32))
    b = blocks(reference.astype(np.float32))
    inside = blocks(valid.astype(np.float32)).min(axis=2) > 0.5
    compared = int(inside.sum())
    if compared == 0:
        return 1.0, 0.0
    a = a - a.mean(axis=2, keepdims=True)
    b = b - b.mean(axis=2, keepdims=True)
    sa = np.sqrt((a * a).mean(axis=2))
    sb = np.sqrt((b * b).mean(axis=2))
    correlation = (a * b).mean(axis=2) / np.maximum(sa * sb, 1e-6)
    textured_a, textured_b = sa >= config.block_min_std, sb >= config.block_min_std
    changed = np.where(
        textured_a & textured_b,
        correlation < config.block_min_correlation,
        # one side flat, the other textured: new or removed content (unless both are flat)
        (textured_a | textured_b) & (np.abs(sa - sb) >= config.block_min_std),
    )
    return float((changed & inside).sum() / compared), compared / float(by * bx)


def _compare_full_frame(query: Fingerprint, candidate: Fingerprint, variant: int, config: VerifyConfig) -> tuple[float, float]:
    """Changed fraction after undoing ``variant`` and stretching the query over the whole candidate."""
    turned = _dihedral_warp(query.thumb, variant)
    h, w = candidate.thumb.shape
    resized = cv2.resize(turned, (w, h), interpolation=cv2.INTER_AREA)
    return changed_fraction(resized, np.ones_like(resized), candidate.thumb, config)


def _refine(query_thumb: np.ndarray, reference: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Sub-pixel refinement of a query->reference affine map by ECC on the thumbnails.

    RANSAC on ORB keypoints lands within a pixel or two; at thumbnail scale that is enough to
    make every text block "change". ECC maximizes the correlation of the two thumbnails
    directly. If it does not converge, the RANSAC estimate is kept.
    """
    inverse = cv2.invertAffineTransform(matrix.astype(np.float32)).astype(np.float32)
    try:
        _, refined = cv2.findTransformECC(
            reference.astype(np.float32),
            query_thumb.astype(np.float32),
            inverse,
            cv2.MOTION_AFFINE,
            (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 40, 1e-4),
            None,
            3,
        )
    except cv2.error:
        return matrix
    return cv2.invertAffineTransform(refined)


def _compare_affine(query: Fingerprint, candidate: Fingerprint, matrix: np.ndarray, config: VerifyConfig) -> tuple[float, float]:
    h, w = candidate.thumb.shape
    matrix = _refine(query.thumb, candidate.thumb, matrix)
    warped = cv2.warpAffine(query.thumb, matrix, (w, h), flags=cv2.INTER_LINEAR, borderValue=0)
    valid = cv2.warpAffine(np.full(query.thumb.shape, 255, np.uint8), matrix, (w, h), flags=cv2.INTER_NEAREST, borderValue=0)
    return changed_fraction(warped, valid, candidate.thumb, config)


def _similarity_transform(
    query: Fingerprint, candidate: Fingerprint, pairs: np.ndarray, config: VerifyConfig
) -> tuple[np.ndarray | None, int]:
    """RANSAC similarity transform query->candidate from (query_index, candidate_index) pairs."""
    if len(pairs) < max(3, config.min_inliers):
        return None, 0
    source = query.points[pairs[:, 0]].reshape(-1, 1, 2)
    target = candidate.points[pairs[:, 1]].reshape(-1, 1, 2)
    matrix, inliers = cv2.estimateAffinePartial2D(
        source, target, method=cv2.RANSAC, ransacReprojThreshold=config.ransac_pixels, maxIters=2000, confidence=0.99
    )
    if matrix is None or inliers is None:
        return None, 0
    return matrix, int(inliers.sum())


def verify_pair(query: Fingerprint, candidate: Fingerprint, config: VerifyConfig | None = None) -> Verification:
    """Decide whether ``query`` is a repost of ``candidate`` (used for tuning and for one-off checks)."""
    config = config or VerifyConfig()
    result = _verify_pdq(query, candidate, config)
    if result is not None and result.accepted:
        return result
    pairs = _ratio_pairs(query.descriptors, candidate.descriptors, config)
    local = _verify_local(query, candidate, pairs, config)
    return local if local is not None else (result or Verification(False, "local", 1.0, 0.0))


def _verify_pdq(query: Fingerprint, candidate: Fingerprint, config: VerifyConfig) -> Verification | None:
    hexes = query.pdq.query_hexes()
    distances = [hamming_distance(h, candidate.pdq.hex) for h in hexes]
    variant = int(np.argmin(distances))
    if distances[variant] > config.pdq_radius:
        return None
    changed, overlap = _compare_full_frame(query, candidate, variant, config)
    accepted = changed <= config.max_changed and overlap >= config.min_overlap
    return Verification(accepted, "pdq", changed, overlap)


def _verify_local(query: Fingerprint, candidate: Fingerprint, pairs: np.ndarray, config: VerifyConfig) -> Verification | None:
    matrix, inliers = _similarity_transform(query, candidate, pairs, config)
    if matrix is None or inliers < config.min_inliers:
        return None
    changed, overlap = _compare_affine(query, candidate, matrix, config)
    accepted = changed <= config.max_changed and overlap >= config.min_overlap
    return Verification(accepted, "local", changed, overlap, inliers)


def _ratio_pairs(query: np.ndarray, candidate: np.ndarray, config: VerifyConfig) -> np.ndarray:
    """(query_index, candidate_index) pairs passing Lowe's ratio test, by brute force (one candidate)."""
    if len(query) < 2 or len(candidate) < 2:
        return np.zeros((0, 2), dtype=np.int64)
    index = faiss.IndexBinaryFlat(256)
    index.add(candidate)
    distances, labels = index.search(query, 2)
    keep = (distances[:, 0] <= config.max_descriptor_distance) & (distances[:, 0] < config.ratio * distances[:, 1])
    return np.stack([np.flatnonzero(keep), labels[keep, 0]], axis=1).astype(np.int64)


# ---- the matcher ------------------------------------------------------------------------------
@dataclass
class _Stored:
    item: IndexedItem
    fingerprint: Fingerprint
    alive: bool = True
    descriptor_rows: tuple[int, int] = (0, 0)


@dataclass
class VerifiedImageMatcher:
    """PDQ + local-feature candidates, each verified by the block comparison (see module docstring).

    In-memory; holds a window of recent images. ``add`` takes the decoded image (the fingerprint
    needs pixels); ``query`` returns one :class:`Match` per matched image with ``distance`` = the
    changed fraction of the overlap (0 = identical content).
    """

    config: VerifyConfig = field(default_factory=VerifyConfig)

    def __post_init__(self) -> None:
        self._lock = threading.RLock()
        self._stored: list[_Stored] = []
        self._by_post: dict[str, list[int]] = {}
        self._pdq = HammingIndex(radius=self.config.pdq_radius)
        self._descriptors = faiss.IndexBinaryFlat(256)
        self._descriptor_owner = np.zeros(0, dtype=np.int64)
        self._descriptor_local = np.zeros(0, dtype=np.int64)

    def __len__(self) -> int:
        return sum(s.alive for s in self._stored)

    def add(self, item: IndexedItem, image: Image.Image | Fingerprint) -> Fingerprint:
        """Index one image under ``item`` (its ``key`` is replaced by the image's own PDQ hash)."""
        if not isinstance(item, IndexedItem):
            raise ValueError(f"The 'item' parameter of VerifiedImageMatcher.add must be an IndexedItem; got {type(item).__name__}.")
        print_ = image if isinstance(image, Fingerprint) else fingerprint(image, dihedral=False)
        item = IndexedItem(print_.pdq.hex, item.post_id, item.author_id, item.created_at, item.image_id or item.post_id, item.variant)
        with self._lock:
            row = len(self._stored)
            start = self._descriptors.ntotal
            if len(print_.descriptors):
                self._descriptors.add(print_.descriptors)
            count = len(print_.descriptors)
            self._descriptor_owner = np.concatenate([self._descriptor_owner, np.full(count, row, dtype=np.int64)])
            self._descriptor_local = np.concatenate([self._descriptor_local, np.arange(count, dtype=np.int64)])
            self._stored.append(_Stored(item, print_, True, (start, start + count)))
            self._by_post.setdefault(item.post_id, []).append(row)
            if print_.pdq.passes_quality(self.config.pdq_min_quality):
                self._pdq.add([IndexedItem(item.key, item.post_id, item.author_id, item.created_at, image_id=str(row))])
        return print_

    def remove_post(self, post_id: str) -> int:
        check_nonempty_str(post_id, "post_id", "VerifiedImageMatcher.remove_post")
        with self._lock:
            rows = self._by_post.pop(post_id, [])
            removed = 0
            for row in rows:
                removed += int(self._stored[row].alive)
                self._stored[row].alive = False
            self._pdq.remove_post(post_id)
            return removed

    def bytes_per_image(self) -> float:
        """Average fingerprint size (the storage cost of this layer)."""
        alive = [s.fingerprint.nbytes for s in self._stored if s.alive]
        return float(np.mean(alive)) if alive else 0.0

    def query(self, image: Image.Image | Fingerprint, *, exclude_post_id: str | None = None) -> list[Match]:
        """Verified matches, most similar first."""
        query = image if isinstance(image, Fingerprint) else fingerprint(image, dihedral=True)
        accepted: dict[int, Verification] = {}
        with self._lock:
            if query.pdq.passes_quality(self.config.pdq_min_quality):
                for match in self._pdq.query(query.pdq):
                    row = int(match.item.image_id)
                    if self._skip(row, exclude_post_id):
                        continue
                    result = _verify_pdq(query, self._stored[row].fingerprint, self.config)
                    if result is not None and result.accepted:
                        accepted[row] = result
            for row, pairs in self._local_candidates(query):
                if row in accepted or self._skip(row, exclude_post_id):
                    continue
                result = _verify_local(query, self._stored[row].fingerprint, pairs, self.config)
                if result is not None and result.accepted:
                    accepted[row] = result
            matches = [Match(self._stored[row].item, round(result.changed, 4)) for row, result in accepted.items()]
        matches.sort(key=lambda m: (m.distance, m.item.created_at, m.item.post_id))
        return matches

    def _skip(self, row: int, exclude_post_id: str | None) -> bool:
        stored = self._stored[row]
        return not stored.alive or (exclude_post_id is not None and stored.item.post_id == exclude_post_id)

    def _local_candidates(self, query: Fingerprint) -> list[tuple[int, np.ndarray]]:
        """Indexed images sharing the most close descriptors with the query, with their ratio-test pairs.

        Votes use plain k-NN within ``max_descriptor_distance`` (a global ratio test would throw
        away every descriptor of an image that is indexed many times — exactly the images a
        network reposts); the ratio test is applied per candidate, against its own descriptors.
        """
        if len(query.descriptors) < 2 or self._descriptors.ntotal == 0:
            return []
        k = min(_VOTE_NEIGHBOURS, self._descriptors.ntotal)
        distances, labels = self._descriptors.search(query.descriptors, k)
        close = (distances <= self.config.max_descriptor_distance) & (labels >= 0)
        owners = self._descriptor_owner[labels[close]]
        query_rows = np.nonzero(close)[0]
        if len(owners) == 0:
            return []
        # one vote per (query descriptor, image)
        votes = np.unique(owners * (len(query.descriptors) + 1) + query_rows) // (len(query.descriptors) + 1)
        counts = np.bincount(votes)
        ranked = [int(r) for r in np.argsort(-counts, kind="stable")[: self.config.max_candidates] if counts[r] >= self.config.min_votes]
        candidates = []
        for row in ranked:
            if not self._stored[row].alive:
                continue
            pairs = _ratio_pairs(query.descriptors, self._stored[row].fingerprint.descriptors, self.config)
            candidates.append((row, pairs))
        return candidates
