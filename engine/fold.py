"""Per-character folding over the code-point layout: the kernels every normaliser shares.

A *table* is a ``uint32`` array indexed by code point: ``table[c]`` is what ``c`` becomes,
``0`` deletes it, and a value with the top bit set (``EXPAND | k``) emits the two code points
``pairs[k]`` (the second may be 0 for none). Code points at or past ``len(table)`` pass
through unchanged, so a table only needs to cover the range it changes.
"""
from __future__ import annotations

import numba as nb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .text import Codepoints, _as_large_string, from_codepoints, to_codepoints

EXPAND = np.uint32(0x80000000)
NO_PAIRS = np.zeros((0, 2), dtype=np.uint32)


@nb.njit(cache=True, nogil=True)
def _translate(cp, off, table, pairs):
    n = len(off) - 1
    width = 2 if len(pairs) else 1
    out = np.empty(len(cp) * width, dtype=np.uint32)
    new_off = np.empty(n + 1, dtype=np.int64)
    new_off[0] = 0
    size = len(table)
    k = 0
    for i in range(n):
        for j in range(off[i], off[i + 1]):
            c = cp[j]
            v = table[c] if c < size else c
            if v == 0:
                continue
            if v >= 0x80000000:
                p = v & 0x7FFFFFFF
                out[k] = pairs[p, 0]
                k += 1
                if pairs[p, 1] != 0:
                    out[k] = pairs[p, 1]
                    k += 1
            else:
                out[k] = v
                k += 1
        new_off[i + 1] = k
    return out[:k], new_off


@nb.njit(cache=True, nogil=True)
def _squeeze_spaces(cp, off):
    n = len(off) - 1
    out = np.empty(len(cp), dtype=np.uint32)
    new_off = np.empty(n + 1, dtype=np.int64)
    new_off[0] = 0
    k = 0
    for i in range(n):
        start = k
        pending = False
        for j in range(off[i], off[i + 1]):
            c = cp[j]
            if c == 32:
                pending = k > start
                continue
            if pending:
                out[k] = 32
                k += 1
                pending = False
            out[k] = c
            k += 1
        new_off[i + 1] = k
    return out[:k], new_off


@nb.njit(cache=True, nogil=True)
def _has_private_use(cp, off):
    n = len(off) - 1
    out = np.zeros(n, dtype=np.bool_)
    for i in range(n):
        for j in range(off[i], off[i + 1]):
            c = cp[j]
            if (0xE000 <= c <= 0xF8FF) or c >= 0xF0000:
                out[i] = True
                break
    return out


def check_layout(cps: Codepoints) -> None:
    if not isinstance(cps, Codepoints):
        raise ValueError(f"expected Codepoints, got {type(cps).__name__}")
    if cps.cp.dtype != np.uint32 or cps.off.dtype != np.int64:
        raise ValueError(f"expected uint32/int64 layout, got {cps.cp.dtype}/{cps.off.dtype}")
    if len(cps.off) == 0 or cps.off[0] != 0 or cps.off[-1] != len(cps.cp):
        raise ValueError("offsets must start at 0 and end at len(cp)")


def translate(cps: Codepoints, table: np.ndarray, pairs: np.ndarray = NO_PAIRS) -> Codepoints:
    """Apply a translation table (see the module docstring) to every string."""
    check_layout(cps)
    if table.dtype != np.uint32 or table.ndim != 1:
        raise ValueError(f"table must be a 1-d uint32 array, got {table.dtype} {table.shape}")
    if pairs.dtype != np.uint32 or pairs.ndim != 2 or pairs.shape[1] != 2:
        raise ValueError(f"pairs must be an (k, 2) uint32 array, got {pairs.dtype} {pairs.shape}")
    cp, off = _translate(np.ascontiguousarray(cps.cp), np.ascontiguousarray(cps.off),
                         np.ascontiguousarray(table), np.ascontiguousarray(pairs))
    return Codepoints(cp, off)


def squeeze_spaces(cps: Codepoints) -> Codepoints:
    """Collapse runs of ASCII spaces to one and strip them at both ends of every string."""
    check_layout(cps)
    cp, off = _squeeze_spaces(np.ascontiguousarray(cps.cp), np.ascontiguousarray(cps.off))
    return Codepoints(cp, off)


def has_private_use(cps: Codepoints) -> np.ndarray:
    """True where a string holds a private-use code point (U+E000-U+F8FF, planes 15 and 16)."""
    check_layout(cps)
    return _has_private_use(np.ascontiguousarray(cps.cp), np.ascontiguousarray(cps.off))


def identity_table(size: int) -> np.ndarray:
    """A table of ``size`` entries that changes nothing (the start of every table)."""
    return np.arange(size, dtype=np.uint32)


def as_strings(values) -> pa.LargeStringArray:
    """Any string-like column (list, Array, ChunkedArray) as one Arrow large_string array."""
    return _as_large_string(values)


def nfkc(values) -> pa.LargeStringArray:
    """Arrow NFKC over a string column (the caller's values may be any string-like column)."""
    return pc.utf8_normalize(_as_large_string(values), "NFKC")


def nfkd(values) -> pa.LargeStringArray:
    """Arrow NFKD (compatibility decomposition: accents become separate combining marks)."""
    return pc.utf8_normalize(_as_large_string(values), "NFKD")


__all__ = [
    "EXPAND",
    "NO_PAIRS",
    "as_strings",
    "check_layout",
    "from_codepoints",
    "has_private_use",
    "identity_table",
    "nfkc",
    "nfkd",
    "squeeze_spaces",
    "to_codepoints",
    "translate",
]
