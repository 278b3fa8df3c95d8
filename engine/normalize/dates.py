"""Birth dates to their known parts, and sex codes.

Null semantics: a null or empty (or all-space) date has status 0 (``NULL``) and parts 0; a
null or empty sex is code 0 (unknown) and ok. Neither is an error: the contract says empty
means unknown.
"""
from __future__ import annotations

from typing import NamedTuple

import numba as nb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from jukimatch.engine.normalize.fold import as_strings, nfkc
from jukimatch.engine.text import is_valid_row, over_chunks, take_rows, utf8_char

NULL, PARSED, UNPARSEABLE = 0, 1, 2


class Dates(NamedTuple):
    year: np.ndarray  # int16, 0 unless status == PARSED
    month: np.ndarray  # int8, 0 = unknown month
    day: np.ndarray  # int8, 0 = unknown day
    status: np.ndarray  # int8: 0 null/empty, 1 parsed, 2 unparseable


@nb.njit(cache=True, nogil=True)
def _digit(c):
    if 0x30 <= c <= 0x39:
        return c - 0x30
    if 0xFF10 <= c <= 0xFF19:
        return c - 0xFF10
    return -1


@nb.njit(cache=True, nogil=True)
def _separator(c):
    # 1 hyphen-like, 2 slash, 3 dot; 0 not a separator
    if c == 0x2D or c == 0xFF0D or c == 0x2010 or c == 0x2011 or c == 0x2012 or c == 0x2013 or c == 0x2212:
        return 1
    if c == 0x2F or c == 0xFF0F:
        return 2
    if c == 0x2E or c == 0xFF0E:
        return 3
    return 0


@nb.njit(cache=True, nogil=True)
def _number(cp, j, end, most):
    """Value and end of a run of 1..most digits starting at j (value -1 if none or too long)."""
    v = 0
    k = j
    while k < end and _digit(cp[k]) >= 0:
        v = v * 10 + _digit(cp[k])
        k += 1
    if k == j or k - j > most:
        return -1, k
    return v, k


@nb.njit(cache=True, nogil=True)
def _parse_one(cp, a, b):
    """(year, month, day, status) of cp[a:b], spaces already trimmed and a < b."""
    y, j = _number(cp, a, b, 8)
    if y < 0:
        return 0, 0, 0, 2
    if j == b:  # YYYYMMDD
        if j - a != 8:
            return 0, 0, 0, 2
        y, m, d = y // 10000, (y // 100) % 100, y % 100
    else:
        if j - a != 4:
            return 0, 0, 0, 2
        kanji = cp[j] == 0x5E74  # 年
        sep = _separator(cp[j])
        if not kanji and sep == 0:
            return 0, 0, 0, 2
        m, j = _number(cp, j + 1, b, 2)
        if m < 0 or j >= b:
            return 0, 0, 0, 2
        if kanji:
            if cp[j] != 0x6708:  # 月
                return 0, 0, 0, 2
        elif _separator(cp[j]) != sep:
            return 0, 0, 0, 2
        d, j = _number(cp, j + 1, b, 2)
        if d < 0:
            return 0, 0, 0, 2
        if kanji:
            if j != b - 1 or cp[j] != 0x65E5:  # 日
                return 0, 0, 0, 2
        elif j != b:
            return 0, 0, 0, 2
    if y == 0 or m > 12 or d > 31:
        return 0, 0, 0, 2
    return y, m, d, 1


@nb.njit(cache=True, nogil=True)
def _parse_dates_utf8(boff, data, bits, bit_offset, has_nulls):
    """(year, month, day, status) per row, each row's few characters decoded straight from
    Arrow's UTF-8 bytes into a scratch buffer (no code-point copy of the whole column)."""
    n = len(boff) - 1
    year = np.zeros(n, dtype=np.int16)
    month = np.zeros(n, dtype=np.int8)
    day = np.zeros(n, dtype=np.int8)
    status = np.zeros(n, dtype=np.int8)
    longest = 0
    for i in range(n):
        longest = max(longest, boff[i + 1] - boff[i])
    buf = np.empty(longest + 1, dtype=np.uint32)
    for i in range(n):
        if not is_valid_row(bits, bit_offset, has_nulls, i):
            continue
        m = 0
        k = boff[i]
        while k < boff[i + 1]:
            c, k = utf8_char(data, k)
            buf[m] = c
            m += 1
        a, b = 0, m
        while a < b and (buf[a] == 0x20 or buf[a] == 0x3000 or buf[a] == 0x09):
            a += 1
        while b > a and (buf[b - 1] == 0x20 or buf[b - 1] == 0x3000 or buf[b - 1] == 0x09):
            b -= 1
        if a == b:
            continue
        y, mo, d, st = _parse_one(buf, a, b)
        year[i] = y
        month[i] = mo
        day[i] = d
        status[i] = st
    return year, month, day, status


