"""What the item page shows, assembled from the store and the loaded policy.

The page answers "why was this flagged, who else posted it, what do I decide" at a glance:
the original text with every evasion the normalizer undid marked where it occurs (from
:func:`model.normalize.normalize`'s ``undone`` list, the very code the model was trained
behind), the normalized text, images, per-label scores against the policy's thresholds,
reasons, user reports, the author's recent posts and the near-duplicate cluster.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from model.labels import LABELS
from model.normalize import NormalizedText, Undo, normalize
from serve.review import clusters, decisions
from serve.review.accounts import Account
from serve.review.tables import Decision, Moderator, PostImage
from serve.store.tables import Post, Report, ReviewItem

#: Report reasons that point at a label (used to pre-select verdicts for reported posts).
REPORT_LABELS = {"seller_spam": "hard_sell", "fake_proof": "fake_proof"}
_ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\ufeff\u00ad")


@dataclass(frozen=True)
class Segment:
    """A run of the original text; ``undos`` are the evasions the normalizer undid in it (if any)."""

    text: str
    undos: tuple[Undo, ...] = ()

    @property
    def undo(self) -> Undo | None:
        """The first evasion here (what the mark's colour shows)."""
        return self.undos[0] if self.undos else None

    @property
    def title(self) -> str:
        return "; ".join(f"{u.trick}: {u.original} → {u.replacement or '(removed)'}" for u in self.undos)

    @property
    def invisible(self) -> bool:
        return bool(self.text) and all(ch in _ZERO_WIDTH for ch in self.text)


def _folded(text: str) -> tuple[str, list[int]]:
    """``text`` with each character NFKC-folded, and for each folded character its index in ``text``."""
    out: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        folded = unicodedata.normalize("NFKC", ch)
        out.append(folded)
        where.extend([i] * len(folded))
    return "".join(out), where


def _locate(text: str, folded: tuple[str, list[int]], fragment: str, start: int) -> tuple[int, int] | None:
    """Where ``fragment`` stands in ``text`` (searching from ``start``): verbatim, or after NFKC folding
    (later normalizer steps record fragments of the folded text: '，' has become ',')."""
    found = text.find(fragment, start)
    if found != -1:
        return found, found + len(fragment)
    flat, where = folded
    lo = next((k for k, i in enumerate(where) if i >= start), len(where))
    found = flat.find(unicodedata.normalize("NFKC", fragment), lo)
    if found == -1:
        return None
    end = found + len(unicodedata.normalize("NFKC", fragment)) - 1
    return where[found], where[end] + 1


def highlight(
    text: str, norm: NormalizedText | None = None
) -> tuple[list[Segment], NormalizedText, list[Undo]]:
    """Split ``text`` into segments marking each undone evasion; also returns those it could not place.

    Each normalizer step records the fragment as it saw it: early steps see the original text,
    later ones the NFKC-folded text, so fragments are looked up verbatim and then folded. A
    traditional-characters undo marks only the characters that changed. Several evasions on one
    character (full-width ＶＸ that is also a homophone of 微信) share the mark.
    """
    norm = norm if norm is not None else normalize(text)
    folded = _folded(text)
    owners: list[list[Undo]] = [[] for _ in text]
    unplaced: list[Undo] = []
    cursor: dict[tuple[str, str], int] = {}
    for undo in norm.undone:
        fragment = undo.original
        if fragment and all(ch in _ZERO_WIDTH for ch in fragment):
            for i, ch in enumerate(text):
                if ch in _ZERO_WIDTH:
                    owners[i].append(undo)
            continue
        span = _locate(text, folded, fragment, cursor.get((undo.trick, fragment), 0)) if fragment else None
        if span is None:
            unplaced.append(undo)
            continue
        start, end = span
        cursor[(undo.trick, fragment)] = end
        positions = range(start, end)
        if undo.trick == "traditional" and len(undo.original) == len(undo.replacement) == end - start:
            positions = [
                start + k
                for k, (a, b) in enumerate(zip(undo.original, undo.replacement, strict=True))
                if a != b
            ]
        for i in positions:
            owners[i].append(undo)
    segments: list[Segment] = []
    for i, ch in enumerate(text):
        key = tuple(owners[i])
        if segments and segments[-1].undos == key:
            segments[-1] = Segment(segments[-1].text + ch, key)
        else:
            segments.append(Segment(ch, key))
    return segments, norm, unplaced


@dataclass(frozen=True)
class LabelScore:
    label: str
    score: float
    flagged: bool
    #: ``{"label": t, "review": t, "hide": t}``; None where the policy has no threshold.
    thresholds: dict[str, float | None]

    @property
    def level(self) -> str:
        """The strongest action threshold the score reaches (``""`` for none)."""
        for action in ("hide", "review", "label"):
            t = self.thresholds.get(action)
            if t is not None and self.score >= t:
                return action
        return ""


def label_scores(post: Post, thresholds: Mapping[str, Mapping[str, float | None]]) -> list[LabelScore]:
    scores = post.scores or {}
    return [
        LabelScore(
            label=label,
            score=float(scores.get(label, 0.0)),
            flagged=label in (post.labels or []),
            thresholds={
                action: (thresholds.get(action) or {}).get(label) for action in ("label", "review", "hide")
            },
        )
        for label in LABELS
    ]


@dataclass
class ItemView:
    """Everything the item page and the item API need."""

    item: ReviewItem
    post: Post
    segments: list[Segment]
    normalized: NormalizedText
    unplaced: list[Undo]
    scores: list[LabelScore]
    reports: list[Report]
    images: list[PostImage]
    author_posts: list[tuple[Post, str | None]]
    cluster: clusters.ClusterView | None
    decision: Decision | None
    decided_by: str | None
    history: list[tuple[Decision, str]]
    default_verdicts: dict[str, str]
    suggested_action: str
    #: The lease taken when the page was opened (None when the item is not decidable by this moderator).
    claim: Any = None

    @property
    def evasions(self) -> list[tuple[Undo, str]]:
        """Each undone evasion with its fragment as shown (zero-width characters cannot be shown)."""
        return [
            (u, u.original if any(ch not in _ZERO_WIDTH for ch in u.original) else "⟨zero-width⟩")
            for u in self.normalized.undone
        ]


def build(
    session: Session,
    item: ReviewItem,
    account: Account,
    *,
    thresholds: Mapping[str, Mapping[str, float | None]],
    author_posts: int,
    cluster_limit: int,
) -> ItemView:
    post = session.get(Post, item.post_id)
    if post is None:  # pragma: no cover - foreign key
        raise LookupError(f"Post {item.post_id} of review item {item.id} does not exist.")
    segments, norm, unplaced = highlight(post.text)
    reports = list(
        session.execute(
            select(Report).where(Report.post_id == post.post_id).order_by(Report.created_at)
        ).scalars()
    )
    images = list(
        session.execute(
            select(PostImage).where(PostImage.post_id == post.post_id).order_by(PostImage.position)
        ).scalars()
    )
    recent: list[tuple[Post, str | None]] = []
    if post.author_id and author_posts:
        recent = [
            (p, status)
            for p, status in session.execute(
                select(Post, ReviewItem.status)
                .outerjoin(ReviewItem, ReviewItem.post_id == Post.post_id)
                .where(Post.author_id == post.author_id, Post.post_id != post.post_id)
                .order_by(Post.created_at.desc(), Post.scored_at.desc())
                .limit(author_posts)
            ).all()
        ]
    key = clusters.cluster_of(session, post)
    cluster = None
    if key is not None:
        cluster = clusters.view(
            session,
            key,
            limit=cluster_limit,
            actionable=decisions.actionable_in_cluster(session, key, account.id),
        )
    decision = decisions.latest_decision(session, item.id)
    names = dict(session.execute(select(Moderator.id, Moderator.username)).all())
    history = [
        (d, names.get(d.moderator_id, f"#{d.moderator_id}")) for d in decisions.history(session, item.id)
    ]
    preset = set(post.labels or []) | {REPORT_LABELS[r.reason] for r in reports if r.reason in REPORT_LABELS}
    if decision is not None:
        verdicts = dict(decision.verdicts)
    else:
        verdicts = {label: "confirm" if label in preset else "clear" for label in LABELS}
    confirmed = [label for label in LABELS if verdicts[label] == "confirm"]
    return ItemView(
        item=item,
        post=post,
        segments=segments,
        normalized=norm,
        unplaced=unplaced,
        scores=label_scores(post, thresholds),
        reports=reports,
        images=images,
        author_posts=recent,
        cluster=cluster,
        decision=decision,
        decided_by=names.get(decision.moderator_id) if decision is not None else None,
        history=history,
        default_verdicts=verdicts,
        suggested_action=decision.action if decision is not None else decisions.suggested_action(confirmed),
    )
