"""One pair of 4-information records compared the bulk way: for the authenticity check.

The authenticity check asks Juki-net for the 4 information tied to a number an applicant
handed in and compares it with the agency's record. It uses the same normalisers, kernels
and model weights as the bulk run, so that one person is judged the same way online and in
bulk. Without a fitted model it uses the default shipped with the package (fitted on
generated data, see ``engine/data/default_model.json``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pyarrow as pa

from . import compare as _kernels
from ._numba import threads_for
from .dates import normalize_sex
from .decide import Thresholds
from .features import ADDRESS_FIELD, DATE_FIELD, FIELDS, SEX_FIELD, Features, features
from .model import Model, default_model

CONFIRMED, REJECTED, REVIEW = "confirmed", "rejected", "review"
_PERSON_COLUMNS = ("name_alpha", "name_kanji", "name_kana", "birth_date", "sex", "address")


@dataclass
class SingleResult:
    decision: str  # confirmed | rejected | review
    match_probability: float
    match_weight: float
    reasons: list[str] = field(default_factory=list)
    levels: dict[str, int] = field(default_factory=dict)


def _two_rows(ours: dict, theirs: dict) -> pa.Table:
    """Both records as one two-row table: one pass of the normalisers serves both sides."""
    for record in (ours, theirs):
        unknown = set(record) - set(_PERSON_COLUMNS) - {"person_id", "my_number"}
        if unknown:
            raise ValueError(f"unknown fields: {sorted(unknown)}")
    cols = {}
    for c in _PERSON_COLUMNS:
        values = [ours.get(c), theirs.get(c)]
        for v in values:
            if v is not None and not isinstance(v, str):
                raise ValueError(f"field {c}: expected text, got {type(v).__name__}")
        cols[c] = pa.array([v or None for v in values], pa.string())
    return pa.table(cols)


def _ro(x: np.ndarray) -> np.ndarray:
    """A read-only contiguous view: the signature the kernels were compiled (and cached) for."""
    view = np.ascontiguousarray(x).view()
    view.flags.writeable = False
    return view


_LEFT, _RIGHT = _ro(np.zeros(1, dtype=np.int64)), _ro(np.ones(1, dtype=np.int64))


@lru_cache(maxsize=256)
def _sex_code(value: str | None) -> int:
    """The bulk normaliser's code for one sex value, memoised: a handful of values exist and
    the column function costs ~70 µs a call even on two rows."""
    return int(normalize_sex(pa.array([value], pa.string()))[0][0])


def _pair_levels(both: Features) -> np.ndarray:
    """Levels of the pair (row 0, row 1): the bulk kernels, called directly.

    ``compare_features`` would give the same levels (tests/test_service_compare_fast.py
    checks it); its per-call input checks, which cannot fail on what ``features`` built,
    cost three times the kernels on a single pair.
    """
    out = np.empty((1, len(FIELDS)), dtype=np.int8)
    with threads_for(1):
        for col, kind in enumerate(("alpha", "kanji", "kana")):
            names = getattr(both, kind)
            cp, off = _ro(names.cp), _ro(names.off)
            longest = int(max(off[1] - off[0], off[2] - off[1]))
            out[0, col] = _kernels._compare_names_pairs(cp, off, cp, off, _LEFT, _RIGHT, _kernels.NAME_KINDS[kind],
                                                        longest)[0]
        y, m, d = _ro(both.year), _ro(both.month), _ro(both.day)
        out[0, DATE_FIELD] = _kernels._compare_dates_pairs(y, m, d, y, m, d, _LEFT, _RIGHT)[0]
        sex = _ro(both.sex)
        out[0, SEX_FIELD] = _kernels._compare_sex_pairs(sex, sex, _LEFT, _RIGHT)[0]
        parts = [_ro(p) for p in both.address]
        out[0, ADDRESS_FIELD] = _kernels._compare_address_pairs(*parts, *parts, _LEFT, _RIGHT)[0]
    return out


def compare_records(ours: dict, theirs: dict, *, model: Model | None = None,
                    thresholds: Thresholds | None = None) -> SingleResult:
    """Compare the agency's 4 information with Juki-net's for one person.

    ``confirmed`` only when the pair is strong and neither sex nor birth date contradicts
    and no name holds private-use characters; ``rejected`` when the pair is weak;
    ``review`` otherwise.
    """
    model = model or default_model()
    th = thresholds or Thresholds()
    table = _two_rows(ours, theirs)
    sex = np.array([_sex_code(ours.get("sex") or None), _sex_code(theirs.get("sex") or None)], dtype=np.int8)
    both = features(table, sex=sex)
    levels = _pair_levels(both)
    w, p = model.score(levels)
    weight, prob = float(w[0]), float(p[0])
    reasons = []
    lv = levels[0]
    if bool(both.gaiji[0] or both.gaiji[1]):
        reasons.append("gaiji")
    if prob >= th.match_probability:
        if lv[SEX_FIELD] == 0:
            reasons.append("sex_mismatch")
        if lv[DATE_FIELD] == 0:
            reasons.append("birth_date_mismatch")
        decision = REVIEW if reasons else CONFIRMED
        if not reasons:
            reasons.append("strong_unique")
    elif prob < th.review_probability and not reasons:
        decision = REJECTED
        reasons.append("weak_candidates")
    else:
        decision = REVIEW
        reasons.append("uncertain")
    return SingleResult(decision, prob, weight, reasons, {f: int(x) for f, x in zip(FIELDS, lv)})