def parse_dates(values) -> Dates:
    """Western-calendar dates to (year, month, day, status), keeping partly unknown dates.

    Accepted (digits ASCII or full width, spaces around ignored): ``YYYY-MM-DD``,
    ``YYYY/MM/DD``, ``YYYY.MM.DD`` (the same separator twice; full-width and dash look-alike
    separators too; month and day 1 or 2 digits), ``YYYYMMDD``, ``YYYY年M月D日``. ``00`` is an
    unknown month or day and parses to 0 (``1980-00-00``, ``1980-07-00``). Dates off the
    calendar (``2023-02-29``, ``1990-04-31``) are legitimate records and parse. Status 2 for
    anything else, and for year 0, month > 12 or day > 31.
    """
    return Dates(*over_chunks(values, _parse_dates_utf8))


_SEX_CODES = ("0", "1", "2", "9")
_SEX_CODES_ARRAY = pa.array(_SEX_CODES, type=pa.large_string())
_SEX_VALUES = np.array([int(c) for c in _SEX_CODES], dtype=np.int8)


_NULL_SEX = -2


@nb.njit(cache=True, nogil=True)
def _bare_sex_codes(off, data, bits, bit_offset, has_nulls):
    """Per row: the code of a value that is exactly ``0``, ``1``, ``2`` or ``9``; -1 for
    any other value, -2 (``_NULL_SEX``) for null."""
    n = len(off) - 1
    out = np.full(n, -1, dtype=np.int8)
    for i in range(n):
        if not is_valid_row(bits, bit_offset, has_nulls, i):
            out[i] = -2
        elif off[i + 1] - off[i] == 1:
            c = data[off[i]]
            if c == 48 or c == 49 or c == 50 or c == 57:
                out[i] = c - 48
    return out


def normalize_sex(values) -> tuple[np.ndarray, np.ndarray]:
    """JIS X 0303 / ISO 5218 sex codes: ``(code int8, ok bool)``.

    ``1`` male, ``2`` female, ``0`` unknown, ``9`` not applicable; full-width digits and
    surrounding spaces are accepted. Null/empty -> code 0, ok True. Anything else (``M``,
    ``3``, ``男``) -> code 0, ok False.
    """
    if not isinstance(values, (pa.Array, pa.ChunkedArray)):
        values = as_strings(values)
    # Nearly every value is already a bare code: read those straight from the bytes, and
    # normalise only the rest (NFKC and trimming copy the whole column: ten times the cost).
    bare = over_chunks(values, _bare_sex_codes)
    valid = bare != _NULL_SEX
    hit = bare >= 0
    code = np.where(hit, bare, 0).astype(np.int8)
    ok = hit | ~valid
    rest = np.flatnonzero(valid & ~hit)
    if len(rest):
        code[rest], ok[rest] = _normalize_sex_spelled(take_rows(values, rest))
    return code, ok


def _normalize_sex_spelled(values) -> tuple[np.ndarray, np.ndarray]:
    """:func:`normalize_sex` for values that are not a bare code: NFKC, trimmed, looked up."""
    strings = pc.utf8_trim_whitespace(nfkc(as_strings(values)))
    index = pc.index_in(strings, value_set=_SEX_CODES_ARRAY)
    found = pc.is_valid(index).to_numpy(zero_copy_only=False)
    empty = pc.fill_null(pc.equal(pc.utf8_length(strings), 0), True).to_numpy(zero_copy_only=False)
    idx = pc.fill_null(index, 0).to_numpy(zero_copy_only=False)
    return _SEX_VALUES[idx], found | empty


__all__ = ["Dates", "NULL", "PARSED", "UNPARSEABLE", "normalize_sex", "parse_dates"]
