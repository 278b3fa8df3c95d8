"""Stage 5: a part's output rows (decisions, review side by side, pending, rejected), numbers masked
where a person reads them, with sort keys to merge parts back into input order.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from jukimatch.engine.io import ROW_COLUMN
from jukimatch.engine.masking import mask
from jukimatch.engine.model import Model, probability
from jukimatch.engine.reconcile.decide import (
    DECISIONS, MATCH, PENDING, REASON_CODES, REVIEW, Decisions, Pairs, Thresholds, reason_lists,
)
from jukimatch.engine.reconcile.features import FIELDS
from jukimatch.engine.reconcile.namesakes import RELATIONS, Population, Rates, relation
from jukimatch.engine.reconcile.prepare import KEY, Prepared, SEED
from jukimatch.engine.reconcile.score import risk_stats
from jukimatch.engine.text import take_rows


def decisions_table(R: pa.Table, S: pa.Table, d: Decisions, pair_resp: np.ndarray, errors: dict) -> pa.Table:
    """One row per resident row of the part, in its order."""
    n = R.num_rows
    best = d.best
    is_match = d.codes() == DECISIONS.index(MATCH)
    if n and S.num_rows and len(pair_resp):
        num_idx = np.where(is_match, pair_resp[np.where(best >= 0, best, 0)], 0)
        # null index -> null number: one take, no second copy of the column
        my_number = take_rows(S.column("my_number"), num_idx, is_match)
    else:
        my_number = pa.nulls(n, pa.string())
    return pa.table({
        "person_id": R.column("person_id"),
        "decision": pa.DictionaryArray.from_arrays(pa.array(d.codes()), pa.array(DECISIONS)).cast(pa.string()),
        "my_number": my_number,
        "match_probability": pa.array(d.probability if d.risk is None else 1.0 - d.risk, pa.float64(),
                                      from_pandas=True),
        "match_weight": pa.array(d.weight, pa.float64(), from_pandas=True),
        "candidates": pa.array(d.candidates, pa.int32()),
        "reasons": reason_lists(d.reason_mask, dict(errors)),
        "wrong_number_risk": pa.array(np.full(n, np.nan) if d.risk is None else d.risk, pa.float64(),
                                      from_pandas=True),
    })


def malformed_decisions(k: int) -> pa.Table:
    """Decision rows for lines that could not even be parsed: rejected, without a person_id."""
    return pa.table({
        "person_id": pa.nulls(k, pa.string()),
        "decision": pa.array(["rejected"] * k, pa.string()),
        "my_number": pa.nulls(k, pa.string()),
        "match_probability": pa.nulls(k, pa.float64()),
        "match_weight": pa.nulls(k, pa.float64()),
        "candidates": pa.array([0] * k, pa.int32()),
        "reasons": pa.array([["row:field_count"]] * k, pa.list_(pa.string())),
        "wrong_number_risk": pa.nulls(k, pa.float64()),
    })


def mask_column(col: pa.Array) -> pa.Array:
    """Only the last four digits of a number are shown: ********9018 (review rows are few)."""
    return pa.array([None if v is None else mask(v.strip(), whole=True) for v in col.to_pylist()], pa.string())


def side_by_side(R: pa.Table, S: pa.Table, d: Decisions, pairs: Pairs, pair_resp: np.ndarray, levels: np.ndarray,
                 model: Model | None, persons: np.ndarray, keys: np.ndarray | None = None,
                 twin_group: np.ndarray | None = None) -> pa.Table:
    """Every candidate of the given persons, both sides side by side, with levels and weights.

    This is the review queue's shape; numbers appear only masked. Pair rows come first
    (by person, then weight, highest first), then persons without any candidate. With
    ``keys`` (global row per resident row), sort columns ``__bare`` and ``__g`` are added.
    """
    persons = np.asarray(persons, dtype=np.int64)
    in_review = np.isin(pairs.person, persons)
    pidx = np.flatnonzero(in_review)
    bare = persons[d.candidates[persons] == 0]
    order = np.lexsort((-pairs.weight[pidx], pairs.person[pidx])) if len(pidx) else np.zeros(0, np.int64)
    pidx = pidx[order]
    res_rows = np.concatenate([pairs.person[pidx], bare]).astype(np.int64)
    resp_rows = pair_resp[pidx] if len(pidx) else np.zeros(0, np.int64)
    n_pairs, n_bare = len(pidx), len(bare)
    cols: dict[str, pa.Array] = {}
    cols["person_id"] = take_rows(R.column("person_id"), res_rows)
    cols["reasons"] = reason_lists(d.reason_mask[res_rows])
    rank = np.zeros(n_pairs, dtype=np.int64)
    if n_pairs:
        p = pairs.person[pidx]
        starts = np.r_[0, np.flatnonzero(p[1:] != p[:-1]) + 1]
        rank = np.arange(n_pairs) - np.repeat(starts, np.diff(np.r_[starts, n_pairs]))
    cols["candidate_rank"] = pa.array(np.r_[rank + 1, np.zeros(n_bare, np.int64)], pa.int64())
    resp_take = np.r_[resp_rows, np.zeros(n_bare, np.int64)]
    answered = np.r_[np.ones(n_pairs, bool), np.zeros(n_bare, bool)]
    bare_mask = pa.array(~answered)
    empty = S.num_rows == 0

    def right(col: str) -> pa.Array:
        if empty:
            return pa.nulls(n_pairs + n_bare, pa.string())
        return take_rows(S.column(col), resp_take, answered)

    cols["response_row"] = (take_rows(S.column(ROW_COLUMN), resp_take, answered) if not empty
                            else pa.nulls(n_pairs + n_bare, pa.int64()))
    cols["my_number_masked"] = mask_column(right("my_number"))
    w = np.r_[pairs.weight[pidx], np.full(n_bare, np.nan)]
    cols["match_weight"] = pa.array(w, pa.float64(), from_pandas=True)
    p = probability(w)
    if pairs.risk is not None:
        p = 1.0 - np.r_[pairs.risk[pidx], np.full(n_bare, np.nan)]
    cols["match_probability"] = pa.array(p, pa.float64(), from_pandas=True)
    if pairs.address_level is not None and pairs.room_same is not None:
        rel = relation(pairs.address_level[pidx], pairs.room_same[pidx])
        names = np.asarray(RELATIONS + ("unknown",), dtype=object)
        cols["address_relation"] = pa.array(np.r_[names[np.where(rel >= 0, rel, len(RELATIONS))],
                                                  np.full(n_bare, None, dtype=object)], pa.string())
    lw = model.level_weights() if model is not None else None
    for f, name in enumerate(FIELDS):
        cols[f"{name}_l"] = take_rows(R.column(name), res_rows)
        cols[f"{name}_r"] = right(name)
        lv = np.r_[levels[pidx, f], np.full(n_bare, -1, np.int8)] if n_pairs else np.full(n_bare, -1, np.int8)
        cols[f"level_{name}"] = pa.array(lv, pa.int8())
        wt = lw[f][lv.astype(np.int64) + 1] if lw is not None else np.zeros(len(lv))
        cols[f"weight_{name}"] = pa.array(np.where(lv >= 0, wt, 0.0), pa.float64())
    if keys is not None:
        cols["__bare"] = bare_mask
        cols[KEY] = pa.array(keys[res_rows], pa.int64())
        cols[TWIN_KEY] = pa.array(twin_group[res_rows] if twin_group is not None else np.full(len(res_rows), -1),
                                  pa.int64())
    return pa.table(cols)


TWIN_KEY = "__twin_group"


def with_related(review: pa.Table) -> pa.Table:
    """``related_person_ids``: for a row of a duplicate group, the group's other person_ids
    (every row of a group is in review, whichever part decided it); the group key is dropped."""
    group = review.column(TWIN_KEY).to_numpy() if TWIN_KEY in review.column_names else np.full(review.num_rows, -1)
    members: dict[int, list[str]] = {}
    rows = np.flatnonzero(group >= 0)
    ids = review.column("person_id").take(pa.array(rows)).to_pylist() if len(rows) else []
    for g, pid in zip(group[rows].tolist(), ids):
        seen = members.setdefault(g, [])
        if pid not in seen:
            seen.append(pid)
    related = [[]] * review.num_rows
    for r, g, pid in zip(rows.tolist(), group[rows].tolist(), ids):
        related[r] = [x for x in members[g] if x != pid]
    out = review.append_column("related_person_ids", pa.array(related, pa.list_(pa.string())))
    return out.drop_columns([TWIN_KEY]) if TWIN_KEY in out.column_names else out


def sample_persons(codes: np.ndarray, candidates: np.ndarray, per_decision: int = 8) -> np.ndarray:
    """A few match and review persons (with candidates) to explain in the report; ``codes``:
    each row's decision as an index into ``DECISIONS``."""
    rng = np.random.default_rng(SEED)
    chosen = []
    for kind in (MATCH, REVIEW):
        idx = np.flatnonzero((codes == DECISIONS.index(kind)) & (candidates > 0))
        if len(idx):
            chosen.append(np.sort(rng.choice(idx, size=min(per_decision, len(idx)), replace=False)))
    return np.concatenate(chosen) if chosen else np.zeros(0, np.int64)


