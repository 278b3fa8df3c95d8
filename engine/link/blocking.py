"""Candidate pairs for linking two files (or deduplicating one) without inquiry ids.

A blocking rule gives every record one ``uint64`` key (0 = the record has no key under this
rule: some value it needs is null); two records are a candidate pair under the rule when
their keys are equal and non-zero. Several rules are unioned.

How pairs are made, per rule, with memory bounded by the rule limit:

1. keys of both sides are sorted together (NumPy's stable argsort; left records stay
   before right records inside a run of equal keys);
2. a Numba kernel finds the runs of equal keys and counts the pairs each yields
   (``n_left * n_right`` for linking, ``m (m - 1) / 2`` for deduplication) — **every rule is
   counted before any pair is made**, and a rule whose count exceeds ``max_pairs_per_rule``
   is refused with a :class:`BlockingLimitError` naming the rule and its count;
3. a parallel Numba kernel emits the pairs of a group of runs at a time (at most
   ``chunk_pairs`` pairs, or one run), each pair flagged *new* unless an earlier rule's keys
   already agree on it. Pairs found by an earlier rule are dropped, so the union has no
   duplicates without a global hash set, and each kept pair records the first rule that
   found it.

In deduplication a pair is ``(i, j)`` with ``i < j`` (row numbers of the one table).
"""
from __future__ import annotations

from dataclasses import dataclass

import numba as nb
import numpy as np

from jukimatch.engine.runtime import JIT, JIT_PARALLEL

__all__ = [
    "Blocked",
    "BlockingLimitError",
    "RuleCount",
    "block",
    "count_rule_pairs",
    "combine_keys",
]

#: default limit of pairs one rule may yield before it is refused
MAX_PAIRS_PER_RULE = 50_000_000
#: pairs emitted per kernel call before compaction
CHUNK_PAIRS = 4_000_000


class BlockingLimitError(ValueError):
    """A blocking rule would yield more pairs than allowed (the message names rule and count)."""


@dataclass(frozen=True)
class RuleCount:
    name: str
    pairs: int  # pairs the rule yields on its own
    new_pairs: int  # of those, pairs no earlier rule yielded (what the rule adds to the union)


@dataclass
class Blocked:
    li: np.ndarray  # int64 row in the left table
    ri: np.ndarray  # int64 row in the right table (the same table when deduplicating)
    rule: np.ndarray  # int8: index of the first rule that found the pair
    counts: list[RuleCount]

    def __len__(self) -> int:
        return len(self.li)


# --- kernels ------------------------------------------------------------------------------

@nb.njit(**JIT)
def _runs(skeys, sside, dedupe):
    """Runs of equal sorted keys that yield pairs: (start, end, left members, pairs) per run.

    Runs that yield no pair (one member; or members of one side only when linking) are left out.
    """
    n = len(skeys)
    run_start = np.empty(n, dtype=np.int64)
    run_end = np.empty(n, dtype=np.int64)
    n_left = np.empty(n, dtype=np.int64)
    pairs = np.empty(n, dtype=np.int64)
    q = 0
    s = 0
    while s < n:
        e = s + 1
        while e < n and skeys[e] == skeys[s]:
            e += 1
        m = e - s
        if dedupe:
            p = m * (m - 1) // 2
            nl = m
        else:
            nl = 0
            for k in range(s, e):
                if sside[k] == 0:
                    nl += 1
            p = nl * (m - nl)
        if p > 0:
            run_start[q] = s
            run_end[q] = e
            n_left[q] = nl
            pairs[q] = p
            q += 1
        s = e
    return run_start[:q].copy(), run_end[:q].copy(), n_left[:q].copy(), pairs[:q].copy()


@nb.njit(**JIT)
def _seen(prev_l, prev_r, n_prev, i, j):
    for c in range(n_prev):
        k = prev_l[i, c]
        if k != 0 and k == prev_r[j, c]:
            return True
    return False


