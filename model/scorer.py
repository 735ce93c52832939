"""The Scorer: one call that fuses every signal into per-post scores, an action and reasons.

The feed pipeline, the batch job, ``feedguard score`` and the HTTP service all call
:meth:`Scorer.score`, so a post gets the same answer whichever way it arrives. For each post:

1. the text is normalized (:func:`model.normalize.normalize`); every evasion undone is a reason;
2. the release's INT8 ONNX text model scores it; :class:`model.policy.Policy` calibrates the
   scores (the bundle's ``policy.json``);
3. its images (bytes are decoded under guard and PDQ-hashed with the dihedral variants; hex
   hashes are taken as given) and its normalized text are looked up in the near-duplicate
   indexes, and then added to them, so the next post of the network finds this one;
4. the author's recent history (:class:`model.account_history.AccountHistory`) is consulted;
5. the fusion rules below adjust the calibrated scores, and ``Policy.decide`` picks the action.

Fusion rules (their numbers live in the policy file's ``rules`` section, see
:data:`FUSION_RULES`; none is a constant in code):

* **Duplicates across accounts.** When the model already puts the post over a ``label``
  threshold and its image or its copywriting also appears under at least
  ``duplicate_accounts_review`` other accounts, ``fake_proof`` is raised to its ``review``
  threshold (the post's action becomes at least ``review``). Reuse of one screenshot or script
  by many unrelated accounts is how fabricated proof spreads (DOMAIN.md); requiring the model's
  own label first keeps viral memes and greetings, which many ordinary accounts also repost,
  out of the queue. Duplicates under fewer accounts are still listed as reasons.
* **Seller accounts.** When at least ``history_min_posts`` of the author's last
  ``history_window`` posts were scored, and a share of at least ``history_seller_ratio`` of them
  were seller posts (some label over its ``label`` threshold, judged on the model's scores before
  any fusion so the rule cannot feed itself), ``hard_sell`` is raised by ``history_bump``
  (capped at 1.0). The bump is bounded: it can tip a borderline ad into ``label``, never turn a
  clearly normal post into one.

Idempotent by ``post_id``: a post seen before with the same content (SHA-256 of the text and
images) gets its cached result back (``cached=True``) and nothing is added to the indexes or the
history again; changed content is re-scored and replaces the old entries everywhere.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from model.account_history import AccountHistory
from model.evidence import EvidenceConfig, EvidenceFinder
from model.labels import ACTIONS, LABELS
from model.normalize import NormalizedText, PostText, normalize
from model.pdq import PdqHash, hash_bytes
from model.policy import Policy

#: Policy-file rules the fusion reads (``policy.json`` -> ``rules``), with their meaning.
FUSION_RULES: dict[str, str] = {
    "duplicate_accounts_review": "int: other accounts sharing an image or the copywriting that make a labelled"
    " post at least 'review' (fake_proof raised to its review threshold)",
    "history_window": "int: recent posts remembered per author",
    "history_min_posts": "int: posts needed before the author's history counts",
    "history_seller_ratio": "float in (0, 1]: share of seller posts that makes a seller account",
    "history_bump": "float in [0, 1]: added to hard_sell for a seller account's post (capped at 1)",
}

#: Reason kinds a ScoreResult can carry.
REASON_KINDS = ("model", "evasion", "image_duplicate", "text_duplicate", "account_history")

#: Where the Scorer keeps its mutable state under ``state_dir``.
EVIDENCE_DIR = "evidence"
HISTORY_FILE = "account_history.json"


class ProbaClassifier(Protocol):
    """What the Scorer needs from the bundle's classifier."""

    def predict_proba(self, texts: Sequence[PostText]) -> np.ndarray: ...