def part_stats(prep: Prepared, d: Decisions) -> dict:
    """Counts of a part that sum to the run's summary."""
    sc = prep.scheck
    reason_counts = {c: int(d.reason_mask[:, j].sum()) for j, c in enumerate(REASON_CODES)}
    for errs in prep.rcheck.errors.values():
        for e in errs:
            reason_counts[e] = reason_counts.get(e, 0) + 1
    return {
        "residents": prep.R.num_rows,
        "responses": prep.S.num_rows,
        "decisions": dict(zip(DECISIONS, np.bincount(d.codes(), minlength=len(DECISIONS)).tolist())),
        "reasons": reason_counts,
        "responses_compared": int(len(prep.pair_resp)),
        "responses_not_found": int((sc.ok & prep.resident_ok & ~prep.found).sum()),
        "responses_rejected": int((~sc.ok).sum()),
        "responses_set_aside": int((prep.linked & ~prep.resident_ok & sc.ok).sum()),
    }


@dataclass
class PartOutputs:
    """A part's output rows, with sort keys to merge parts back into input order."""

    decisions: pa.Table  # + __g
    review: pa.Table  # + __bare, __g
    pending: pa.Table  # + __g
    rejected_residents: pa.Table  # + __g
    rejected_responses: pa.Table  # + __g
    stats: dict
    levels: np.ndarray | None = None  # for the report
    weight: np.ndarray | None = None
    pair_decision: np.ndarray | None = None


