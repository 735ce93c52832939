"""The clusters table: posts joined by near-duplicate images or copywriting, and the accounts behind them.

Each scored post's evidence lists the posts it matched (nearest first, up to the policy's
``max_listed``). Taken together those matches are a graph; its connected components are the
clusters: the same screenshot, edited, under forty accounts is one cluster with forty accounts,
which is what an agent network looks like from the outside (DOMAIN.md). Components rather than
single lookups, because copies chain: A matches B and B matches C although A and C differ more.

To keep what travels to the driver small, each shard first reduces its matches to a spanning
forest (:func:`local_links`: one link per post), and the driver joins the forests
(:func:`build_clusters`). A cluster is named after its earliest post (``net-`` + SHA-1 prefix of
that post id), so a rerun, or a run over a superset starting at the same post, gives the same id.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

import pyarrow as pa

CLUSTER_PREFIX = "net-"

CLUSTER_SCHEMA = pa.schema(
    [
        ("cluster_id", pa.string()),
        ("posts", pa.int64()),
        ("accounts", pa.int64()),
        ("flagged_posts", pa.int64()),
        ("first_seen", pa.timestamp("us", tz="UTC")),
        ("last_seen", pa.timestamp("us", tz="UTC")),
        ("members", pa.list_(pa.string())),
        ("member_accounts", pa.list_(pa.string())),
    ]
)


class UnionFind:
    """Disjoint sets over string ids (path halving; the smaller id becomes the root, so results are stable)."""

    def __init__(self) -> None:
        self._parent: dict[str, str] = {}

    def find(self, node: str) -> str:
        parents = self._parent
        parents.setdefault(node, node)
        while parents[node] != node:
            parents[node] = parents[parents[node]]
            node = parents[node]
        return node

    def union(self, a: str, b: str) -> None:
        root_a, root_b = self.find(a), self.find(b)
        if root_a != root_b:
            low, high = sorted((root_a, root_b))
            self._parent[high] = low

    def nodes(self) -> list[str]:
        return list(self._parent)


def local_links(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """``(post, representative)`` for every post in ``pairs``: the same components, one link per post."""
    sets = UnionFind()
    for a, b in pairs:
        sets.union(a, b)
    return sorted((node, sets.find(node)) for node in sets.nodes())


@dataclass(frozen=True)
class ClusterNode:
    """What the clusters table says about one member post."""

    post_id: str
    author_id: str | None
    created_at: datetime
    action: str


def cluster_id(earliest_post_id: str) -> str:
    return CLUSTER_PREFIX + hashlib.sha1(earliest_post_id.encode("utf-8")).hexdigest()[:12]


def build_clusters(
    links: Iterable[tuple[str, str]], nodes: Mapping[str, ClusterNode]
) -> tuple[dict[str, str], pa.Table]:
    """Join the shards' forests: ``{post_id: cluster_id}`` and the clusters table (largest networks first).

    Components of one post are not clusters. A member whose shard reported no details (it matched
    nothing itself, possible only when listings are truncated) still counts as a post.
    """
    sets = UnionFind()
    for a, b in links:
        sets.union(a, b)
    components: dict[str, list[str]] = {}
    for node in sets.nodes():
        components.setdefault(sets.find(node), []).append(node)
    assignment: dict[str, str] = {}
    rows = []
    for members in components.values():
        if len(members) < 2:
            continue
        known = sorted((nodes[m] for m in members if m in nodes), key=lambda n: (n.created_at, n.post_id))
        unknown = sorted(m for m in members if m not in nodes)
        ordered = [n.post_id for n in known] + unknown
        name = cluster_id(ordered[0])
        for member in members:
            assignment[member] = name
        accounts = sorted({n.author_id or f"anonymous:{n.post_id}" for n in known})
        rows.append(
            {
                "cluster_id": name,
                "posts": len(members),
                "accounts": len(accounts),
                "flagged_posts": sum(n.action != "allow" for n in known),
                "first_seen": known[0].created_at if known else None,
                "last_seen": max(n.created_at for n in known) if known else None,
                "members": ordered,
                "member_accounts": accounts,
            }
        )
    rows.sort(key=lambda r: (-r["accounts"], -r["posts"], r["cluster_id"]))
    return assignment, pa.Table.from_pylist(rows, schema=CLUSTER_SCHEMA)
