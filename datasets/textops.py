"""Whole-column string edits for the generator, without a Python loop per string.

Strings are handled as a code-point matrix: an (n, W) ``uint32`` array, one row per
string, padded with zeros (NUL never occurs in names or addresses). numpy's fixed-width
``U`` dtype is exactly this layout, so Arrow <-> matrix is one conversion each way.
Deleting is "write 0, then compact"; inserting is "interleave a second slot, then
compact". Non-BMP characters such as 𠮷 are one code point like any other.
"""
from __future__ import annotations

import unicodedata
from functools import cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def to_matrix(values: pa.Array) -> np.ndarray:
    """(n, W) uint32 code points of an Arrow string array; nulls become empty rows."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    values = pc.fill_null(values, "")
    n = len(values)
    width = int(pc.max(pc.utf8_length(values)).as_py() or 0) if n else 0
    width = max(width, 1)
    fixed = np.asarray(values.to_numpy(zero_copy_only=False), dtype=f"U{width}")
    return fixed.view(np.uint32).reshape(n, width).copy()


def compact(m: np.ndarray) -> np.ndarray:
    """Move the zero slots of every row to its end, keeping the order of the rest."""
    order = np.argsort(m == 0, axis=1, kind="stable")
    return np.take_along_axis(m, order, axis=1)


def from_matrix(m: np.ndarray, *, packed: bool = False) -> pa.Array:
    """Arrow strings from a code-point matrix (zero slots anywhere are dropped).

    ``packed=True`` promises zeros only at row ends and skips the compaction.
    """
    m = np.ascontiguousarray(m, dtype=np.uint32)
    if not packed:
        m = compact(m)
    if m.shape[1] == 0:
        return pa.array([""] * m.shape[0], type=pa.string())
    return pa.array(m.view(f"U{m.shape[1]}").ravel(), type=pa.string())


def lengths(m: np.ndarray) -> np.ndarray:
    """Number of non-zero code points per row."""
    return np.count_nonzero(m, axis=1)


def lookup(src: list[str], dst: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """A sorted one-to-one code-point table from two equal lists of single characters."""
    keys = np.array([ord(c) for c in src], dtype=np.uint32)
    vals = np.array([ord(c) for c in dst], dtype=np.uint32)
    order = np.argsort(keys, kind="stable")
    keys, vals = keys[order], vals[order]
    keep = np.r_[True, keys[1:] != keys[:-1]]
    return keys[keep], vals[keep]


def hits(m: np.ndarray, table: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(mask of code points that are keys of ``table``, their positions in the table)."""
    keys, _ = table
    pos = np.minimum(np.searchsorted(keys, m), len(keys) - 1)
    return keys[pos] == m, pos


