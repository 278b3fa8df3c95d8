"""My Number check digits and residence-card number shape, whole columns at a time.

The rule (総務省令第85号第5条): over the 11-digit body, left-to-right weights
6,5,4,3,2,7,6,5,4,3,2; r = sum mod 11; check digit 0 if r <= 1 else 11 - r.
It is a weighted mod-11 check, not Luhn.
"""
from __future__ import annotations

import numba as nb
import numpy as np
import pyarrow as pa

from jukimatch.engine.runtime import JIT
from jukimatch.engine.text import over_chunks, take_rows, utf8_buffers

WEIGHTS = np.array([6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2], dtype=np.int64)


def check_digits(bodies: np.ndarray) -> np.ndarray:
    """Check digit for each 11-digit body, given as an (n, 11) array of digits 0-9."""
    bodies = np.asarray(bodies)
    if bodies.ndim != 2 or bodies.shape[1] != 11:
        raise ValueError(f"bodies must have shape (n, 11), got {bodies.shape}")
    r = (bodies.astype(np.int64) @ WEIGHTS) % 11
    return np.where(r <= 1, 0, 11 - r).astype(np.uint8)


def check_digit_of_ints(bodies: np.ndarray) -> np.ndarray:
    """Check digit for 11-digit bodies given as integers (0 <= body < 10**11)."""
    bodies = np.asarray(bodies, dtype=np.int64)
    if bodies.size and (bodies.min() < 0 or bodies.max() >= 10**11):
        raise ValueError("bodies must lie in [0, 10**11)")
    powers = 10 ** np.arange(10, -1, -1, dtype=np.int64)
    digits = (bodies[:, None] // powers[None, :]) % 10
    return check_digits(digits)


def numbers_from_bodies(bodies: np.ndarray) -> np.ndarray:
    """Whole 12-digit My Numbers (as int64) from 11-digit integer bodies."""
    bodies = np.asarray(bodies, dtype=np.int64)
    return bodies * 10 + check_digit_of_ints(bodies)


@nb.njit(**JIT)
def _scan_numbers(offsets, data, valid_bits, bit_offset, has_nulls):
    """Per string: 1 = 12 ASCII digits with the right check digit, 2 = 12 digits with a
    wrong one, 3 = empty/null, 0 = anything else; and the number as int64 (-1 if not 12 digits).

    On one thread (14 ms a million rows here, against 9 ms on two): validation calls it, and
    two partitions are validated side by side, where no parallel kernel may run."""
    n = len(offsets) - 1
    kind = np.zeros(n, dtype=np.uint8)
    value = np.full(n, -1, dtype=np.int64)
    for i in range(n):
        if has_nulls:
            j = i + bit_offset
            if not (valid_bits[j >> 3] >> (j & 7)) & 1:
                kind[i] = 3
                continue
        a = offsets[i]
        b = offsets[i + 1]
        if b == a:
            kind[i] = 3
            continue
        if b - a != 12:
            continue
        total = 0
        v = 0
        ok = True
        for k in range(12):
            c = data[a + k]
            if c < 48 or c > 57:
                ok = False
                break
            d = c - 48
            v = v * 10 + d
            if k < 11:
                total += d * _WEIGHTS_TUPLE[k]
        if not ok:
            continue
        r = total % 11
        check = 0 if r <= 1 else 11 - r
        kind[i] = 1 if check == data[a + 11] - 48 else 2
        value[i] = v
    return kind, value


_WEIGHTS_TUPLE = (6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def scan_numbers(values) -> tuple[np.ndarray, np.ndarray]:
    """(kind, number) per value: kind 1 valid, 2 wrong check digit, 3 empty, 0 malformed.

    One pass over Arrow's UTF-8 buffer; the number is int64, -1 unless 12 digits.
    """
    return over_chunks(values, _scan_numbers)


def scan_numbers_trimmed(values) -> tuple[np.ndarray, np.ndarray]:
    """:func:`scan_numbers` of the values with surrounding whitespace removed. Values are
    scanned as they are first; only the malformed ones are trimmed and scanned again (a
    trim copies the whole column)."""
    import pyarrow.compute as pc

    if not isinstance(values, (pa.Array, pa.ChunkedArray)):
        values = pa.array(values, type=pa.string())
    kind, num = scan_numbers(values)
    rest = np.flatnonzero(kind == 0)
    if len(rest):
        kind[rest], num[rest] = scan_numbers(pc.utf8_trim_whitespace(take_rows(values, rest)))
    return kind, num


def valid_my_numbers(values: pa.Array | list) -> np.ndarray:
    """True where the value is 12 digits whose last digit is the official check digit.

    Null, empty, wrong length or non-digits are False.
    """
    return scan_numbers(values)[0] == 1


def my_number_errors(values: pa.Array | list) -> list[str | None]:
    """Per value, None if valid, else a short reason: 'empty', 'format' or 'check_digit'."""
    kind, _ = scan_numbers(values)
    names = np.array(["format", None, "check_digit", "empty"], dtype=object)
    return names[kind].tolist()


@nb.njit(cache=True, nogil=True)
def _scan_cards(offsets, data, valid_bits, bit_offset, has_nulls):
    n = len(offsets) - 1
    out = np.zeros(n, dtype=np.bool_)
    for i in range(n):
        if has_nulls:
            j = i + bit_offset
            if not (valid_bits[j >> 3] >> (j & 7)) & 1:
                continue
        a = offsets[i]
        if offsets[i + 1] - a != 12:
            continue
        ok = True
        for k in range(12):
            c = data[a + k]
            if k < 2 or k >= 10:
                ok = 65 <= c <= 90
            else:
                ok = 48 <= c <= 57
            if not ok:
                break
        out[i] = ok
    return out


def valid_card_numbers(values: pa.Array | list, *, trim: bool = False) -> np.ndarray:
    """True where the value has the residence-card / certificate number shape AB12345678CD
    (with ``trim``: once surrounding whitespace is removed; only values failing as they
    are get trimmed)."""
    ok = over_chunks(values, _scan_cards)
    if trim:
        import pyarrow.compute as pc

        if not isinstance(values, (pa.Array, pa.ChunkedArray)):
            values = pa.array(values, type=pa.string())
        rest = np.flatnonzero(~ok)
        if len(rest):
            ok[rest] = _scan_cards(*utf8_buffers(pc.utf8_trim_whitespace(take_rows(values, rest))))
    return ok

