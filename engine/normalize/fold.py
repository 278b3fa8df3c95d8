"""Per-character folding over the code-point layout: the kernels every normaliser shares.

A *table* is a ``uint32`` array indexed by code point: ``table[c]`` is what ``c`` becomes,
``0`` deletes it, and a value with the top bit set (``EXPAND | k``) emits the two code points
``pairs[k]`` (the second may be 0 for none). Code points at or past ``len(table)`` pass
through unchanged, so a table only needs to cover the range it changes.
"""
from __future__ import annotations

import functools
import unicodedata
from typing import Callable

import numba as nb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from jukimatch.engine.text import (
    Codepoints, as_large_string, from_codepoints, is_valid_row, row_chars, string_array, to_codepoints, utf8_buffers,
    utf8_char,
)

EXPAND = np.uint32(0x80000000)
NO_PAIRS = np.zeros((0, 2), dtype=np.uint32)
NO_TABLE = np.zeros(0, dtype=np.uint32)  # for :func:`folded_codepoints`: translate nothing


@nb.njit(cache=True, nogil=True)
def _translate(cp, off, table, pairs):
    n = len(off) - 1
    size = len(table)
    total = len(cp)
    if len(pairs):  # an expansion may emit two code points: count them first
        for j in range(len(cp)):
            c = cp[j]
            if c < size and table[c] >= 0x80000000 and pairs[table[c] & 0x7FFFFFFF, 1] != 0:
                total += 1
    out = np.empty(total, dtype=np.uint32)
    new_off = np.empty(n + 1, dtype=np.int64)
    new_off[0] = 0
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


UNSTABLE = np.uint32(0xFFFFFFFF)  # :func:`folded` of a code point only the full normaliser may change


@nb.njit(cache=True, nogil=True, inline="always")
def folded(c, unstable, compat):
    """``c`` as the normalisation form leaves it where that is plain, else :data:`UNSTABLE`:
    the row needs the full normaliser. A code point that is stable (none changes alone, none
    combines with a neighbour: no combining marks, vowel signs, jamo or unassigned code
    points) stays; with ``compat`` (NFKC, NFKD) full-width ASCII (U+FF01-FF5E) and the
    ideographic space become ASCII: each maps to one character, and without a combining
    neighbour (which would itself be unstable) nothing composes. A fifth of Japanese names
    and addresses are written so."""
    if c < 0x10000:
        if not unstable[c]:
            return np.uint32(c)
        if compat and 0xFF01 <= c <= 0xFF5E:
            return np.uint32(c - 0xFEE0)
        if compat and c == 0x3000:
            return np.uint32(32)
        return UNSTABLE
    if 0x20000 <= c < 0x2F800 or 0x2FA20 <= c < 0x40000 or c >= 0xF0000:
        return np.uint32(c)
    return UNSTABLE  # outside the ideographs and private use: let Arrow decide


@nb.njit(cache=True, nogil=True)
def replace_rows(cp, off, rows, sub_cp, sub_off):
    """Strings ``rows`` (ascending) of (cp, off) replaced by the strings of (sub_cp, sub_off), in order."""
    n = len(off) - 1
    total = len(cp) + len(sub_cp)
    for r in range(len(rows)):
        total -= off[rows[r] + 1] - off[rows[r]]
    out = np.empty(total, dtype=np.uint32)
    new_off = np.empty(n + 1, dtype=np.int64)
    new_off[0] = 0
    k = 0
    r = 0
    for i in range(n):
        if r < len(rows) and rows[r] == i:
            a, b = sub_off[r], sub_off[r + 1]
            out[k: k + b - a] = sub_cp[a:b]
            r += 1
        else:
            a, b = off[i], off[i + 1]
            out[k: k + b - a] = cp[a:b]
        k += b - a
        new_off[i + 1] = k
    return out, new_off


@functools.cache
def unstable_table(form: str) -> np.ndarray:
    """BMP code points that a normalisation form may change, alone or next to another."""
    table = np.zeros(0x10000, dtype=np.bool_)
    for c in range(0x10000):
        ch = chr(c)
        table[c] = (not unicodedata.is_normalized(form, ch) or unicodedata.combining(ch) != 0
                    or unicodedata.category(ch) in ("Mn", "Mc", "Cn", "Cs")
                    or 0x1100 <= c < 0x1200 or 0xA960 <= c < 0xA980 or 0xD7B0 <= c < 0xD800)
    table.setflags(write=False)
    return table


@nb.njit(cache=True, nogil=True, inline="always")
def _put(out, k, start, c, squeeze, pending):
    """Emit ``c`` at out[k] (spaces squeezed: a run becomes one, none at the start or, once
    the row ends, at the end); (the next k, whether a space is pending)."""
    if squeeze:
        if c == 32:
            return k, k > start
        if pending:
            out[k] = 32
            k += 1
    out[k] = c
    return k + 1, False


