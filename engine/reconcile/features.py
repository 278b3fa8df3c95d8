"""Both sides of a comparison prepared the same way: normalised fields in the kernels' layout.

One function turns a residents or responses table into :class:`Features`; one function
compares two feature sets over index pairs into the ``int8`` level matrix the model reads.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numba as nb
import numpy as np
import pyarrow as pa

from jukimatch.engine.compare.levels import DATE_FULL, NAME_FULL, n_levels
from jukimatch.engine.compare.person import compare_address, compare_dates, compare_names, compare_sex
from jukimatch.engine.normalize import Dates, normalize_sex, parse_dates
from jukimatch.engine.normalize.address import address_hashes
from jukimatch.engine.normalize.kana import kana_codepoints
from jukimatch.engine.normalize.names import alpha_codepoints, kanji_codepoints
from jukimatch.engine.runtime import JIT
from jukimatch.engine.text import Codepoints, same_text, take_codepoints, take_rows

FIELDS = ("name_alpha", "name_kanji", "name_kana", "birth_date", "sex", "address")
KINDS = ("name_alpha", "name_kanji", "name_kana", "date", "sex", "address")  # each field's comparison
N_LEVELS = tuple(n_levels(k) for k in KINDS)  # levels 0..n-1 per field; -1 is null
DATE_FIELD = FIELDS.index("birth_date")
SEX_FIELD = FIELDS.index("sex")
ADDRESS_FIELD = FIELDS.index("address")
NAME_FIELDS = (0, 1, 2)
NAME_FULL_LEVEL = tuple(NAME_FULL[k] for k in KINDS[:3])  # a name notation agrees fully from here up


def same_names(levels: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per name notation, the pairs whose two names are the same code points: only those
    reach the notation's top level (see :mod:`jukimatch.engine.compare.person`)."""
    return tuple(levels[:, f] == N_LEVELS[f] - 1 for f in NAME_FIELDS)


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


@nb.njit(**JIT)
def _agreement_cells(levels, fields, full_levels, date_field, date_full):  # pragma: no cover - compiled
    out = np.empty(levels.shape[0], dtype=np.int64)
    for i in range(levels.shape[0]):
        full = False
        conflict = False
        for f in range(len(fields)):
            v = levels[i, fields[f]]
            full |= v >= full_levels[f]
            conflict |= v == 0
        d = levels[i, date_field]
        out[i] = 3 * (2 if full else 0 if conflict else 1) + (2 if d >= date_full else 0 if d == 0 else 1)
    return out


def agreement_cells(levels: np.ndarray) -> np.ndarray:
    """Per pair the coarse agreement cell of the namesake mixture, ``3 · name + date`` (name
    0 contradicts, 1 partly, 2 fully; date 0 differs, 1 partly or unknown, 2 agrees), read
    from the level matrix in one pass: :func:`name_full`, :func:`name_conflict` and the
    date level, as ``namesakes.agreement_cell`` combines them."""
    return _agreement_cells(np.ascontiguousarray(levels, np.int8), np.array(NAME_FIELDS, np.int64),
                            np.array(NAME_FULL_LEVEL, np.int64), DATE_FIELD, DATE_FULL)


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


# The text fields: column, normaliser. Dates and sex are parsed once by validation.
# Costliest first, so that two threads finish together.
TEXT_FIELDS = {
    "address": ("address", address_hashes),  # five hash arrays
    "kanji": ("name_kanji", kanji_codepoints),  # (code points, gaiji)
    "alpha": ("name_alpha", alpha_codepoints),
    "kana": ("name_kana", kana_codepoints),
}
_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="jukimatch-normalise")


def _reuse(field: str, left_value, li: np.ndarray, new_value, same: np.ndarray):
    """One field of the right side: the left's value where the text is the same, else new."""
    if not same.any():
        return new_value
    diff = np.flatnonzero(~same)
    if field == "address":
        out = tuple(a[li] for a in left_value)
        for o, x in zip(out, new_value):
            o[diff] = x
        return out
    if field == "kanji":
        (cps, gaiji), (new_cps, new_gaiji) = left_value, new_value
        g = gaiji[li]
        g[diff] = new_gaiji
        return _reuse("alpha", cps, li, new_cps, same), g
    # row j: left row li[j] where same, else new row r (encoded -1 - r), r the rank of j
    # among the different rows
    src = np.where(same, li, -np.cumsum(~same))
    return take_codepoints(left_value, src, other=new_value)


_SPLIT_ROWS = 50_000


def _joined(field: str, parts: list):
    """One field's value from the values of consecutive row ranges."""
    if len(parts) == 1:
        return parts[0]
    if field == "address":
        return tuple(np.concatenate(xs) for xs in zip(*parts))
    raise ValueError(f"field {field!r} is not split")


def _assemble(values: dict, dates: Dates, sex: np.ndarray) -> Features:
    kanji, gaiji = values["kanji"]
    return Features(alpha=values["alpha"], kanji=kanji, kana=values["kana"], gaiji=np.asarray(gaiji, dtype=bool),
                    year=np.ascontiguousarray(dates.year), month=np.ascontiguousarray(dates.month),
                    day=np.ascontiguousarray(dates.day), sex=np.ascontiguousarray(sex), address=values["address"])


def pair_features(left_table: pa.Table, right_table: pa.Table, li: np.ndarray, *, left_dates: Dates,
                  left_sex: np.ndarray, right_dates: Dates, right_sex: np.ndarray) -> tuple[Features, Features]:
    """Features of both sides of pairs (left row ``li[j]``, right row ``j``; ``li[j]`` is -1
    where right row ``j`` is in no pair), each text normalised once: where the right's text
    is the left's byte for byte, the left's result is reused. The eight normalisations (four
    fields, two sides) run on two threads."""
    li = np.ascontiguousarray(li, dtype=np.int64)
    left_jobs = {}
    for field, (col, fn) in TEXT_FIELDS.items():  # the left side first: it needs nothing else
        left_col = left_table.column(col)
        if field == "address" and len(left_col) >= _SPLIT_ROWS:
            # the costliest job, in two halves, so that neither thread waits for the other
            half = len(left_col) // 2
            left_jobs[field] = [_POOL.submit(fn, left_col.slice(0, half)), _POOL.submit(fn, left_col.slice(half))]
        else:
            left_jobs[field] = [_POOL.submit(fn, left_col)]
    new_jobs = {}
    for field, (col, fn) in TEXT_FIELDS.items():  # meanwhile: which right texts are new
        same = same_text(left_table.column(col), li, right_table.column(col))
        new_jobs[field] = (same, _POOL.submit(fn, take_rows(right_table.column(col), np.flatnonzero(~same))))

    def both_sides(field: str):
        same, new = new_jobs[field]
        left = _joined(field, [x.result() for x in left_jobs[field]])
        return left, _reuse(field, left, li, new.result(), same)

    # put together on the pool too: a job there waits only on jobs submitted before it
    done = {f: _POOL.submit(both_sides, f) for f in TEXT_FIELDS}
    left_values, right_values = {}, {}
    for f, job in done.items():
        left_values[f], right_values[f] = job.result()
    return _assemble(left_values, left_dates, left_sex), _assemble(right_values, right_dates, right_sex)


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
