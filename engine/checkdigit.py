"""My Number check digits and residence-card number shape, whole columns at a time.

The rule (総務省令第85号第5条): over the 11-digit body, left-to-right weights
6,5,4,3,2,7,6,5,4,3,2; r = sum mod 11; check digit 0 if r <= 1 else 11 - r.
It is a weighted mod-11 check, not Luhn.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

WEIGHTS = np.array([6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2], dtype=np.int64)
CARD_PATTERN = r"^[A-Z]{2}[0-9]{8}[A-Z]{2}$"


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


def _digit_matrix(values: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(n, 12) uint8 digits and a mask of entries that are exactly 12 ASCII digits."""
    values = pa.array(values, type=pa.string()) if not isinstance(values, pa.Array) else values
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    values = values.cast(pa.large_string())
    shaped = pc.fill_null(pc.match_substring_regex(values, r"^[0-9]{12}$"), False)
    shaped = shaped.to_numpy(zero_copy_only=False)
    n = len(values)
    digits = np.zeros((n, 12), dtype=np.uint8)
    if shaped.any():
        idx = np.flatnonzero(shaped)
        taken = values.take(pa.array(idx))
        offsets = np.frombuffer(taken.buffers()[1], dtype=np.int64)[taken.offset: taken.offset + len(taken) + 1]
        data = np.frombuffer(taken.buffers()[2], dtype=np.uint8)
        starts = offsets[:-1]
        pos = starts[:, None] + np.arange(12)[None, :]
        digits[idx] = data[pos] - ord("0")
    return digits, shaped


def valid_my_numbers(values: pa.Array | list) -> np.ndarray:
    """True where the value is 12 digits whose last digit is the official check digit.

    Null, empty, wrong length or non-digits are False.
    """
    digits, shaped = _digit_matrix(values)
    if not len(shaped):
        return shaped.astype(bool)
    ok = check_digits(digits[:, :11]) == digits[:, 11]
    return ok & shaped


def my_number_errors(values: pa.Array | list) -> list[str | None]:
    """Per value, None if valid, else a short reason: 'empty', 'format' or 'check_digit'."""
    arr = pa.array(values, type=pa.string()) if not isinstance(values, pa.Array) else values
    digits, shaped = _digit_matrix(arr)
    ok = np.zeros(len(shaped), dtype=bool)
    if len(shaped):
        ok = (check_digits(digits[:, :11]) == digits[:, 11]) & shaped
    out: list[str | None] = []
    for v, s, k in zip(arr.to_pylist(), shaped, ok):
        if v is None or v == "":
            out.append("empty")
        elif not s:
            out.append("format")
        elif not k:
            out.append("check_digit")
        else:
            out.append(None)
    return out


def valid_card_numbers(values: pa.Array | list) -> np.ndarray:
    """True where the value has the residence-card / certificate number shape AB12345678CD."""
    arr = pa.array(values, type=pa.string()) if not isinstance(values, pa.Array) else values
    return pc.fill_null(pc.match_substring_regex(arr, CARD_PATTERN), False).to_numpy(zero_copy_only=False)


def mask_number(value: str | None) -> str:
    """Operators see only the last 4 digits: '********9018'."""
    if not value:
        return ""
    return "*" * max(len(value) - 4, 0) + value[-4:]
