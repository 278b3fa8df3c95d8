"""Hash partitions of a reconciliation, and the global passes that keep them exact.

Residents and responses are split by a hash of ``person_id``: every row of one person_id
(duplicates included) and every answer to it land in one partition, so validation,
linking, comparison and the per-person decision need nothing from other partitions.
Three things do, and each has a global pass here:

- **u**: the random pairs are planned over the whole input (``chunks.plan_u_sample``);
  :func:`localize_plan` tells each partition which sides of which sample pairs it holds;
- **the model**: partitions return pattern counts; one EM runs on their sum;
- **number rules** (a number given to two persons; a number held by another person): each
  partition reports the numbers its plausible persons would be given and the numbers its
  persons hold; :func:`resolve_numbers` finds, per partition, what the others contribute
  and expresses it as a few stand-in persons (:class:`~jukimatch.engine.reconcile.score.Phantoms`)
  that the partition adds to its own ``decide`` — so the rules stay written once, in
  ``decide``, and fire exactly as they would on the whole table.

Why stand-ins are exact (for a number X a real person of partition p chooses or holds,
with c_nh remote persons choosing X without holding it, c_h remote persons choosing and
holding it, and h remote holders): ``decide`` only asks whether more than one person
chooses X, whether more than one holds X, whether anybody holds X, and whether somebody
choosing X does not hold it. One stand-in choosing X and holding nothing (if c_nh > 0),
plus one stand-in holding X (if h > 0) that also chooses X (if c_h > 0), answer all four
questions for p's persons as the whole table would. Stand-ins of different numbers do
not interact, and their own decisions are discarded.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa

from jukimatch.engine.reconcile.chunks import PartPlan, USamplePlan
from jukimatch.engine.reconcile.decide import sort_numbers
from jukimatch.engine.reconcile.score import Phantoms
from jukimatch.engine.text import hash_texts


def partition_of(person_id: pa.ChunkedArray | pa.Array, n_parts: int) -> np.ndarray:
    """Partition (0..n_parts-1) of each row from a stable 64-bit hash of its person_id."""
    if n_parts < 1:
        raise ValueError(f"n_parts must be at least 1, got {n_parts}")
    if n_parts == 1 or len(person_id) == 0:
        return np.zeros(len(person_id), dtype=np.int64)
    h = hash_texts(person_id)
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xFF51AFD7ED558CCD)
    h ^= h >> np.uint64(33)
    return (h % np.uint64(n_parts)).astype(np.int64)


def split_rows(part: np.ndarray, n_parts: int) -> list[np.ndarray]:
    """Row indices of each partition, ascending (input order kept within a partition)."""
    # the partition numbers in the narrowest type: numpy sorts 8- and 16-bit keys by radix
    narrow = np.uint8 if n_parts <= 1 << 8 else np.uint16 if n_parts <= 1 << 16 else np.int64
    order = np.argsort(np.asarray(part).astype(narrow, copy=False), kind="stable")
    bounds = np.searchsorted(part[order], np.arange(n_parts + 1))
    return [order[bounds[p]:bounds[p + 1]] for p in range(n_parts)]


def localize_plan(plan: USamplePlan, counts: np.ndarray, res_part: np.ndarray,
                  rows: list[np.ndarray]) -> list[PartPlan]:
    """Each partition's share of the global u plan, in its own row and pair numbering.

    ``counts`` are compared pairs per global resident row, ``res_part`` the partition of
    each global resident row, ``rows[p]`` the global resident rows of partition p (sorted).
    """
    n_parts = len(rows)
    counts = np.asarray(counts, dtype=np.int64)
    ends = np.cumsum(counts)
    starts = ends - counts
    k = np.arange(len(plan.res), dtype=np.int64)
    owner = np.searchsorted(ends, plan.pair, side="right")  # resident row of each sampled pair
    offset = plan.pair - starts[owner] if len(owner) else np.zeros(0, np.int64)
    rp, pp = res_part[plan.res], res_part[owner]
    out = []
    for p in range(n_parts):
        local_counts = counts[rows[p]]
        local_starts = np.cumsum(local_counts) - local_counts
        sel_r = np.flatnonzero(rp == p)
        res_row = np.searchsorted(rows[p], plan.res[sel_r])
        sel_p = np.flatnonzero(pp == p)
        pair_idx = local_starts[np.searchsorted(rows[p], owner[sel_p])] + offset[sel_p]
        o1, o2 = np.argsort(res_row, kind="stable"), np.argsort(pair_idx, kind="stable")
        out.append(PartPlan(k[sel_r][o1], res_row[o1], k[sel_p][o2], pair_idx[o2]))
    return out


def resolve_numbers(reports: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> list[Phantoms]:
    """Stand-ins per partition from every partition's number report.

    ``reports[p]`` is (numbers chosen by p's plausible persons, whether each chooser holds
    that number, numbers held by p's persons), as ``score.number_report`` returns it.
    """
    n_parts = len(reports)
    empty = [Phantoms.none() for _ in range(n_parts)]
    if n_parts < 2:
        return empty
    if not sum(len(r[0]) + len(r[2]) for r in reports):
        return empty
    c_hold = np.concatenate([r[1] for r in reports]).astype(bool)
    # Every event (a number chosen, a number held) laid out partition by partition, then one
    # stable radix sort by number: equal numbers end up by partition, so each key (number,
    # partition) is one run; sums per key, then per number. (np.unique and searchsorted on
    # random keys cost seconds per million events; an argsort six times a radix sort.)
    num = np.concatenate([x for r in reports for x in (r[0], r[2])]).astype(np.int64)
    of_part = np.repeat(np.arange(n_parts, dtype=np.int64), [len(r[0]) + len(r[2]) for r in reports])
    is_c = np.concatenate([np.repeat([True, False], [len(r[0]), len(r[2])]) for r in reports])
    hold = np.zeros(len(num), dtype=bool)
    hold[is_c] = c_hold
    order, ns = sort_numbers(num)
    ps, is_c, hold = of_part[order], is_c[order], hold[order]
    starts = np.flatnonzero(np.r_[True, (ns[1:] != ns[:-1]) | (ps[1:] != ps[:-1])])
    key_num, part = ns[starts], ps[starts]

    def per_key(mask):
        return np.add.reduceat(mask.astype(np.int64), starts)

    loc_nh, loc_h, loc_held = per_key(is_c & ~hold), per_key(is_c & hold), per_key(~is_c)
    num_starts = np.flatnonzero(np.r_[True, key_num[1:] != key_num[:-1]])
    width = np.diff(np.r_[num_starts, len(key_num)])

    def total(x):
        return np.repeat(np.add.reduceat(x, num_starts), width)

    c_nh = total(loc_nh) - loc_nh
    c_h = total(loc_h) - loc_h
    h = total(loc_held) - loc_held
    a = c_nh > 0
    b = h > 0
    out = []
    for mine in split_rows(part, n_parts):  # ascending key order within each partition
        ap, bp = mine[a[mine]], mine[b[mine]]
        out.append(Phantoms(
            number=np.concatenate([key_num[ap], key_num[bp]]),
            held=np.concatenate([np.full(len(ap), -1, np.int64), key_num[bp]]),
            chooses=np.concatenate([np.ones(len(ap), bool), c_h[bp] > 0]),
        ))
    return out


def bucket_report(report: tuple[np.ndarray, np.ndarray, np.ndarray], n_buckets: int) -> list[tuple]:
    """Split a number report by number into buckets that :func:`resolve_numbers` can treat apart."""
    chosen, holds, held = report
    # each bucket's events in their order, by one sort of the bucket numbers (not a pass a bucket)
    by_chosen, by_held = split_rows(chosen % n_buckets, n_buckets), split_rows(held % n_buckets, n_buckets)
    return [(chosen[c], holds[c], held[h]) for c, h in zip(by_chosen, by_held)]


__all__ = ["bucket_report", "localize_plan", "partition_of", "resolve_numbers", "split_rows"]
