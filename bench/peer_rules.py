"""Decision rules shared by the two peers, so that they differ from jukimatch only in matching.

Both peers score (resident, found response row) pairs their own way; this module turns the
scores into the contract's one-row-per-resident decisions with the safety rules anyone who
read the specification would add — written with pandas and NumPy only, independent of the
engine (a peer must not borrow jukimatch's code):

- ``pending`` — no response row at all for the person;
- ``no_match`` — only ``not_found`` rows, or every candidate scores below ``review_floor``;
- ``match`` — best score >= ``match_at``, runner-up < ``runner_up_below`` (or absent), and
  the returned number is 12 digits with a valid check digit (the public mod-11 rule), is not
  the best number of another plausible person, is not a number another resident already
  holds, and does not differ from a number the person already holds;
- ``review`` — everything else.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

_WEIGHTS = np.array([6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2], dtype=np.int64)


@dataclass(frozen=True)
class PeerThresholds:
    match_at: float
    runner_up_below: float
    review_floor: float

    def to_dict(self) -> dict:
        return asdict(self)


def csv_encoding(path: str | Path) -> str:
    """What a peer script would do: UTF-8 (BOM stripped) if the head decodes, else CP932."""
    with open(path, "rb") as f:
        head = f.read(1 << 20)
    try:
        head.decode("utf-8")
        return "utf-8-sig"
    except UnicodeDecodeError:
        return "cp932"


def valid_my_number(values) -> np.ndarray:
    """12 ASCII digits with the official check digit (weights 6,5,4,3,2,7,6,5,4,3,2; mod 11)."""
    import pandas as pd

    s = pd.Series(values, dtype="object").astype("string").str.strip()
    shaped = s.str.fullmatch(r"[0-9]{12}").fillna(False).to_numpy(dtype=bool)
    out = np.zeros(len(s), dtype=bool)
    if shaped.any():
        raw = np.array(s[shaped].tolist(), dtype="S12")
        digits = raw.view(np.uint8).reshape(-1, 12).astype(np.int64) - 48
        r = (digits[:, :11] * _WEIGHTS).sum(axis=1) % 11
        check = np.where(r <= 1, 0, 11 - r)
        out[shaped] = check == digits[:, 11]
    return out


def _strings(values) -> np.ndarray:
    """Object array of stripped strings, None for null or empty."""
    import pandas as pd

    s = pd.Series(values, dtype="object").astype("string").str.strip()
    out = s.astype(object).to_numpy(dtype=object, copy=True)  # pandas 3 hands out read-only views
    out[(s.isna() | (s == "").fillna(True)).to_numpy(dtype=bool)] = None
    return out


def decide(person_id, held_number, response_person_id, response_found, pair_person_id, pair_number,
           pair_score, pair_weight, th: PeerThresholds):
    """Contract-shaped decisions as a pyarrow Table (one row per resident, residents' order).

    ``person_id``/``held_number``: the residents (ids unique, held number may be null);
    ``response_person_id``/``response_found``: every response row (any status) and whether
    it is ``found``; ``pair_*``: one entry per scored found row — its inquiry id, returned
    number, score (higher is more alike) and match weight (NaN if the peer has none).
    Persons are located by integer position (one hash lookup per row), not by string sorts.
    """
    import pandas as pd

    index = pd.Index(np.asarray(person_id, dtype=object))
    if not index.is_unique:
        raise ValueError("residents' person_id must be unique")
    n = len(index)
    held = _strings(held_number)
    held[~valid_my_number(held)] = None

    rpos = index.get_indexer(np.asarray(response_person_id, dtype=object))
    known = rpos >= 0
    rows = np.bincount(rpos[known], minlength=n)
    found = np.bincount(rpos[known & np.asarray(response_found, dtype=bool)], minlength=n).astype(np.int32)

    ppos = index.get_indexer(np.asarray(pair_person_id, dtype=object))
    keep = ppos >= 0
    ppos = ppos[keep]
    pscore = np.asarray(pair_score, dtype=float)[keep]
    pweight = np.asarray(pair_weight, dtype=float)[keep]
    pnumber = np.asarray(pair_number, dtype=object)[keep]
    order = np.lexsort((-pscore, ppos))
    sp = ppos[order]
    first = np.r_[True, sp[1:] != sp[:-1]] if len(sp) else np.zeros(0, dtype=bool)
    second = np.r_[False, first[:-1]] & ~first if len(sp) else np.zeros(0, dtype=bool)
    best = np.full(n, -1, dtype=np.int64)
    best[sp[first]] = order[first]
    runner = np.full(n, -1, dtype=np.int64)
    runner[sp[second]] = order[second]

    has = best >= 0
    b = np.where(has, best, 0)
    score = np.where(has, pscore[b] if len(pscore) else 0.0, -np.inf)
    run = np.where(runner >= 0, pscore[np.where(runner >= 0, runner, 0)] if len(pscore) else 0.0, -np.inf)
    number = np.where(has, _strings(pnumber[b]) if len(pnumber) else None, None)
    number_ok = valid_my_number(number)

    plausible = has & (score >= th.review_floor)
    strong = has & (score >= th.match_at)
    ambiguous = plausible & (run >= th.runner_up_below)
    # a number that would go to two persons, or that another person already holds
    cand = pd.Series(np.where(plausible & number_ok, number, None), dtype="object")
    has_cand = cand.notna().to_numpy()
    shared = has_cand & cand.duplicated(keep=False).to_numpy()
    held_s = pd.Series(held, dtype="object")
    held_by_other = has_cand & cand.isin(held_s.dropna()).to_numpy() & (cand != held_s).to_numpy()
    held_differs = plausible & held_s.notna().to_numpy() & (pd.Series(number, dtype="object") != held_s).to_numpy()

    flags = {
        "check_digit": plausible & ~number_ok,
        "number_shared": shared,
        "held_by_other": held_by_other,
        "held_number_differs": held_differs,
        "ambiguous": ambiguous,
    }
    fired = np.zeros(n, dtype=bool)
    for m in flags.values():
        fired |= m
    unanswered = rows == 0
    not_found = ~unanswered & ~has
    weak = ~unanswered & has & ~plausible
    auto = ~unanswered & strong & ~fired
    uncertain = ~unanswered & plausible & ~strong & ~fired

    decision = np.full(n, "review", dtype=object)
    decision[not_found | weak] = "no_match"
    decision[auto] = "match"
    decision[unanswered] = "pending"
    flags.update(strong_unique=auto, uncertain=uncertain, weak_candidates=weak, not_found=not_found,
                 unanswered=unanswered)
    codes = list(flags)
    mask = np.stack([flags[c] if c == "unanswered" else (flags[c] & ~unanswered) for c in codes], axis=1)
    return _table(
        person_id=[str(v) for v in index],
        decision=decision,
        my_number=np.where(auto, number, None),
        probability=np.where(has, score, np.nan),
        weight=np.where(has, pweight[b] if len(pweight) else np.nan, np.nan),
        candidates=found,
        reason_mask=mask,
        reason_codes=codes,
    )


def _table(*, person_id, decision, my_number, probability, weight, candidates, reason_mask, reason_codes):
    """The contract's decisions table; reasons built column-wise (no per-row Python)."""
    import pyarrow as pa

    rows, cols = np.nonzero(reason_mask)  # row-major: rows ascending, codes in order
    offsets = np.zeros(len(reason_mask) + 1, dtype=np.int32)
    np.cumsum(reason_mask.sum(axis=1), out=offsets[1:])
    values = pa.array(np.asarray(reason_codes, dtype=object)[cols].tolist(), pa.string())
    return pa.table({
        "person_id": pa.array(person_id, pa.string()),
        "decision": pa.array(decision.tolist(), pa.string()),
        "my_number": pa.array([v if isinstance(v, str) and v else None for v in my_number.tolist()], pa.string()),
        "match_probability": pa.array(probability, pa.float64()),
        "match_weight": pa.array(weight, pa.float64()),
        "candidates": pa.array(candidates, pa.int32()),
        "reasons": pa.ListArray.from_arrays(pa.array(offsets), values),
    })


def write_decisions(table, out_dir: str | Path):
    """Write ``decisions.parquet`` (the contract's shape) into ``out_dir``; return the table."""
    import pyarrow.parquet as pq

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, out / "decisions.parquet")
    return table