@dataclass(frozen=True)
class PostInput:
    """One post to score. ``image_bytes`` are raw uploads; ``image_hashes`` precomputed PDQ hex."""

    post_id: str
    text: str
    author_id: str | None = None
    created_at: datetime | None = None
    image_bytes: tuple[bytes, ...] = ()
    image_hashes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.post_id, str) or not self.post_id.strip():
            raise ValueError(
                f"The 'post_id' parameter of PostInput must be a non-empty str; got {self.post_id!r}."
            )
        if not isinstance(self.text, str) or not self.text.strip():
            raise ValueError(
                f"The 'text' parameter of PostInput must be a non-empty str; got {self.text!r} (post {self.post_id!r})."
            )
        if self.author_id is not None and (not isinstance(self.author_id, str) or not self.author_id.strip()):
            raise ValueError(
                f"The 'author_id' parameter of PostInput must be None or a non-empty str; got {self.author_id!r}."
            )
        if self.created_at is not None and (
            not isinstance(self.created_at, datetime) or self.created_at.utcoffset() is None
        ):
            raise ValueError(
                f"The 'created_at' parameter of PostInput must be None or a timezone-aware datetime;"
                f" got {self.created_at!r} (post {self.post_id!r})."
            )
        object.__setattr__(self, "image_bytes", tuple(self.image_bytes))
        object.__setattr__(self, "image_hashes", tuple(self.image_hashes))
        for i, data in enumerate(self.image_bytes):
            if not isinstance(data, bytes | bytearray):
                raise ValueError(
                    f"The 'image_bytes[{i}]' parameter of PostInput must be bytes; got {type(data).__name__}."
                )

    def content_hash(self) -> str:
        """SHA-256 over the text and the images: what decides whether a re-sent post changed."""
        digest = hashlib.sha256()
        digest.update(b"text\0" + self.text.encode("utf-8", "surrogatepass"))
        for data in self.image_bytes:
            digest.update(b"\0image\0" + hashlib.sha256(data).digest())
        for value in self.image_hashes:
            digest.update(b"\0pdq\0" + value.strip().lower().encode("ascii", "replace"))
        return digest.hexdigest()


