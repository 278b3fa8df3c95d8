"""From scored pairs to decisions: one-to-one links, and duplicate clusters guarded against chaining.

**One-to-one assignment** (linking two files): pairs are taken greedily by match weight,
highest first; a pair is accepted when neither its left nor its right record is taken yet.
Ties are broken deterministically by (left row, right row), ascending. Greedy is not the
maximum-weight matching, but it never accepts a pair while a better pair of either record
is still open — each accepted pair is the best remaining pair of both its records — which
is the property a reviewer can check, and it runs in one pass after a sort.

**Clusters** (deduplicating one file): connected components of the links, grown greedily by
weight, with a guard against chaining: two clusters are joined only when *every* pair of
records across them is itself a link above the threshold (complete linkage) and the joined
cluster has at most ``max_size`` records. A ~ B and B ~ C therefore never put A with C
unless A ~ C as well; a refused join leaves both clusters as they were and is counted.
"""
from __future__ import annotations

from dataclasses import dataclass

import numba as nb
import numpy as np

from jukimatch.engine.runtime import JIT

__all__ = ["REVIEW_REASONS", "Clusters", "PairDecisions", "cluster_pairs", "decide_pairs", "greedy_order", "one_to_one"]


def greedy_order(weight: np.ndarray, li: np.ndarray, ri: np.ndarray) -> np.ndarray:
    """Pair indexes by weight descending, then left row, then right row (ascending)."""
    return np.lexsort((ri, li, -np.asarray(weight, dtype=np.float64))).astype(np.int64)


@nb.njit(**JIT)
def _one_to_one(order, li, ri, n_left, n_right):
    used_l = np.zeros(n_left, dtype=np.bool_)
    used_r = np.zeros(n_right, dtype=np.bool_)
    keep = np.zeros(len(li), dtype=np.bool_)
    for k in order:
        a = li[k]
        b = ri[k]
        if not used_l[a] and not used_r[b]:
            used_l[a] = True
            used_r[b] = True
            keep[k] = True
    return keep


def one_to_one(weight: np.ndarray, li: np.ndarray, ri: np.ndarray, n_left: int, n_right: int) -> np.ndarray:
    """Accepted mask over pairs: each left and each right record in at most one accepted pair."""
    weight = np.asarray(weight, dtype=np.float64)
    li = np.ascontiguousarray(li, dtype=np.int64)
    ri = np.ascontiguousarray(ri, dtype=np.int64)
    if not len(weight) == len(li) == len(ri):
        raise ValueError(f"weight, li and ri must have one length, got {len(weight)}, {len(li)}, {len(ri)}")
    if np.isnan(weight).any():
        raise ValueError("weight must not hold NaN")
    for idx, name, n in ((li, "li", n_left), (ri, "ri", n_right)):
        if len(idx) and (idx.min() < 0 or idx.max() >= n):
            raise ValueError(f"{name} must index rows 0..{n - 1}, got values in [{idx.min()}, {idx.max()}]")
    return _one_to_one(greedy_order(weight, li, ri), li, ri, int(n_left), int(n_right))


@dataclass
class Clusters:
    root: np.ndarray  # int64 per record: the lowest row of its cluster (itself when alone)
    size: np.ndarray  # int64 per record: records in its cluster
    accepted: np.ndarray  # bool per pair: both records ended in one cluster
    refused_size: int  # joins refused because the cluster would exceed max_size
    refused_incomplete: int  # joins refused because some pair across the clusters is no link


