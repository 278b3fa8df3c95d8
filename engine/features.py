"""Both sides of a comparison prepared the same way: normalised fields in the kernels' layout.

One function turns a residents or responses table into :class:`Features`; one function
compares two feature sets over index pairs into the ``int8`` level matrix the model reads.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from .compare import compare_address, compare_dates, compare_names, compare_sex
from .address import address_hashes
from .kana import kana_codepoints
from .names import alpha_codepoints, kanji_codepoints
from .normalize import Dates, normalize_sex, parse_dates
from .text import Codepoints

FIELDS = ("name_alpha", "name_kanji", "name_kana", "birth_date", "sex", "address")
N_LEVELS = (6, 5, 5, 6, 2, 5)  # levels 0..n-1 per field; -1 is null
DATE_FIELD = FIELDS.index("birth_date")
SEX_FIELD = FIELDS.index("sex")
ADDRESS_FIELD = FIELDS.index("address")
NAME_FIELDS = (0, 1, 2)
# Levels at which a name notation counts as fully agreeing: alphabet "tokens reordered /
# spacing" and up; kanji and kana "tokens reordered / spacing" and up.
NAME_FULL_LEVEL = (4, 3, 3)


def name_full(levels: np.ndarray) -> np.ndarray:
    """True where at least one name notation agrees fully."""
    out = np.zeros(len(levels), dtype=bool)
    for f, top in zip(NAME_FIELDS, NAME_FULL_LEVEL):
        out |= levels[:, f] >= top
    return out


def name_conflict(levels: np.ndarray) -> np.ndarray:
    """True where some name notation is present on both sides and differs outright (level 0)."""
    out = np.zeros(len(levels), dtype=bool)
    for f in NAME_FIELDS:
        out |= levels[:, f] == 0
    return out


@dataclass
class Features:
    alpha: Codepoints
    kanji: Codepoints
    kana: Codepoints
    gaiji: np.ndarray  # bool: private-use code points in the kanji name
    year: np.ndarray
    month: np.ndarray
    day: np.ndarray
    sex: np.ndarray
    address: tuple[np.ndarray, ...]  # pref, city, town, block, building hashes (0 = absent)

    def __len__(self) -> int:
        return len(self.sex)


def features(table: pa.Table, *, dates: Dates | None = None, sex: np.ndarray | None = None) -> Features:
    """Normalise the person columns of a residents or responses table.

    ``dates`` and ``sex`` may be passed when validation has parsed them already.
    """
    kanji, gaiji = kanji_codepoints(table.column("name_kanji"))
    if dates is None:
        dates = parse_dates(table.column("birth_date"))
    if sex is None:
        sex, _ = normalize_sex(table.column("sex"))
    return Features(
        alpha=alpha_codepoints(table.column("name_alpha")),
        kanji=kanji,
        kana=kana_codepoints(table.column("name_kana")),
        gaiji=np.asarray(gaiji, dtype=bool),
        year=np.ascontiguousarray(dates.year),
        month=np.ascontiguousarray(dates.month),
        day=np.ascontiguousarray(dates.day),
        sex=np.ascontiguousarray(sex),
        address=address_hashes(table.column("address")),
    )


def compare_features(left: Features, right: Features, li: np.ndarray, ri: np.ndarray) -> np.ndarray:
    """The (pairs × FIELDS) int8 level matrix for pairs (left[li[k]], right[ri[k]])."""
    li = np.ascontiguousarray(li, dtype=np.int64)
    ri = np.ascontiguousarray(ri, dtype=np.int64)
    out = np.empty((len(li), len(FIELDS)), dtype=np.int8)
    out[:, 0] = compare_names(left.alpha, right.alpha, li, ri, kind="alpha")
    out[:, 1] = compare_names(left.kanji, right.kanji, li, ri, kind="kanji")
    out[:, 2] = compare_names(left.kana, right.kana, li, ri, kind="kana")
    out[:, 3] = compare_dates(left.year, left.month, left.day, right.year, right.month, right.day, li, ri)
    out[:, 4] = compare_sex(left.sex, right.sex, li, ri)
    out[:, 5] = compare_address(left.address, right.address, li, ri)
    return out