@nb.njit(**JIT_PARALLEL)
def _emit(run_start, run_end, n_left, srow, offsets, prev_l, prev_r, n_prev, dedupe, li, ri, keep):
    """Pairs of runs q = 0..len(run_start)-1 into slots offsets[q]..; keep = not found before."""
    for q in nb.prange(len(run_start)):
        s = run_start[q]
        e = run_end[q]
        k = offsets[q]
        if dedupe:
            for a in range(s, e):
                for b in range(a + 1, e):
                    i = srow[a]
                    j = srow[b]
                    if j < i:
                        i, j = j, i
                    li[k] = i
                    ri[k] = j
                    keep[k] = not _seen(prev_l, prev_r, n_prev, i, j)
                    k += 1
        else:
            m = s + n_left[q]
            for a in range(s, m):
                for b in range(m, e):
                    i = srow[a]
                    j = srow[b]
                    li[k] = i
                    ri[k] = j
                    keep[k] = not _seen(prev_l, prev_r, n_prev, i, j)
                    k += 1


@nb.njit(**JIT)
def _mix(h, x):
    """Fold one key part into a running 64-bit hash (splitmix64 finaliser of the sum)."""
    z = h ^ (x + np.uint64(0x9E3779B97F4A7C15) + (h << np.uint64(6)) + (h >> np.uint64(2)))
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@nb.njit(**JIT)
def _combine(parts, unordered):
    n, k = parts.shape
    out = np.zeros(n, dtype=np.uint64)
    buf = np.empty(k, dtype=np.uint64)
    for i in range(n):
        null = False
        for c in range(k):
            buf[c] = parts[i, c]
            if buf[c] == 0:
                null = True
        if null:
            continue
        if unordered:
            buf.sort()
        h = np.uint64(0x243F6A8885A308D3)
        for c in range(k):
            h = _mix(h, buf[c])
        if h == 0:
            h = np.uint64(1)
        out[i] = h
    return out


# --- public functions ---------------------------------------------------------------------

def _key_matrix(keys, name: str) -> np.ndarray:
    if not isinstance(keys, np.ndarray) or keys.dtype != np.uint64:
        raise ValueError(f"{name} must be a numpy uint64 array, got "
                         f"{getattr(keys, 'dtype', type(keys).__name__)}")
    if keys.ndim == 1:
        keys = keys[:, None]
    if keys.ndim != 2:
        raise ValueError(f"{name} must be (records, rules), got shape {keys.shape}")
    return np.ascontiguousarray(keys)


def combine_keys(parts: np.ndarray, *, unordered: bool = False) -> np.ndarray:
    """One ``uint64`` key per record from the columns of ``parts`` (records × key parts).

    0 (no key) where any part is 0; otherwise a 64-bit hash of the parts in order, or of the
    parts sorted when ``unordered`` (so ``(given, surname)`` meets ``(surname, given)``).
    """
    parts = _key_matrix(parts, "parts")
    return _combine(parts, bool(unordered))


def _sorted_rule(lk: np.ndarray, rk: np.ndarray | None):
    """Sorted keys, sides and rows of one rule's keyed records (key 0 left out)."""
    lrows = np.flatnonzero(lk)
    if rk is None:
        keys, side, rows = lk[lrows], np.zeros(len(lrows), np.int8), lrows
    else:
        rrows = np.flatnonzero(rk)
        keys = np.concatenate([lk[lrows], rk[rrows]])
        side = np.concatenate([np.zeros(len(lrows), np.int8), np.ones(len(rrows), np.int8)])
        rows = np.concatenate([lrows, rrows])
    order = np.argsort(keys, kind="stable")
    return keys[order], side[order], rows[order].astype(np.int64)


def count_rule_pairs(left_keys: np.ndarray, right_keys: np.ndarray | None = None) -> int:
    """Pairs one rule yields: equal non-zero keys across sides (or within one side)."""
    lk = _key_matrix(left_keys, "left_keys")[:, 0]
    rk = None if right_keys is None else _key_matrix(right_keys, "right_keys")[:, 0]
    skeys, sside, _ = _sorted_rule(lk, rk)
    _, _, _, pairs = _runs(skeys, sside, rk is None)
    return int(pairs.sum())