@dataclass
class ScoreResult:
    """The answer for one post (see DESIGN.md, "Labels and the score contract")."""

    post_id: str
    scores: dict[str, float]
    seller: float
    labels: list[str]
    action: str
    #: ``{"kind": one of REASON_KINDS, "label": str | None, "detail": human-readable, ...}``
    reasons: list[dict[str, Any]]
    tricks: list[str]
    normalized_text: str
    evidence: dict[str, Any] | None = None
    #: The post's image hashes (hex) as indexed, for the review page.
    image_hashes: list[str] = field(default_factory=list)
    content_hash: str = ""
    model_scores: dict[str, float] = field(default_factory=dict)
    cached: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The JSON form the service and ``feedguard score`` write."""
        return {
            "id": self.post_id,
            "post_id": self.post_id,
            "scores": dict(self.scores),
            "seller": self.seller,
            "labels": list(self.labels),
            "action": self.action,
            "reasons": [dict(r) for r in self.reasons],
            "tricks": list(self.tricks),
            "evidence": self.evidence,
        }


@dataclass(frozen=True)
class FusionRules:
    """The fusion numbers, read from the policy file (see :data:`FUSION_RULES`)."""

    duplicate_accounts_review: int
    history_window: int
    history_min_posts: int
    history_seller_ratio: float
    history_bump: float

    @classmethod
    def from_policy(cls, policy: Policy) -> FusionRules:
        missing = [name for name in FUSION_RULES if name not in policy.rules]
        if missing:
            raise ValueError(
                f"The policy file's 'rules' section must define {', '.join(missing)} for the Scorer's fusion;"
                f" they are missing ({'; '.join(f'{k}: {FUSION_RULES[k]}' for k in missing)})."
            )
        rules = {name: policy.rules[name] for name in FUSION_RULES}
        for name in ("duplicate_accounts_review", "history_window", "history_min_posts"):
            value = rules[name]
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"The policy rule {name!r} must be an int >= 1; got {value!r} instead.")
        ratio, bump = rules["history_seller_ratio"], rules["history_bump"]
        if isinstance(ratio, bool) or not isinstance(ratio, int | float) or not 0.0 < ratio <= 1.0:
            raise ValueError(
                f"The policy rule 'history_seller_ratio' must be in (0, 1]; got {ratio!r} instead."
            )
        if isinstance(bump, bool) or not isinstance(bump, int | float) or not 0.0 <= bump <= 1.0:
            raise ValueError(f"The policy rule 'history_bump' must be in [0, 1]; got {bump!r} instead.")
        return cls(**rules)


@dataclass
class _Prepared:
    """A post after validation and image hashing, before the model."""

    post: PostInput
    content_hash: str
    hashes: list[PdqHash]


class ScorerInputError(ValueError):
    """Bad input to :meth:`Scorer.score`; ``index`` and ``field`` say which post and field."""

    def __init__(self, message: str, *, index: int, field: str) -> None:
        super().__init__(message)
        self.index = index
        self.field = field


class Scorer:
    """Fuses the text model, normalizer, near-duplicate evidence and account history (module docstring)."""

    def __init__(
        self,
        bundle: Any,
        *,
        evidence: EvidenceFinder | None = None,
        history: AccountHistory | None = None,
        cache_size: int = 100_000,
        policy: Policy | None = None,
    ) -> None:
        if isinstance(cache_size, bool) or not isinstance(cache_size, int) or cache_size < 0:
            raise ValueError(
                f"The 'cache_size' parameter of Scorer must be an int >= 0; got {cache_size!r} instead."
            )
        self.bundle = bundle
        self.evidence = evidence
        self.cache_size = cache_size
        self.policy_ = policy if policy is not None else Policy.load(bundle.policy_path)
        self.rules_ = FusionRules.from_policy(self.policy_)
        self.history_ = history if history is not None else AccountHistory(window=self.rules_.history_window)
        self._cache: OrderedDict[str, ScoreResult] = OrderedDict()
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_release(
        cls,
        release_dir: Path | None = None,
        *,
        state_dir: Path | None = None,
        intra_op_threads: int | None = None,
        cache_size: int = 100_000,
        history_max_authors: int = 200_000,
    ) -> Scorer:
        """Load the release bundle and, if ``state_dir`` is given, the saved indexes and history there."""
        from model.bundle import RELEASE_DIR, load_bundle

        bundle = load_bundle(
            Path(release_dir) if release_dir is not None else RELEASE_DIR, intra_op_threads=intra_op_threads
        )
        policy = Policy.load(bundle.policy_path)
        rules = FusionRules.from_policy(policy)
        evidence = load_evidence(
            Path(state_dir) if state_dir is not None else None,
            near_duplicate_config(policy, bundle.policy_path),
        )
        history_path = Path(state_dir) / HISTORY_FILE if state_dir is not None else None
        if history_path is not None and history_path.is_file():
            history = AccountHistory.load(
                history_path, window=rules.history_window, max_authors=history_max_authors
            )
        else:
            history = AccountHistory(window=rules.history_window, max_authors=history_max_authors)
        return cls(bundle, evidence=evidence, history=history, cache_size=cache_size, policy=policy)

    @property
    def model_version(self) -> str:
        """A short identifier of the loaded release (for stored scores and the API)."""
        manifest = getattr(self.bundle, "manifest", None) or {}
        if manifest.get("version"):
            return str(manifest["version"])[:64]
        # A release names no version: the hashes of all its files identify it. The model file's
        # alone would not: two releases can share it and score differently (another policy, n-gram
        # model or escalation model).
        files = manifest.get("files") or {}
        if not files:
            return "unknown"
        digest = hashlib.sha256(json.dumps(files, sort_keys=True).encode("utf-8")).hexdigest()
        return f"sha256:{digest[:12]}"

    # ------------------------------------------------------------------ scoring
    def prepare(self, posts: Sequence[PostInput]) -> list[PostInput]:
        """Validate ``posts`` and hash their image bytes into PDQ hex (``image_bytes`` emptied).

        The service calls this per request before micro-batching, so a corrupt image fails only
        its own request. Raises :class:`ScorerInputError` naming the post and image.
        """
        return [
            replace(p.post, image_bytes=(), image_hashes=tuple(h.hex for h in p.hashes))
            for p in self._prepare(posts)
        ]

    def score(self, posts: Sequence[PostInput]) -> list[ScoreResult]:
        """Score a batch; results in input order. Raises :class:`ScorerInputError` for bad input."""
        prepared = self._prepare(posts)
        if not prepared:
            return []
        with self._lock:
            results: list[ScoreResult | None] = [None] * len(prepared)
            fresh: list[int] = []
            for i, item in enumerate(prepared):
                cached = self._cache.get(item.post.post_id)
                if cached is not None and cached.content_hash == item.content_hash:
                    self._cache.move_to_end(item.post.post_id)
                    results[i] = replace(cached, cached=True)
                else:
                    fresh.append(i)
            if fresh:
                # Normalized once: the model reads the text, the reasons read the tricks undone.
                norms = [normalize(prepared[i].post.text) for i in fresh]
                raw = np.asarray(self.bundle.classifier.predict_proba(norms), dtype=np.float64)
                calibrated = self.policy_.calibrate(raw)
                for row, i, norm in zip(calibrated, fresh, norms, strict=True):
                    scores = dict(zip(LABELS, (float(v) for v in row), strict=True))
                    result = self._fuse(prepared[i], norm, scores)
                    self._remember(result)
                    results[i] = result
        return [r for r in results if r is not None]

    def _prepare(self, posts: Sequence[PostInput]) -> list[_Prepared]:
        if isinstance(posts, PostInput | str | bytes) or not isinstance(posts, Sequence):
            raise ValueError(
                f"The 'posts' parameter of Scorer.score must be a sequence of PostInput; got {type(posts).__name__}."
            )
        seen: dict[str, int] = {}
        prepared: list[_Prepared] = []
        for i, post in enumerate(posts):
            if not isinstance(post, PostInput):
                raise ScorerInputError(
                    f"The 'posts[{i}]' parameter of Scorer.score must be a PostInput; got {type(post).__name__}.",
                    index=i,
                    field="post",
                )
            if post.post_id in seen:
                raise ScorerInputError(
                    f"The 'posts[{i}].post_id' parameter of Scorer.score repeats {post.post_id!r}"
                    f" (already posts[{seen[post.post_id]}]); ids in one batch must be unique.",
                    index=i,
                    field="post_id",
                )
            seen[post.post_id] = i
            hashes: list[PdqHash] = []
            for j, data in enumerate(post.image_bytes):
                try:
                    hashes.append(hash_bytes(bytes(data), dihedral=True))
                except ValueError as err:  # ImageRejected is a ValueError
                    raise ScorerInputError(
                        f"posts[{i}].images[{j}] of post {post.post_id!r}: {err}",
                        index=i,
                        field=f"images[{j}]",
                    ) from err
            for j, value in enumerate(post.image_hashes):
                try:
                    hashes.append(PdqHash(value))
                except ValueError as err:
                    raise ScorerInputError(
                        f"posts[{i}].image_hashes[{j}] of post {post.post_id!r}: {err}",
                        index=i,
                        field=f"image_hashes[{j}]",
                    ) from err
            prepared.append(_Prepared(post=post, content_hash=post.content_hash(), hashes=hashes))
        return prepared

    # ------------------------------------------------------------------ fusion
    def _fuse(self, item: _Prepared, norm: NormalizedText, model_scores: dict[str, float]) -> ScoreResult:
        post = item.post
        rules = self.rules_
        policy = self.policy_
        model_decision = policy.decide(model_scores)
        scores = dict(model_scores)
        reasons: list[dict[str, Any]] = [
            {
                "kind": "model",
                "label": label,
                "score": round(model_scores[label], 4),
                "detail": f"text model: {label} {model_scores[label]:.2f}"
                f" (label threshold {policy.thresholds['label'][label]:.2f})",
            }
            for label in model_decision.labels_over
        ]
        reasons.extend(_evasion_reasons(norm))

        # Evidence: look the post up, then add it, so the next post of the network finds it.
        evidence_dict, dup_reasons, dup_accounts = self._evidence(post, norm, item.hashes)
        reasons.extend(dup_reasons)
        forced_review = False
        if model_decision.labels_over and dup_accounts >= rules.duplicate_accounts_review:
            review_t = policy.thresholds["review"].get("fake_proof")
            if review_t is not None:
                scores["fake_proof"] = max(scores["fake_proof"], review_t)
            forced_review = True
            reasons.append(
                {
                    "kind": "image_duplicate"
                    if evidence_dict
                    and evidence_dict.get("dup_accounts_image", 0) >= rules.duplicate_accounts_review
                    else "text_duplicate",
                    "label": "fake_proof",
                    "accounts": dup_accounts,
                    "detail": f"shared by {dup_accounts} other accounts (policy: {rules.duplicate_accounts_review}"
                    " or more makes a labelled post at least 'review')",
                }
            )

        # Account history, judged on the model's own decision so the rule cannot feed itself.
        author = post.author_id
        if author is not None:
            stats = self.history_.stats(author, exclude_post_id=post.post_id)
            if stats.posts >= rules.history_min_posts and stats.seller_ratio >= rules.history_seller_ratio:
                before = scores["hard_sell"]
                scores["hard_sell"] = min(1.0, before + rules.history_bump)
                reasons.append(
                    {
                        "kind": "account_history",
                        "label": "hard_sell",
                        "posts": stats.posts,
                        "seller_posts": stats.seller_posts,
                        "detail": f"author {author}: {stats.seller_posts} of the last {stats.posts} posts were"
                        f" seller posts; hard_sell {before:.2f} -> {scores['hard_sell']:.2f}",
                    }
                )
            self.history_.observe(author, post.post_id, bool(model_decision.labels_over))

        decision = policy.decide(scores)
        action = decision.action
        labels = list(decision.labels_over)
        if forced_review:
            if ACTIONS.index(action) < ACTIONS.index("review"):
                action = "review"
            if "fake_proof" not in labels:
                labels.append("fake_proof")
        for label in decision.labels_over:
            if label not in model_decision.labels_over:
                reasons.append(
                    {
                        "kind": "model",
                        "label": label,
                        "score": round(scores[label], 4),
                        "detail": f"{label} {scores[label]:.2f} after fusion (model alone {model_scores[label]:.2f})",
                    }
                )
        labels = [label for label in LABELS if label in labels]
        return ScoreResult(
            post_id=post.post_id,
            scores={k: round(v, 6) for k, v in scores.items()},
            seller=round(Policy.seller(scores), 6),
            labels=labels,
            action=action,
            reasons=reasons,
            tricks=list(norm.tricks),
            normalized_text=norm.text,
            evidence=evidence_dict,
            image_hashes=[h.hex for h in item.hashes],
            content_hash=item.content_hash,
            model_scores={k: round(v, 6) for k, v in model_scores.items()},
        )

    def _evidence(
        self, post: PostInput, norm: NormalizedText, hashes: list[PdqHash]
    ) -> tuple[dict[str, Any] | None, list[dict[str, Any]], int]:
        """(evidence as a JSON-ready dict, duplicate reasons, most other accounts on one signal).

        ``observe`` looks the post up (itself excluded) and then indexes it, replacing what an
        earlier version of the same post_id had indexed.
        """
        if self.evidence is None:
            return None, [], 0
        # The indexes need an author: a post without one counts as its own account.
        author = post.author_id or f"anonymous:{post.post_id}"
        created = post.created_at or datetime.now(UTC)
        found = self.evidence.observe(post.post_id, author, created, norm.text, hashes)
        image_accounts = int(found.dup_accounts_image)
        text_accounts = int(found.dup_accounts_text)
        reasons: list[dict[str, Any]] = []
        for sentence in found.reasons:
            is_text = "copywriting" in sentence or "same text" in sentence
            reasons.append(
                {
                    "kind": "text_duplicate" if is_text else "image_duplicate",
                    "label": None,
                    "accounts": text_accounts if is_text else image_accounts,
                    "detail": sentence,
                }
            )
        evidence = found.to_dict()
        evidence["dup_accounts_image"] = image_accounts
        evidence["dup_accounts_text"] = text_accounts
        return evidence, reasons, max(image_accounts, text_accounts)

    # ------------------------------------------------------------------ cache and state
    def _remember(self, result: ScoreResult) -> None:
        if self.cache_size == 0:
            return
        self._cache[result.post_id] = result
        self._cache.move_to_end(result.post_id)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    def save_state(self, state_dir: Path) -> None:
        """Persist the duplicate indexes and the account history under ``state_dir`` (no pickle)."""
        state_dir = Path(state_dir)
        state_dir.mkdir(parents=True, exist_ok=True)
        with self._lock:
            if self.evidence is not None:
                self.evidence.save(state_dir / EVIDENCE_DIR)
            self.history_.save(state_dir / HISTORY_FILE)

    def stats(self) -> dict[str, int]:
        """Sizes of the in-memory state (for readiness and metrics)."""
        out = {"cache": len(self._cache), "authors": len(self.history_)}
        if self.evidence is not None:
            out["image_index"] = len(self.evidence.image_index)
            out["text_index"] = len(self.evidence.text_index)
        return out


def _evasion_reasons(norm: NormalizedText) -> list[dict[str, Any]]:
    reasons: list[dict[str, Any]] = []
    for trick in norm.tricks:
        undone = [u for u in norm.undone if u.trick == trick]
        examples = ", ".join(f"{u.original!r} -> {u.replacement!r}" for u in undone[:3])
        more = f" (+{len(undone) - 3} more)" if len(undone) > 3 else ""
        reasons.append(
            {"kind": "evasion", "label": None, "trick": trick, "detail": f"{trick} undone: {examples}{more}"}
        )
    return reasons


def near_duplicate_config(policy: Policy, policy_path: Path | None = None) -> EvidenceConfig:
    """The near-duplicate settings: ``rules.near_duplicates`` or a top-level ``near_duplicates`` section
    of the policy file; the published defaults (Meta's PDQ radius and quality gate) if neither is there."""
    section = policy.rules.get("near_duplicates")
    if section is None and policy_path is not None:
        raw = json.loads(Path(policy_path).read_text(encoding="utf-8"))
        section = raw.get("near_duplicates")
    if section is None:
        return EvidenceConfig()
    if not isinstance(section, dict):
        raise ValueError(
            f"The policy's 'near_duplicates' section must be an object; got {section!r} instead."
        )
    return EvidenceConfig.from_mapping(section)


def load_evidence(state_dir: Path | None, config: EvidenceConfig) -> EvidenceFinder:
    """The evidence finder over the indexes saved under ``state_dir`` (empty ones on a first run)."""
    if state_dir is None:
        return EvidenceFinder(config=config)
    return EvidenceFinder.load(Path(state_dir) / EVIDENCE_DIR, config)