def cluster_pairs(weight: np.ndarray, li: np.ndarray, ri: np.ndarray, n: int, *, max_size: int) -> Clusters:
    """Clusters of ``n`` records from link pairs (all given pairs are links), see the module doc."""
    weight = np.asarray(weight, dtype=np.float64)
    li = np.asarray(li, dtype=np.int64)
    ri = np.asarray(ri, dtype=np.int64)
    if not len(weight) == len(li) == len(ri):
        raise ValueError(f"weight, li and ri must have one length, got {len(weight)}, {len(li)}, {len(ri)}")
    if max_size < 2:
        raise ValueError(f"max_size must be at least 2, got {max_size}")
    if len(li) and (min(li.min(), ri.min()) < 0 or max(li.max(), ri.max()) >= n):
        raise ValueError(f"pairs must index records 0..{n - 1}")
    lo, hi = np.minimum(li, ri), np.maximum(li, ri)
    linked = set(zip(lo.tolist(), hi.tolist()))
    parent: dict[int, int] = {}
    members: dict[int, list[int]] = {}

    def find(x: int) -> int:
        root = x
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(x, x) != root:  # path compression
            parent[x], x = root, parent[x]
        return root

    refused_size = refused_incomplete = 0
    for k in greedy_order(weight, lo, hi).tolist():
        a, b = find(int(lo[k])), find(int(hi[k]))
        if a == b:
            continue
        ma, mb = members.get(a, [a]), members.get(b, [b])
        if len(ma) + len(mb) > max_size:
            refused_size += 1
            continue
        if not all((min(x, y), max(x, y)) in linked for x in ma for y in mb):
            refused_incomplete += 1
            continue
        new_root, old = (a, b) if a < b else (b, a)
        parent[old] = new_root
        members[new_root] = ma + mb
        members.pop(old, None)
    root = np.arange(n, dtype=np.int64)
    size = np.ones(n, dtype=np.int64)
    for r, ms in members.items():
        first = min(ms)
        root[ms] = first
        size[ms] = len(ms)
    accepted = root[lo] == root[hi] if len(lo) else np.zeros(0, dtype=bool)
    return Clusters(root, size, accepted, refused_size, refused_incomplete)


#: why a pair at or above the review threshold is not an automatic match
REVIEW_REASONS = ("band", "chain_guard", "one_to_one")


@dataclass
class PairDecisions:
    kept: np.ndarray  # indexes of the pairs at or above the review threshold (links.parquet's rows)
    match: np.ndarray  # bool per kept pair: an automatic match
    reason: np.ndarray  # int8 per kept pair: -1 for a match, else an index into REVIEW_REASONS
    clusters: Clusters | None


def decide_pairs(probability: np.ndarray, weight: np.ndarray, li: np.ndarray, ri: np.ndarray, nl: int, nr: int, *,
           threshold: float, review_threshold: float, dedupe: bool, one_to_one_links: bool,
           max_cluster_size: int) -> PairDecisions:
    """Automatic matches and review pairs.

    A pair at or above ``threshold`` is an automatic match unless the chaining guard
    (deduplication) or the one-to-one assignment (linking) refuses it; a refused pair, and
    every pair in the review band ``[review_threshold, threshold)``, goes to review. Clusters
    are built from automatic matches only: a pair under review never joins two records.
    """
    kept = np.flatnonzero(probability >= review_threshold)
    auto = probability[kept] >= threshold
    a = kept[auto]
    clusters: Clusters | None = None
    if dedupe:
        clusters = cluster_pairs(weight[a], li[a], ri[a], nl, max_size=max_cluster_size)
        accepted = clusters.accepted
        refused_reason = REVIEW_REASONS.index("chain_guard")
    elif one_to_one_links:
        accepted = one_to_one(weight[a], li[a], ri[a], nl, nr)
        refused_reason = REVIEW_REASONS.index("one_to_one")
    else:
        accepted = np.ones(len(a), dtype=bool)
        refused_reason = -1
    match = np.zeros(len(kept), dtype=bool)
    match[np.flatnonzero(auto)[accepted]] = True
    reason = np.full(len(kept), REVIEW_REASONS.index("band"), dtype=np.int8)
    reason[auto] = refused_reason
    reason[match] = -1
    return PairDecisions(kept, match, reason, clusters)