def part_decisions(prep: Prepared, d: Decisions) -> pa.Table:
    """The part's decision rows, with their sort key."""
    return decisions_table(prep.R, prep.S, d, prep.pair_resp, prep.rcheck.errors).append_column(
        KEY, pa.array(prep.r_global, pa.int64()))


def part_outputs(prep: Prepared, d: Decisions, pairs: Pairs, levels: np.ndarray, model: Model,
                 sources: tuple[Path, Path], *, report: bool, pop: Population | None = None,
                 rates: Rates | None = None, th: Thresholds | None = None,
                 decisions: pa.Table | None = None) -> PartOutputs:
    """Every output row of the part (``decisions``: its :func:`part_decisions`, when made already)."""
    R, S = prep.R, prep.S
    dec = part_decisions(prep, d) if decisions is None else decisions
    review = side_by_side(R, S, d, pairs, prep.pair_resp, levels, model, np.flatnonzero(d.code == DECISIONS.index(REVIEW)),
                          keys=prep.r_global, twin_group=pop.group if pop is not None else None)
    is_pending = d.code == DECISIONS.index(PENDING)
    pending = R.filter(pa.array(is_pending)).drop_columns([ROW_COLUMN]).append_column(
        KEY, pa.array(prep.r_global[is_pending], pa.int64()))
    rr = prep.rcheck.rejected_table(R, sources[0], "residents")
    rr = rr.append_column(KEY, pa.array(prep.r_global[np.array(sorted(prep.rcheck.errors), np.int64)], pa.int64()))
    sr = prep.scheck.rejected_table(S, sources[1], "responses")
    sr = sr.append_column(KEY, pa.array(prep.s_global[np.array(sorted(prep.scheck.errors), np.int64)], pa.int64()))
    stats = part_stats(prep, d)
    stats["risk"] = risk_stats(prep, d, pairs, pop, rates, th or Thresholds())
    out = PartOutputs(dec, review, pending, rr, sr, stats)
    if report:
        out.levels, out.weight = levels, pairs.weight
        out.pair_decision = d.code[prep.pair_res]
    return out
