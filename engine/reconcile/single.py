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

from jukimatch.engine.compare.person import one_pair_levels
from jukimatch.engine.model import Model, default_model
from jukimatch.engine.normalize.dates import normalize_sex
from jukimatch.engine.reconcile.decide import Thresholds
from jukimatch.engine.reconcile.features import DATE_FIELD, FIELDS, SEX_FIELD, Features, features

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


@lru_cache(maxsize=256)
def _sex_code(value: str | None) -> int:
    """The bulk normaliser's code for one sex value, memoised: a handful of values exist and
    the column function costs ~70 µs a call even on two rows."""
    return int(normalize_sex(pa.array([value], pa.string()))[0][0])


def _pair_levels(both: Features) -> np.ndarray:
    """Levels of the pair (row 0, row 1); the same as ``compare_features`` gives
    (tests/test_service_compare_fast.py checks it), without its per-call input checks."""
    return one_pair_levels((both.alpha, both.kanji, both.kana), both.year, both.month, both.day, both.sex,
                           both.address)[None, :]


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
