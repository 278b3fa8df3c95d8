"""Arrow string columns <-> the kernels' layout. The one place that knows the layout.

Layout: a column of n strings is ``Codepoints(cp, off)`` where ``cp`` is a flat
``uint32`` array of Unicode code points and ``off`` an ``int64`` array of n+1 offsets;
string i is ``cp[off[i]:off[i+1]]``. Null and empty are the same: zero length (the
contract says an empty string and a null both mean unknown).

Conversion works on whole buffers (one decode of Arrow's UTF-8 data), never per string.
"""
from __future__ import annotations

from typing import NamedTuple

import numba as nb
import numpy as np
import pyarrow as pa


class Codepoints(NamedTuple):
    cp: np.ndarray  # uint32, flat code points
    off: np.ndarray  # int64, n + 1 offsets into cp

    def __len__(self) -> int:  # number of strings, not code points
        return len(self.off) - 1

    def get(self, i: int) -> str:
        """String i (for tests and messages; never in a hot loop)."""
        return "".join(map(chr, self.cp[self.off[i]: self.off[i + 1]]))

    def lengths(self) -> np.ndarray:
        return np.diff(self.off)


def as_large_string(values) -> pa.LargeStringArray:
    return string_array(values).cast(pa.large_string())


@nb.njit(cache=True, nogil=True, inline="always")
def utf8_char(data, k):
    """The code point starting at byte ``k`` of valid UTF-8, and the byte after it: for
    kernels that read a few characters of each row straight from Arrow's buffer."""
    b = np.uint32(data[k])
    if b < 0x80:
        return b, k + 1
    if b < 0xE0:
        return ((b & 0x1F) << 6) | (np.uint32(data[k + 1]) & 0x3F), k + 2
    if b < 0xF0:
        return (((b & 0x0F) << 12) | ((np.uint32(data[k + 1]) & 0x3F) << 6)
                | (np.uint32(data[k + 2]) & 0x3F)), k + 3
    return (((b & 0x07) << 18) | ((np.uint32(data[k + 1]) & 0x3F) << 12)
            | ((np.uint32(data[k + 2]) & 0x3F) << 6) | (np.uint32(data[k + 3]) & 0x3F)), k + 4


@nb.njit(cache=True, nogil=True, inline="always")
def is_valid_row(bits, bit_offset, has_nulls, i):
    """Arrow's validity bit of row ``i`` (every row is valid without a null)."""
    if not has_nulls:
        return True
    j = i + bit_offset
    return (bits[j >> 3] >> (j & 7)) & 1 == 1


@nb.njit(cache=True, nogil=True, inline="always")
def row_chars(boff, data, bits, bit_offset, has_nulls, i):
    """Code points in row ``i`` of Arrow's UTF-8 (0 for a null): its bytes that start one."""
    total = 0
    if is_valid_row(bits, bit_offset, has_nulls, i):
        for k in range(boff[i], boff[i + 1]):
            if (data[k] & 0xC0) != 0x80:
                total += 1
    return total


@nb.njit(cache=True, nogil=True)
def _utf8_decode(boff, data, valid_bits, bit_offset, has_nulls):
    """Arrow's UTF-8 (already validated by Arrow) to code points; nulls become empty."""
    n = len(boff) - 1
    off = np.zeros(n + 1, dtype=np.int64)
    total = 0
    for i in range(n):
        total += row_chars(boff, data, valid_bits, bit_offset, has_nulls, i)
        off[i + 1] = total
    cp = np.empty(total, dtype=np.uint32)
    w = 0
    for i in range(n):
        if off[i + 1] == off[i]:
            continue
        k = boff[i]
        while k < boff[i + 1]:
            c, k = utf8_char(data, k)
            cp[w] = c
            w += 1
    return cp, off


_NO_BYTES = np.zeros(1, dtype=np.uint8)
_NO_BYTES.flags.writeable = False
_NO_STRINGS = Codepoints(np.zeros(0, dtype=np.uint32), np.zeros(1, dtype=np.int64))


def _bytes_of(buf) -> np.ndarray:
    """An Arrow buffer as a read-only uint8 view: one compiled signature for every kernel
    whether the column sits in Arrow's memory (writable) or in a mapped file (read-only)."""
    view = np.frombuffer(buf, dtype=np.uint8)
    view.flags.writeable = False
    return view


