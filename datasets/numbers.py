"""Identifiers: My Numbers with the official check digit, card numbers, opaque ids.

All draws are without replacement from the whole space, so every number handed out in
one population is distinct (true numbers, look-alikes' numbers, wrongly held numbers).
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from jukimatch.engine.validate.checkdigit import check_digit_of_ints, numbers_from_bodies

from .textops import from_matrix


def unique_my_numbers(rng: np.random.Generator, count: int) -> np.ndarray:
    """``count`` distinct valid 12-digit My Numbers as int64 (leading zeros allowed)."""
    bodies = rng.choice(10**11, size=count, replace=False)
    return numbers_from_bodies(bodies)


def corrupt_check_digit(rng: np.random.Generator, numbers: np.ndarray) -> np.ndarray:
    """The same numbers with a wrong check digit (a one-digit slip in the last place)."""
    numbers = np.asarray(numbers, dtype=np.int64)
    last = numbers % 10
    wrong = (last + rng.integers(1, 10, len(numbers))) % 10
    out = numbers - last + wrong
    assert not np.any(check_digit_of_ints(out // 10) == out % 10)
    return out


def zero_padded(values: np.ndarray, width: int) -> pa.Array:
    """Integers as zero-padded strings (``-1`` becomes null)."""
    values = np.asarray(values, dtype=np.int64)
    text = pa.array(np.where(values < 0, 0, values)).cast(pa.string())
    text = pc.utf8_lpad(text, width=width, padding="0")
    return pc.if_else(pa.array(values < 0), pa.scalar(None, pa.string()), text)


CARD_SPACE = 26**4 * 10**8


def card_numbers(rng: np.random.Generator, count: int) -> np.ndarray:
    """Distinct residence card / certificate numbers, encoded as int64 codes."""
    return rng.choice(CARD_SPACE, size=count, replace=False)


def card_strings(codes: np.ndarray) -> pa.Array:
    """Codes to ``AB12345678CD`` strings (``-1`` becomes null)."""
    codes = np.asarray(codes, dtype=np.int64)
    c = np.where(codes < 0, 0, codes)
    digits = c % 10**8
    letters = c // 10**8
    m = np.zeros((len(c), 12), dtype=np.uint32)
    for k in range(4):
        col = (0, 1, 10, 11)[k]
        m[:, col] = ord("A") + (letters // 26 ** (3 - k)) % 26
    for k in range(8):
        m[:, 2 + k] = ord("0") + (digits // 10 ** (7 - k)) % 10
    text = from_matrix(m, packed=True)
    return pc.if_else(pa.array(codes < 0), pa.scalar(None, pa.string()), text)


def hex_ids(rng: np.random.Generator, count: int, *, width: int = 16) -> pa.Array:
    """Distinct opaque uppercase-hex identifiers (no relation to any My Number)."""
    values = rng.choice(2**62, size=count, replace=False).astype(np.uint64)
    m = np.zeros((count, width), dtype=np.uint32)
    alphabet = np.frombuffer(b"0123456789ABCDEF", dtype=np.uint8).astype(np.uint32)
    for k in range(width):
        m[:, k] = alphabet[(values >> np.uint64(4 * (width - 1 - k))) & np.uint64(15)]
    return from_matrix(m, packed=True)
