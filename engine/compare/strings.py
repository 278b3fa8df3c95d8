"""Generic string comparisons (exact, Jaro-Winkler bands, edit-distance bands) for any text column.

``person`` holds the person-field comparisons of the contract's columns; these serve other
data a link configuration names (postcodes, street numbers, social security ids).

Null semantics, for every comparison here: **-1 when either value is null** (empty after
normalising); otherwise the highest level whose condition holds.

``exact``: 1 equal, 0 otherwise.

``jaro_winkler`` with thresholds ``t_1 > t_2 > ... > t_k`` (default 0.92, 0.88, 0.70, as
Splink's name comparison): level ``k + 1`` exact, level ``k + 1 - i`` when JW >= ``t_i``
(the first threshold reached), 0 otherwise.

``edit_distance`` with thresholds ``d_1 < d_2 < ... < d_k`` (default 1, 2): level
``k + 1`` exact, level ``k + 1 - i`` when the optimal-string-alignment distance
(Damerau-Levenshtein without repeated edits of a substring: insertions, deletions,
substitutions, transpositions of two adjacent characters) is <= ``d_i``, 0 otherwise.
"""
from __future__ import annotations

import numba as nb
import numpy as np

from jukimatch.engine.compare._similarity import range_equal
from jukimatch.engine.compare.arguments import check_codepoints, check_pairs
from jukimatch.engine.compare.levels import MAX_LEVELS
from jukimatch.engine.compare.person import jaro_winkler
from jukimatch.engine.runtime import JIT, JIT_PARALLEL, PAIR_BLOCK, threads_for
from jukimatch.engine.text import Codepoints

__all__ = ["check_thresholds", "compare_edit_distance", "compare_exact", "compare_jaro_winkler", "edit_distance"]


# --- kernels ------------------------------------------------------------------------------

@nb.njit(**JIT_PARALLEL)
def _exact_pairs(lcp, loff, rcp, roff, li, ri):
    n = len(li)
    out = np.empty(n, dtype=np.int8)
    for k in nb.prange(n):
        a0, a1 = loff[li[k]], loff[li[k] + 1]
        b0, b1 = roff[ri[k]], roff[ri[k] + 1]
        if a0 == a1 or b0 == b1:
            out[k] = -1
        elif range_equal(lcp, a0, a1, rcp, b0, b1):
            out[k] = 1
        else:
            out[k] = 0
    return out


@nb.njit(**JIT)
def _osa(lcp, a0, a1, rcp, b0, b1, cutoff, prev2, prev, cur):
    """Optimal string alignment distance, or cutoff + 1 when it exceeds ``cutoff``."""
    la = a1 - a0
    lb = b1 - b0
    if la - lb > cutoff or lb - la > cutoff:
        return cutoff + 1
    for j in range(lb + 1):
        prev[j] = j
        prev2[j] = j
    for i in range(1, la + 1):
        cur[0] = i
        row_min = i
        ca = lcp[a0 + i - 1]
        for j in range(1, lb + 1):
            cb = rcp[b0 + j - 1]
            cost = 0 if ca == cb else 1
            v = prev[j] + 1
            if cur[j - 1] + 1 < v:
                v = cur[j - 1] + 1
            if prev[j - 1] + cost < v:
                v = prev[j - 1] + cost
            if i > 1 and j > 1 and ca == rcp[b0 + j - 2] and lcp[a0 + i - 2] == cb:
                if prev2[j - 2] + 1 < v:
                    v = prev2[j - 2] + 1
            cur[j] = v
            if v < row_min:
                row_min = v
        if row_min > cutoff:
            return cutoff + 1
        for j in range(lb + 1):
            prev2[j] = prev[j]
            prev[j] = cur[j]
    return prev[lb] if prev[lb] <= cutoff else cutoff + 1


@nb.njit(**JIT_PARALLEL)
def _edit_distance_pairs(lcp, loff, rcp, roff, li, ri, cutoff, max_len):
    n = len(li)
    out = np.empty(n, dtype=np.int64)
    n_blocks = (n + PAIR_BLOCK - 1) // PAIR_BLOCK
    for blk in nb.prange(n_blocks):
        prev2 = np.empty(max_len + 1, np.int64)
        prev = np.empty(max_len + 1, np.int64)
        cur = np.empty(max_len + 1, np.int64)
        for k in range(blk * PAIR_BLOCK, min(n, (blk + 1) * PAIR_BLOCK)):
            a0, a1 = loff[li[k]], loff[li[k] + 1]
            b0, b1 = roff[ri[k]], roff[ri[k] + 1]
            if a0 == a1 or b0 == b1:
                out[k] = -1
            else:
                out[k] = _osa(lcp, a0, a1, rcp, b0, b1, cutoff, prev2, prev, cur)
    return out