def string_array(values) -> pa.Array:
    """One string or large_string array (chunks combined), without copying when possible."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
    if not isinstance(values, pa.Array):
        values = pa.array(values, type=pa.string())
    if pa.types.is_null(values.type):
        values = values.cast(pa.string())
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        raise ValueError(f"expected a string column, got {values.type}")
    return values


def utf8_buffers(values) -> tuple:
    """(offsets, data, validity bits, bit offset, has nulls) of a string column, zero-copy
    but for widening 32-bit offsets."""
    values = string_array(values)
    n = len(values)
    bufs = values.buffers()
    width = np.int64 if pa.types.is_large_string(values.type) else np.int32
    offsets = (np.frombuffer(bufs[1], dtype=width)[values.offset: values.offset + n + 1].astype(np.int64)
               if n else np.zeros(1, np.int64))
    data = _bytes_of(bufs[2]) if n and bufs[2] is not None else _NO_BYTES
    has_nulls = values.null_count > 0
    bits = _bytes_of(bufs[0]) if has_nulls else _NO_BYTES
    return offsets, data, bits, values.offset, has_nulls


@nb.njit(cache=True, nogil=True)
def _take_codepoints(cp, off, cp2, off2, idx):
    """String ``idx[i]`` of (cp, off), or string ``-1 - idx[i]`` of (cp2, off2) where negative."""
    n = len(idx)
    new_off = np.empty(n + 1, dtype=np.int64)
    new_off[0] = 0
    for i in range(n):
        k = idx[i]
        length = off[k + 1] - off[k] if k >= 0 else off2[-k] - off2[-k - 1]
        new_off[i + 1] = new_off[i] + length
    out = np.empty(new_off[n], dtype=np.uint32)
    for i in range(n):
        k = idx[i]
        length = new_off[i + 1] - new_off[i]
        if k >= 0:
            out[new_off[i]: new_off[i + 1]] = cp[off[k]: off[k] + length]
        else:
            out[new_off[i]: new_off[i + 1]] = cp2[off2[-k - 1]: off2[-k - 1] + length]
    return out, new_off


_WHOLE_SHARE = 8  # a take of at least 1/8 of the rows goes to Arrow as it is


def take_rows(values: pa.Array | pa.ChunkedArray, idx: np.ndarray,
              valid: np.ndarray | None = None) -> pa.Array | pa.ChunkedArray:
    """``values[idx]``, null where ``valid`` is False, taken chunk by chunk.

    Arrow's take on a chunked column may join its chunks first: a cost in the column's
    length (about a second for 10M addresses), not in the rows taken. Here each chunk gives
    its own rows and the pieces are put back in ``idx`` order. A take of a large share of
    the rows costs its output anyway: that one is left to Arrow (one pass, no pieces).
    """
    idx = np.asarray(idx, dtype=np.int64)
    if len(idx) * _WHOLE_SHARE >= len(values):
        return values.take(pa.array(idx, mask=None if valid is None else ~np.asarray(valid, dtype=bool)))
    sel = idx if valid is None else idx[valid]
    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    if len(chunks) == 1:
        got = chunks[0].take(pa.array(sel))
    else:
        bounds = np.cumsum([0, *(len(c) for c in chunks)])
        if len(sel) and (sel.min() < 0 or sel.max() >= bounds[-1]):
            raise IndexError(f"take_rows: rows must lie in 0..{bounds[-1] - 1}")
        which = np.searchsorted(bounds, sel, side="right") - 1
        in_order = bool(np.all(which[1:] >= which[:-1]))  # rows ascending: no reordering
        order = np.arange(len(sel)) if in_order else np.argsort(which, kind="stable")
        cuts = np.searchsorted(which[order], np.arange(len(chunks) + 1))
        pieces = [chunks[c].take(pa.array(sel[order[cuts[c]:cuts[c + 1]]] - bounds[c]))
                  for c in range(len(chunks))]
        got = pa.concat_arrays(pieces) if pieces else pa.array([], values.type)
        if not in_order:
            back = np.empty(len(order), dtype=np.int64)
            back[order] = np.arange(len(order))
            got = got.take(pa.array(back))
    if valid is None:
        return got
    at = np.zeros(len(idx), dtype=np.int64)
    at[valid] = np.arange(len(sel))
    return got.take(pa.array(at, mask=~np.asarray(valid, dtype=bool)))


def over_chunks(values, kernel, *args):
    """``kernel(*utf8_buffers(chunk), *args)`` over each chunk of a column, the per-row
    results joined: a chunked column (Parquet row groups, CSV blocks) is never combined,
    which would copy every string first. ``kernel`` returns an array or a tuple of arrays."""
    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    if len(chunks) == 1:
        return kernel(*utf8_buffers(chunks[0]), *args)
    if not chunks:
        return kernel(*utf8_buffers(pa.array([], pa.string())), *args)
    parts = [kernel(*utf8_buffers(c), *args) for c in chunks]
    if isinstance(parts[0], tuple):
        return tuple(np.concatenate(xs) for xs in zip(*parts))
    return np.concatenate(parts)


def take_codepoints(c: Codepoints, idx: np.ndarray, other: Codepoints | None = None) -> Codepoints:
    """Strings ``idx`` of ``c``, in that order, as a new compact layout; with ``other``, a
    negative ``idx[i]`` takes string ``-1 - idx[i]`` of ``other`` (no concatenation first)."""
    idx = np.ascontiguousarray(idx, dtype=np.int64)
    other = other if other is not None else _NO_STRINGS
    if len(idx) and (idx.max() >= len(c.off) - 1 or -1 - idx.min() >= len(other.off) - 1):
        raise IndexError(f"take_codepoints: rows must lie in {-(len(other.off) - 1)}..{len(c.off) - 2}")
    return Codepoints(*_take_codepoints(np.ascontiguousarray(c.cp, dtype=np.uint32),
                                        np.ascontiguousarray(c.off, dtype=np.int64),
                                        np.ascontiguousarray(other.cp, dtype=np.uint32),
                                        np.ascontiguousarray(other.off, dtype=np.int64), idx))


def concat_codepoints(parts: list[Codepoints]) -> Codepoints:
    """The strings of several layouts, one after another."""
    offs, base = [np.zeros(1, np.int64)], 0
    for c in parts:
        offs.append(c.off[1:] + base)
        base += int(c.off[-1])
    return Codepoints(np.concatenate([c.cp for c in parts], dtype=np.uint32) if parts else np.zeros(0, np.uint32),
                      np.concatenate(offs))


@nb.njit(cache=True, nogil=True)
def _same_text(aoff, adata, abits, abit_offset, a_nulls, a_rows, boff, bdata, bbits, bbit_offset, b_nulls):
    """Per j: string a_rows[j] of a equals string j of b, byte for byte (null = empty);
    False where a_rows[j] is -1."""
    out = np.zeros(len(boff) - 1, dtype=np.bool_)
    for j in range(len(boff) - 1):
        i = a_rows[j]
        if i < 0:
            continue
        a0, a1 = aoff[i], aoff[i + 1]
        b0, b1 = boff[j], boff[j + 1]
        if not is_valid_row(abits, abit_offset, a_nulls, i):
            a1 = a0
        if not is_valid_row(bbits, bbit_offset, b_nulls, j):
            b1 = b0
        if a1 - a0 != b1 - b0:
            continue
        same = True
        for k in range(a1 - a0):
            if adata[a0 + k] != bdata[b0 + k]:
                same = False
                break
        out[j] = same
    return out


def same_text(a, a_rows: np.ndarray, b) -> np.ndarray:
    """True where ``a[a_rows[j]]`` and ``b[j]`` are the same text (null and empty alike);
    False where ``a_rows[j]`` is -1 (``b[j]`` has no counterpart in ``a``).

    Lets a normaliser's output for one side be reused for the other: most of Juki-net's
    answers repeat the agency's own spelling byte for byte.
    """
    a_rows = np.ascontiguousarray(a_rows, dtype=np.int64)
    bufs_b = utf8_buffers(b)
    if len(a_rows) != len(bufs_b[0]) - 1:
        raise ValueError(f"{len(a_rows)} rows of a for {len(bufs_b[0]) - 1} strings of b")
    return _same_text(*utf8_buffers(a), a_rows, *bufs_b)


def to_codepoints(values) -> Codepoints:
    """Arrow (or list of) strings to the flat code-point layout (one Numba pass, no GIL)."""
    arr = string_array(values)
    n = len(arr)
    if n == 0:
        return Codepoints(np.zeros(0, np.uint32), np.zeros(1, np.int64))
    bufs = arr.buffers()
    width = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    boff = np.frombuffer(bufs[1], dtype=width)[arr.offset: arr.offset + n + 1].astype(np.int64)
    data = _bytes_of(bufs[2]) if bufs[2] is not None else _NO_BYTES
    has_nulls = arr.null_count > 0
    bits = _bytes_of(bufs[0]) if has_nulls else _NO_BYTES
    return Codepoints(*_utf8_decode(boff, data, bits, arr.offset, has_nulls))


def from_codepoints(cps: Codepoints, *, empty_as_null: bool = True) -> pa.LargeStringArray:
    """The layout back to an Arrow string column (zero-length strings become null)."""
    cp, off = cps.cp, cps.off
    n = len(off) - 1
    text = cp.astype(np.uint32, copy=False).tobytes().decode("utf-32-le").encode("utf-8")
    boff = _byte_offsets(cp, off)
    validity = None
    null_count = 0
    if empty_as_null:
        empty = off[1:] == off[:-1]
        null_count = int(empty.sum())
        if null_count:
            validity = pa.py_buffer(np.packbits(~empty, bitorder="little").tobytes())
    return pa.LargeStringArray.from_buffers(
        n, pa.py_buffer(boff.tobytes()), pa.py_buffer(text), validity, null_count
    )


@nb.njit(cache=True, nogil=True)
def _byte_offsets(cp, off):
    """UTF-8 byte offset of every string boundary (one pass, no temporaries)."""
    n = len(off) - 1
    out = np.zeros(n + 1, dtype=np.int64)
    total = 0
    for k in range(off[0]):  # code points before the first string still sit in the buffer
        c = cp[k]
        total += 1 if c < 0x80 else (2 if c < 0x800 else (3 if c < 0x10000 else 4))
    out[0] = total
    for i in range(n):
        for k in range(off[i], off[i + 1]):
            c = cp[k]
            total += 1 if c < 0x80 else (2 if c < 0x800 else (3 if c < 0x10000 else 4))
        out[i + 1] = total
    return out


_FNV_OFFSET = np.uint64(14695981039346656037)


@nb.njit(cache=True, nogil=True, inline="always")
def _fnv_step(h, c):
    return (h ^ np.uint64(c)) * np.uint64(1099511628211)


@nb.njit(cache=True, nogil=True, inline="always")
def _nonzero(h):
    return h if h != 0 else np.uint64(1)  # 0 is kept for the empty string


@nb.njit(cache=True, nogil=True, inline="always")
def hash_range(cp, a, b):
    """64-bit FNV-1a of ``cp[a:b]``; 0 for an empty range (and for nothing else)."""
    if a == b:
        return np.uint64(0)
    h = _FNV_OFFSET
    for k in range(a, b):
        h = _fnv_step(h, cp[k])
    return _nonzero(h)


@nb.njit(cache=True, nogil=True)
def _hash_strings(cp, off):
    n = len(off) - 1
    out = np.zeros(n, dtype=np.uint64)
    for i in range(n):
        out[i] = hash_range(cp, off[i], off[i + 1])
    return out


def hash_strings(cps: Codepoints) -> np.ndarray:
    """64-bit FNV-1a of each string; 0 means null/empty (and nothing else hashes to 0)."""
    if cps.cp.dtype != np.uint32 or cps.off.dtype != np.int64:
        raise ValueError(f"expected uint32/int64 layout, got {cps.cp.dtype}/{cps.off.dtype}")
    return _hash_strings(cps.cp, cps.off)


@nb.njit(cache=True, nogil=True)
def _hash_utf8(boff, data, bits, bit_offset, has_nulls):
    n = len(boff) - 1
    out = np.zeros(n, dtype=np.uint64)
    for i in range(n):
        if not is_valid_row(bits, bit_offset, has_nulls, i) or boff[i] == boff[i + 1]:
            continue
        h, k = _FNV_OFFSET, boff[i]
        while k < boff[i + 1]:
            c, k = utf8_char(data, k)
            h = _fnv_step(h, c)
        out[i] = _nonzero(h)  # hash_range of the decoded row
    return out


def hash_texts(values) -> np.ndarray:
    """``hash_strings(to_codepoints(values))`` read straight from Arrow's UTF-8: no code
    points are built."""
    return _hash_utf8(*utf8_buffers(values))
