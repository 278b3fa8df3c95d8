"""Comparison levels: for every kind of comparison, its levels and what each one means.

A level is an ``int8``: -1 when either side is null (no evidence), 0 when the values differ
outright, higher for closer agreement; the top level is exact. The model learns one m and u
per level, the decisions read a few of them by name (below), the report labels them: all of
them from here, so adding a level is one change in this file and one in its kernel.
"""
from __future__ import annotations

__all__ = [
    "ADDRESS_OTHER_MUNICIPALITY", "ADDRESS_SAME_BLOCK", "DATE_FULL", "LEVEL_LABELS", "MAX_LEVELS",
    "NAME_FULL", "exact_level", "n_levels",
]

LEVEL_LABELS: dict[str, dict[int, str]] = {
    "name_alpha": {
        -1: "null",
        0: "different",
        1: "JW ≥ 0.80",
        2: "JW ≥ 0.92 or token set ≥ 0.88",
        3: "middle name dropped / token typos",
        4: "tokens reordered / spacing",
        5: "exact",
    },
    "name_kanji": {
        -1: "null",
        0: "different",
        1: "JW ≥ 0.80 or one token identical",
        2: "one character substituted",
        3: "tokens reordered / spacing",
        4: "exact",
    },
    "name_kana": {
        -1: "null",
        0: "different",
        1: "JW ≥ 0.80 or one token identical",
        2: "JW ≥ 0.90",
        3: "tokens reordered / spacing",
        4: "exact",
    },
    "date": {
        -1: "null",
        0: "different",
        2: "one part off by one / one digit",
        3: "day and month swapped",
        4: "agrees where known",
        5: "exact",
    },
    "sex": {-1: "unknown", 0: "different", 1: "equal"},
    "exact": {-1: "null", 0: "different", 1: "exact"},
    "address": {
        -1: "null",
        0: "different",
        1: "same prefecture",
        2: "same city",
        3: "same town",
        4: "same block",
    },
}

#: most levels a comparison may have: the model packs levels -1..6 in 3 bits
MAX_LEVELS = 7

#: birth date agrees wherever it is known
DATE_FULL = 4
#: address: same block (the top level) / only the prefecture (another municipality)
ADDRESS_SAME_BLOCK = 4
ADDRESS_OTHER_MUNICIPALITY = 1
#: a name notation agrees fully from "tokens reordered / spacing" up
NAME_FULL = {"name_alpha": 4, "name_kanji": 3, "name_kana": 3}


def n_levels(kind: str) -> int:
    """Levels 0..n-1 of a comparison kind (-1, null, not counted)."""
    return max(LEVEL_LABELS[kind]) + 1


def exact_level(kind: str) -> int:
    """The level of full agreement: the top one."""
    return n_levels(kind) - 1