def block(left_keys: np.ndarray, right_keys: np.ndarray | None, names: list[str], *,
          max_pairs_per_rule: int = MAX_PAIRS_PER_RULE, chunk_pairs: int = CHUNK_PAIRS,
          on_counts=None) -> Blocked:
    """Candidate pairs of the union of blocking rules.

    ``left_keys`` is (left records × rules) ``uint64`` (see :func:`combine_keys`);
    ``right_keys`` the same for the right table, or None to deduplicate the left table.
    Every rule is counted first; ``on_counts(list[RuleCount])`` is called with the counts
    before any pair is made (``new_pairs`` is then still unknown, -1). A rule yielding more
    than ``max_pairs_per_rule`` pairs raises :class:`BlockingLimitError`.
    """
    lk = _key_matrix(left_keys, "left_keys")
    dedupe = right_keys is None
    rk = lk if dedupe else _key_matrix(right_keys, "right_keys")
    n_rules = lk.shape[1]
    if rk.shape[1] != n_rules:
        raise ValueError(f"left_keys has {n_rules} rules, right_keys {rk.shape[1]}")
    if len(names) != n_rules:
        raise ValueError(f"{len(names)} rule names for {n_rules} rules")
    if n_rules > 127:
        raise ValueError(f"at most 127 blocking rules, got {n_rules}")
    if max_pairs_per_rule < 0 or chunk_pairs < 1:
        raise ValueError("max_pairs_per_rule must be >= 0 and chunk_pairs >= 1")

    prepared = []
    raw_counts = []
    for r in range(n_rules):
        skeys, sside, srows = _sorted_rule(lk[:, r], None if dedupe else rk[:, r])
        run_start, run_end, n_left, pairs = _runs(skeys, sside, dedupe)
        raw_counts.append(int(pairs.sum()))
        prepared.append((srows, run_start, run_end, n_left, pairs))
    if on_counts is not None:
        on_counts([RuleCount(n, c, -1) for n, c in zip(names, raw_counts)])
    for name, c in zip(names, raw_counts):
        if c > max_pairs_per_rule:
            raise BlockingLimitError(
                f"blocking rule {name!r} would yield {c:,} candidate pairs, more than the limit of "
                f"{max_pairs_per_rule:,}; add a key to the rule to make it stricter, or raise "
                f"max_pairs_per_rule")

    out_li, out_ri, out_rule, counts = [], [], [], []
    for r, (srows, run_start, run_end, n_left, pairs) in enumerate(prepared):
        new = 0
        if len(pairs):
            cum = np.concatenate([[0], np.cumsum(pairs)])
            q0 = 0
            while q0 < len(pairs):
                q1 = int(np.searchsorted(cum, cum[q0] + chunk_pairs, side="right")) - 1
                q1 = min(max(q1, q0 + 1), len(pairs))
                size = int(cum[q1] - cum[q0])
                li = np.empty(size, np.int64)
                ri = np.empty(size, np.int64)
                keep = np.empty(size, np.bool_)
                _emit(run_start[q0:q1], run_end[q0:q1], n_left[q0:q1], srows, cum[q0:q1] - cum[q0],
                      lk, rk, r, dedupe, li, ri, keep)
                out_li.append(li[keep])
                out_ri.append(ri[keep])
                kept = int(keep.sum())
                out_rule.append(np.full(kept, r, np.int8))
                new += kept
                q0 = q1
        counts.append(RuleCount(names[r], raw_counts[r], new))
    if out_li:
        return Blocked(np.concatenate(out_li), np.concatenate(out_ri), np.concatenate(out_rule), counts)
    empty = np.zeros(0, np.int64)
    return Blocked(empty, empty.copy(), np.zeros(0, np.int8), counts)