def map_all(m: np.ndarray, table: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Replace every code point found in ``table``."""
    hit, pos = hits(m, table)
    out = m.copy()
    out[hit] = table[1][pos[hit]]
    return out


def map_first(m: np.ndarray, table: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Replace only the first code point of each row that is found in ``table``."""
    hit, pos = hits(m, table)
    rows = np.flatnonzero(hit.any(axis=1))
    cols = hit[rows].argmax(axis=1)
    out = m.copy()
    out[rows, cols] = table[1][pos[rows, cols]]
    return out


def contains_any(m: np.ndarray, table: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """True for rows holding at least one key of ``table``."""
    return hits(m, table)[0].any(axis=1)


def delete_at(m: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Delete the code point at ``pos`` (one per row)."""
    out = m.copy()
    out[np.arange(len(m)), pos] = 0
    return compact(out)


def insert_after(m: np.ndarray, pos: np.ndarray, cps: np.ndarray) -> np.ndarray:
    """Insert code point ``cps[i]`` right after position ``pos[i]`` of row i."""
    n, w = m.shape
    padded = np.concatenate([m, np.zeros((n, 1), dtype=m.dtype)], axis=1)
    cols = np.arange(w + 1)[None, :]
    src = cols - (cols > pos[:, None])
    out = np.take_along_axis(padded, src, axis=1)
    out[np.arange(n), pos + 1] = cps
    return out


def swap_with_next(m: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Swap the code points at ``pos`` and ``pos + 1``."""
    out = m.copy()
    r = np.arange(len(m))
    out[r, pos], out[r, pos + 1] = m[r, pos + 1], m[r, pos]
    return out


def expand(m: np.ndarray, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Replace each code point c by first[c], second[c] (second 0 = nothing); dense LUTs."""
    n, w = m.shape
    idx = np.minimum(m, len(first) - 1)
    inside = m < len(first)
    a = np.where(inside, first[idx], m)
    b = np.where(inside, second[idx], 0)
    out = np.empty((n, 2 * w), dtype=np.uint32)
    out[:, 0::2], out[:, 1::2] = a, b
    return compact(out)


def strip_trailing(m: np.ndarray, chars: str = " ,") -> np.ndarray:
    """Blank out trailing ``chars`` (after compaction) of every row."""
    m = compact(m)
    bad = np.isin(m, np.array([ord(c) for c in chars], dtype=np.uint32)) | (m == 0)
    # keep everything up to the last good code point
    good = ~bad
    last = np.where(good.any(axis=1), m.shape[1] - 1 - np.argmax(good[:, ::-1], axis=1), -1)
    cols = np.arange(m.shape[1])[None, :]
    return np.where(cols <= last[:, None], m, 0).astype(np.uint32)


# --- fixed character tables -------------------------------------------------------

def _ascii_fullwidth() -> tuple[np.ndarray, np.ndarray]:
    src = [chr(c) for c in range(0x21, 0x7F)]
    return lookup(src, [chr(ord(c) + 0xFEE0) for c in src])


FULLWIDTH = _ascii_fullwidth()
FULLWIDTH_SPACE = lookup([" "], ["\u3000"])
KATA_TO_HIRA = lookup([chr(c) for c in range(0x30A1, 0x30F7)], [chr(c - 0x60) for c in range(0x30A1, 0x30F7)])


@cache
def halfwidth_kana() -> tuple[np.ndarray, np.ndarray]:
    """Dense LUTs (first, second) turning full-width katakana into half-width (ｶﾞ = ｶ + ﾞ)."""
    size = 0x3100
    first = np.arange(size, dtype=np.uint32)
    second = np.zeros(size, dtype=np.uint32)
    for hw in range(0xFF61, 0xFFA0):
        full = unicodedata.normalize("NFKC", chr(hw))
        if len(full) == 1 and ord(full) < size:
            first[ord(full)] = hw
    marks = {0x3099: 0xFF9E, 0x309A: 0xFF9F}
    for c in range(0x30A1, 0x30FB):
        parts = unicodedata.normalize("NFD", chr(c))
        if len(parts) == 2 and ord(parts[1]) in marks and first[ord(parts[0])] != ord(parts[0]):
            first[c], second[c] = first[ord(parts[0])], marks[ord(parts[1])]
    first[0x3000] = 0x20
    return first, second


@cache
def devoice_kana() -> tuple[np.ndarray, np.ndarray]:
    """Voiced katakana -> the spelling a clerk's ear gives (ヂ->ジ, ヅ->ズ, ヴ->ブ, ヲ->オ, else unvoiced)."""
    src, dst = [], []
    for c in range(0x30A1, 0x30F7):
        parts = unicodedata.normalize("NFD", chr(c))
        if len(parts) == 2 and parts[1] in ("\u3099", "\u309a"):
            src.append(chr(c))
            dst.append(parts[0])
    special = {"ヂ": "ジ", "ヅ": "ズ", "ヴ": "ブ", "ヲ": "オ"}
    dst = [special.get(s, d) for s, d in zip(src, dst)]
    for s, d in special.items():
        if s not in src:
            src.append(s)
            dst.append(d)
    return lookup(src, dst)


SMALL_TO_LARGE = lookup(list("ァィゥェォッャュョヮ"), list("アイウエオツヤユヨワ"))
O_ROW = np.array([ord(c) for c in "オコソトノホモヨロゴゾドボポョ"], dtype=np.uint32)
E_ROW = np.array([ord(c) for c in "エケセテネヘメレゲゼデベペ"], dtype=np.uint32)


def small_ints(limit: int, *, pad: int = 0) -> pa.Array:
    """'0'..str(limit-1) (zero-padded to ``pad``) for ``take``-based number formatting."""
    return pa.array([str(i).zfill(pad) for i in range(limit)], type=pa.string())


def take(strings: pa.Array, idx: np.ndarray) -> pa.Array:
    """``strings[idx]`` with negative indices giving null."""
    idx = np.asarray(idx)
    return pc.take(strings, pa.array(np.where(idx < 0, 0, idx), mask=idx < 0))


def join(*parts, sep) -> pa.Array:
    """Element-wise join skipping nulls; ``sep`` is a string or an Arrow string array.

    A row whose parts are all null gives ''. (pyarrow 26's ``skip`` mode drops such rows
    from its output altogether, so they are given an empty first part beforehand.)
    """
    arrays = [p for p in parts if isinstance(p, (pa.Array, pa.ChunkedArray))]
    if arrays:
        all_null = np.ones(len(arrays[0]), dtype=bool)
        for p in arrays:
            all_null &= pc.is_null(p).to_numpy(zero_copy_only=False)
        if all_null.any():
            i = next(k for k, p in enumerate(parts) if isinstance(p, (pa.Array, pa.ChunkedArray)))
            parts = list(parts)
            parts[i] = pc.if_else(pa.array(all_null), pa.scalar("", pa.string()), parts[i])
    return pc.binary_join_element_wise(*parts, sep, null_handling="skip")


def empty_to_null(values: pa.Array) -> pa.Array:
    """Empty strings become null (a join of nothing gives '')."""
    return pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.string()), values)


def choose_str(options: list[str], idx: np.ndarray) -> pa.Array:
    """Per row one of ``options`` (a small list) by index."""
    return pc.take(pa.array(options, type=pa.string()), pa.array(np.asarray(idx, dtype=np.int64)))


def scatter(base: pa.Array, rows: np.ndarray, values: pa.Array) -> pa.Array:
    """``base`` with ``base[rows] = values`` (rows ascending, unique)."""
    if len(rows) == 0:
        return base
    mask = np.zeros(len(base), dtype=bool)
    mask[rows] = True
    # Past 2 GiB of text Arrow hands back chunked arrays: make both sides one array (64-bit
    # offsets when strings, so the combined buffer fits).
    base, values = (_one_array(x, base.type) for x in (base, values))
    return pc.replace_with_mask(base, pa.array(mask), values.cast(base.type))


def _one_array(values, like: pa.DataType) -> pa.Array:
    if pa.types.is_string(like):
        values = values.cast(pa.large_string())
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    return values