# --- public wrappers ----------------------------------------------------------------------


def compare_exact(left: Codepoints, right: Codepoints, li: np.ndarray, ri: np.ndarray) -> np.ndarray:
    """``int8`` per pair: 1 equal, 0 different, -1 either side null (empty)."""
    lcp, loff = check_codepoints(left, "left")
    rcp, roff = check_codepoints(right, "right")
    li, ri = check_pairs(li, ri, len(loff) - 1, len(roff) - 1)
    with threads_for(len(li)):
        return _exact_pairs(lcp, loff, rcp, roff, li, ri)


def edit_distance(left: Codepoints, right: Codepoints, li: np.ndarray, ri: np.ndarray, *,
                  cutoff: int) -> np.ndarray:
    """Optimal-string-alignment distance (``int64``) per pair, capped at ``cutoff + 1``.

    -1 when either side is null. Distances above ``cutoff`` are all reported as ``cutoff + 1``
    (the kernel stops as soon as a row of the table exceeds it).
    """
    if int(cutoff) != cutoff or cutoff < 0:
        raise ValueError(f"cutoff must be a non-negative integer, got {cutoff!r}")
    lcp, loff = check_codepoints(left, "left")
    rcp, roff = check_codepoints(right, "right")
    li, ri = check_pairs(li, ri, len(loff) - 1, len(roff) - 1)
    lens = [int(np.max(np.diff(o))) if len(o) > 1 else 0 for o in (loff, roff)]
    with threads_for(len(li)):
        return _edit_distance_pairs(lcp, loff, rcp, roff, li, ri, int(cutoff), max(lens))


def _bands(exact: np.ndarray, score: np.ndarray, thresholds: tuple, higher_is_closer: bool) -> np.ndarray:
    k = len(thresholds)
    out = np.zeros(len(exact), dtype=np.int8)
    # walk from the loosest threshold to the strictest: the highest level reached wins
    for i in range(k - 1, -1, -1):
        t = thresholds[i]
        hit = score >= t if higher_is_closer else (score <= t) & (score >= 0)
        out[hit] = k - i
    out[exact == 1] = k + 1
    out[exact == -1] = -1
    return out


def compare_jaro_winkler(left: Codepoints, right: Codepoints, li: np.ndarray, ri: np.ndarray, *,
                         thresholds: tuple[float, ...] = (0.92, 0.88, 0.70)) -> np.ndarray:
    """Levels exact / JW >= each threshold (descending) / else; see the module docstring."""
    thresholds = check_thresholds(thresholds, descending=True)
    exact = compare_exact(left, right, li, ri)
    if not len(exact):
        return exact
    jw = jaro_winkler(left, right, li, ri).astype(np.float64)
    return _bands(exact, jw, thresholds, higher_is_closer=True)


def compare_edit_distance(left: Codepoints, right: Codepoints, li: np.ndarray, ri: np.ndarray, *,
                          thresholds: tuple[int, ...] = (1, 2)) -> np.ndarray:
    """Levels exact / distance <= each threshold (ascending) / else; see the module docstring."""
    thresholds = check_thresholds(thresholds, descending=False)
    exact = compare_exact(left, right, li, ri)
    if not len(exact):
        return exact
    dist = edit_distance(left, right, li, ri, cutoff=int(max(thresholds)))
    return _bands(exact, dist, thresholds, higher_is_closer=False)


def check_thresholds(thresholds, *, descending: bool) -> tuple:
    t = tuple(thresholds)
    if not t or len(t) > MAX_LEVELS - 2:
        raise ValueError(f"thresholds must hold 1..{MAX_LEVELS - 2} values, got {list(t)}")
    if not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in t):
        raise ValueError(f"thresholds must be numbers, got {list(t)}")
    ordered = all(a > b for a, b in zip(t, t[1:])) if descending else all(a < b for a, b in zip(t, t[1:]))
    if not ordered:
        raise ValueError(f"thresholds must be strictly {'decreasing' if descending else 'increasing'}, "
                         f"got {list(t)}")
    if not descending and not all(float(x).is_integer() and x >= 0 for x in t):
        raise ValueError(f"edit distance thresholds must be non-negative integers, got {list(t)}")
    return t