@nb.njit(cache=True, nogil=True)
def _fold_utf8(boff, data, bits, bit_offset, has_nulls, unstable, compat, table, pairs, squeeze):
    """Decode, normalise where plain (:func:`folded`), :func:`translate` (an empty table:
    not at all) and :func:`squeeze_spaces` in one pass over Arrow's UTF-8: (code points,
    offsets, rows left empty for the full normaliser, rows holding a private-use code point)."""
    n = len(boff) - 1
    size = len(table)
    chars = 0
    for i in range(n):
        chars += row_chars(boff, data, bits, bit_offset, has_nulls, i)
    out = np.empty(2 * chars if len(pairs) else chars, dtype=np.uint32)  # an expansion emits two
    off = np.zeros(n + 1, dtype=np.int64)
    full = np.zeros(n, dtype=np.bool_)
    private = np.zeros(n, dtype=np.bool_)
    k = 0
    for i in range(n):
        start, pending = k, False
        if is_valid_row(bits, bit_offset, has_nulls, i):
            b = boff[i]
            while b < boff[i + 1]:
                c, b = utf8_char(data, b)
                c = folded(c, unstable, compat)
                if c == UNSTABLE:
                    full[i] = True
                    k = start
                    break
                if (0xE000 <= c <= 0xF8FF) or c >= 0xF0000:
                    private[i] = True
                v = c if size == 0 else table[c] if c < size else c
                if v == 0 and size != 0:
                    continue
                if v >= 0x80000000:
                    p = v & 0x7FFFFFFF
                    k, pending = _put(out, k, start, pairs[p, 0], squeeze, pending)
                    if pairs[p, 1] != 0:
                        k, pending = _put(out, k, start, pairs[p, 1], squeeze, pending)
                else:
                    k, pending = _put(out, k, start, v, squeeze, pending)
        off[i + 1] = k
    if len(pairs):  # room was made for every code point to expand: keep only what was written
        return out[:k].copy(), off, full, private
    return out[:k], off, full, private


def folded_codepoints(values, form: str, table: np.ndarray = NO_TABLE, pairs: np.ndarray = NO_PAIRS, *,
                      squeeze: bool = True, before: Callable | None = None) -> tuple[Codepoints, np.ndarray]:
    """``squeeze_spaces(translate(normalized_codepoints(values, form), table, pairs))`` (the
    squeeze only with ``squeeze``), and per row whether its normalised text holds a
    private-use code point (:func:`has_private_use`), read straight from Arrow's UTF-8 in
    one pass. Only the rows the full normaliser must rewrite go through Arrow's
    ``utf8_normalize``, ``before`` (an Arrow column -> column function) applied to them first."""
    if form not in ("NFC", "NFKC", "NFD", "NFKD"):
        raise ValueError(f"unknown normalisation form {form!r}")
    strings = string_array(values)  # no copy: only the rows that need it are taken below
    table, pairs = np.ascontiguousarray(table, np.uint32), np.ascontiguousarray(pairs, np.uint32)
    cp, off, full, private = _fold_utf8(*utf8_buffers(strings), unstable_table(form), form in ("NFKC", "NFKD"),
                                        table, pairs, squeeze)
    rows = np.flatnonzero(full)
    if len(rows):
        subset = strings.take(pa.array(rows))
        fixed = to_codepoints(pc.utf8_normalize(as_large_string(subset if before is None else before(subset)), form))
        private[rows] = has_private_use(fixed)
        fixed = translate(fixed, table, pairs) if len(table) else fixed
        fixed = squeeze_spaces(fixed) if squeeze else fixed
        cp, off = replace_rows(cp, off, rows.astype(np.int64), fixed.cp, fixed.off)
    return Codepoints(cp, off), private


def normalized_codepoints(values, form: str, *, before: Callable | None = None) -> Codepoints:
    """``to_codepoints(utf8_normalize(values, form))``, normalising only the rows that need it
    (:func:`folded_codepoints`, nothing translated or squeezed)."""
    return folded_codepoints(values, form, squeeze=False, before=before)[0]


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
    return as_large_string(values)


def nfkc(values) -> pa.LargeStringArray:
    """Arrow NFKC over a string column (the caller's values may be any string-like column)."""
    return pc.utf8_normalize(as_large_string(values), "NFKC")


__all__ = [
    "EXPAND",
    "NO_PAIRS",
    "as_strings",
    "check_layout",
    "folded_codepoints",
    "replace_rows",
    "from_codepoints",
    "has_private_use",
    "identity_table",
    "nfkc",
    "normalized_codepoints",
    "squeeze_spaces",
    "to_codepoints",
    "translate",
]
