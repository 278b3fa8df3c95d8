"""The bulk reconciliation pipeline: read, validate, normalise, compare, fit, decide, write.

Comparison runs over bounded chunks of pairs (normalised strings exist for one chunk at a
time); what is kept across chunks is compact: 6 bytes of levels and a few numbers per pair.
The model is fitted once over all pairs' level patterns. Rows in = rows out is checked
before anything is written.
"""
from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .checkdigit import scan_numbers
from .decide import DECISIONS, MATCH, PENDING, REASON_CODES, REVIEW, Pairs, Persons, Thresholds, decide, reason_lists
from .features import (
    ADDRESS_FIELD, DATE_FIELD, FIELDS, N_LEVELS, SEX_FIELD, compare_features, features, name_conflict, name_full,
)
from .io import RESIDENT_COLUMNS, RESPONSE_COLUMNS, ROW_COLUMN, InputTable, read_table
from .model import Model, default_model, estimate_u, fit
from .normalize import Dates
from .validate import Checked, check_residents, check_responses

Progress = Callable[[str, int, int], None]  # (phase, done, total)
_POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jukimatch-normalise")
U_SAMPLE = 500_000  # random pairs for u
MIN_PAIRS_TO_FIT = 2_000  # fewer compared pairs than this: EM says nothing, use the shipped model
_SEED = 20270319  # go-live day: u sampling is deterministic


@dataclass
class Options:
    chunk_pairs: int = 500_000
    u_sample: int = U_SAMPLE
    thresholds: Thresholds = field(default_factory=Thresholds)
    model: Model | None = None  # a saved model to reuse instead of fitting
    encoding: str | None = None
    report: bool = True
    progress: Progress | None = None


class _Timer:
    def __init__(self) -> None:
        self.phases: dict[str, float] = {}

    @contextmanager
    def phase(self, name: str):
        t = time.perf_counter()
        try:
            yield
        finally:
            self.phases[name] = round(self.phases.get(name, 0.0) + time.perf_counter() - t, 4)


def _numbers(col: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(int64 number or -1 when not 12 digits, check-digit-valid mask)."""
    kind, num = scan_numbers(pc.utf8_trim_whitespace(col))
    return num, kind == 1


def _index_of(values, keys) -> np.ndarray:
    """Position of each value in ``keys`` (first occurrence), -1 where absent."""
    idx = pc.index_in(values, value_set=keys)
    return pc.fill_null(idx, -1).to_numpy(zero_copy_only=False).astype(np.int64)


def _take_dates(d: Dates, rows) -> Dates:
    return Dates(*(np.ascontiguousarray(x[rows]) for x in d))


def _compare_in_chunks(R: pa.Table, S: pa.Table, pair_res: np.ndarray, pair_resp: np.ndarray,
                       rcheck: Checked, scheck: Checked, opts: Options, timer: _Timer):
    """Levels for all pairs plus a random-pair level sample for u, chunk by chunk.

    ``pair_res`` is sorted, so a range of resident rows owns a contiguous range of pairs:
    each chunk normalises a zero-copy slice of the residents and the responses it owns.
    """
    n_pairs, n_res = len(pair_res), R.num_rows
    levels = np.empty((n_pairs, len(FIELDS)), dtype=np.int8)
    gaiji = np.zeros(n_pairs, dtype=bool)
    u_levels = []
    rng = np.random.default_rng(_SEED)
    step = max(1, opts.chunk_pairs)
    for a in range(0, n_res, step):
        b = min(a + step, n_res)
        pa_, pb = np.searchsorted(pair_res, [a, b])
        if pb == pa_:
            continue
        rows = slice(a, b)
        resp_rows = pair_resp[pa_:pb]
        with timer.phase("normalise"):
            # Both sides at once: the kernels release the GIL and Arrow's compute does too.
            fut = _POOL.submit(features, S.take(pa.array(resp_rows)), dates=_take_dates(scheck.dates, resp_rows),
                               sex=scheck.sex[resp_rows])
            left = features(R.slice(a, b - a), dates=_take_dates(rcheck.dates, rows), sex=rcheck.sex[rows])
            right = fut.result()
        li = pair_res[pa_:pb] - a
        ri = np.arange(pb - pa_, dtype=np.int64)
        with timer.phase("compare"):
            levels[pa_:pb] = compare_features(left, right, li, ri)
            gaiji[pa_:pb] = left.gaiji[li] | right.gaiji[ri]
            if opts.model is None:
                k = int(np.ceil(opts.u_sample * (pb - pa_) / n_pairs))
                uli = rng.integers(0, b - a, size=k, dtype=np.int64)
                uri = rng.integers(0, pb - pa_, size=k, dtype=np.int64)
                keep = li[uri] != uli  # pairs of different persons only
                u_levels.append(compare_features(left, right, uli[keep], uri[keep]))
        if opts.progress:
            opts.progress("compare", int(pb), n_pairs)
    u = np.concatenate(u_levels) if u_levels else np.zeros((0, len(FIELDS)), np.int8)
    return levels, gaiji, u


def run(residents_path: str | Path, responses_path: str | Path, out_dir: str | Path,
        opts: Options | None = None) -> dict:
    """Reconcile a residents file with Juki-net's responses; write the outputs; return the summary."""
    opts = opts or Options()
    timer = _Timer()
    t0 = time.perf_counter()
    out = Path(out_dir)
    with timer.phase("read"):
        r_in: InputTable = read_table(residents_path, "residents", encoding=opts.encoding)
        s_in: InputTable = read_table(responses_path, "responses", encoding=opts.encoding)
    R, S = r_in.table, s_in.table
    n_res, n_resp = R.num_rows, S.num_rows

    with timer.phase("validate"):
        rcheck = check_residents(R)
        res_all = _index_of(S.column("person_id"), R.column("person_id"))
        scheck = check_responses(S, res_all)
        r_ok = rcheck.ok
        linked = res_all >= 0
        resident_ok = np.zeros(n_resp, dtype=bool)
        resident_ok[linked] = r_ok[res_all[linked]]
        answered = np.zeros(n_res, dtype=bool)
        answered[res_all[linked]] = True
        response_invalid = np.zeros(n_res, dtype=bool)
        response_invalid[res_all[linked & ~scheck.ok]] = True
        status = pc.utf8_trim_whitespace(S.column("status"))
        found = pc.fill_null(pc.equal(status, "found"), False).to_numpy(zero_copy_only=False)
        use = scheck.ok & resident_ok & found
        pair_resp = np.flatnonzero(use)
        pair_res = res_all[pair_resp]
        order = np.argsort(pair_res, kind="stable")
        pair_resp, pair_res = pair_resp[order], pair_res[order]
        held, held_ok = _numbers(R.column("my_number"))
        held = np.where(held_ok & r_ok, held, -1)
        number_all, number_ok_all = _numbers(S.column("my_number"))

    levels, gaiji, u_levels = _compare_in_chunks(R, S, pair_res, pair_resp, rcheck, scheck, opts, timer)

    with timer.phase("fit"):
        if opts.model is not None:
            model = opts.model
            if list(model.fields) != list(FIELDS):
                raise ValueError(f"saved model compares {model.fields}, this engine {list(FIELDS)}")
        elif len(levels) < MIN_PAIRS_TO_FIT:
            model = default_model()
        else:
            u = estimate_u(u_levels, list(N_LEVELS))
            model = fit(levels, u, list(FIELDS), n_levels=list(N_LEVELS))
            model.info["u_sample_pairs"] = int(len(u_levels))
        if model is not None:
            weight, prob = model.score(levels, prior_weight=opts.thresholds.prior_bits)
        else:
            weight, prob = np.zeros(0), np.zeros(0)

    with timer.phase("decide"):
        pairs = Pairs(
            person=pair_res, weight=weight, number=number_all[pair_resp], number_ok=number_ok_all[pair_resp],
            sex_level=levels[:, SEX_FIELD], date_level=levels[:, DATE_FIELD], gaiji=gaiji,
            name_full=name_full(levels), name_conflict=name_conflict(levels),
            address_level=levels[:, ADDRESS_FIELD],
        )
        persons = Persons(rejected=~r_ok, answered=answered, response_invalid=response_invalid, held_number=held)
        d = decide(pairs, persons, opts.thresholds)

    with timer.phase("write"):
        out.mkdir(parents=True, exist_ok=True)
        decisions = _decisions_table(R, S, d, pair_resp, rcheck.errors, r_in.malformed)
        _check_conservation(decisions, n_res + len(r_in.malformed))
        pq.write_table(decisions, out / "decisions.parquet")
        review = _side_by_side(R, S, d, pairs, pair_resp, levels, model, np.flatnonzero(d.decision == REVIEW))
        pq.write_table(review, out / "review.parquet")
        pending = R.filter(pa.array(d.decision == PENDING)).drop_columns([ROW_COLUMN])
        pq.write_table(pending, out / "pending.parquet")
        rejected = pa.concat_tables([
            rcheck.rejected_table(R, r_in.path, "residents"),
            _malformed_table(r_in, "residents"),
            scheck.rejected_table(S, s_in.path, "responses"),
            _malformed_table(s_in, "responses"),
        ])
        pq.write_table(rejected, out / "rejected.parquet")
        if model is not None:
            model.save(out / "model.json")

    counts = {k: int((d.decision == k).sum()) for k in DECISIONS}
    reason_counts = {c: int(d.reason_mask[:, j].sum()) for j, c in enumerate(REASON_CODES)}
    for errs in rcheck.errors.values():
        for e in errs:
            reason_counts[e] = reason_counts.get(e, 0) + 1
    set_aside = int((linked & ~resident_ok & scheck.ok).sum())
    summary = {
        "inputs": {"residents": str(r_in.path), "responses": str(s_in.path)},
        "rows": {
            "residents_in": n_res + len(r_in.malformed),
            "decisions_out": int(decisions.num_rows),
            "responses_in": n_resp + len(s_in.malformed),
            "responses_compared": int(len(pair_resp)),
            "responses_not_found": int((scheck.ok & resident_ok & ~found).sum()),
            "responses_rejected": int((~scheck.ok).sum()) + len(s_in.malformed),
            "responses_set_aside": set_aside,  # answers to residents whose own row was rejected
        },
        "decisions": counts,
        "reasons": {k: v for k, v in reason_counts.items() if v},
        "thresholds": opts.thresholds.to_dict(),
        "model": model.to_dict() if model is not None else None,
        "model_reused": opts.model is not None,
        "model_source": ("given" if opts.model is not None else
                         "fitted" if len(levels) >= MIN_PAIRS_TO_FIT else
                         f"shipped default ({len(levels)} pairs are too few to fit)"),
        "timings_s": timer.phases,
    }
    rows = summary["rows"]
    rows["conserved"] = (
        rows["residents_in"] == rows["decisions_out"]
        and rows["responses_in"] == rows["responses_compared"] + rows["responses_not_found"]
        + rows["responses_rejected"] + rows["responses_set_aside"]
    )
    if opts.report:
        with timer.phase("report"):
            from .report import write_report

            write_report(out / "report.html", summary=summary, decisions=decisions, review=review,
                         levels=levels, weight=weight, pair_decision=d.decision[pair_res] if len(pair_res) else None,
                         model=model, sample=_sample(R, S, d, pairs, pair_resp, levels, model))
    summary["timings_s"] = timer.phases
    summary["timings_s"]["total"] = round(time.perf_counter() - t0, 4)
    (out / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    return summary


def _check_conservation(decisions: pa.Table, n_res: int) -> None:
    if decisions.num_rows != n_res:
        raise RuntimeError(f"rows lost: {n_res} residents in, {decisions.num_rows} decisions out")


def _decisions_table(R: pa.Table, S: pa.Table, d, pair_resp: np.ndarray, errors: dict,
                     malformed: list) -> pa.Table:
    """One row per input resident row, in input order; unparseable rows last."""
    n = R.num_rows
    best = d.best
    is_match = d.decision == MATCH
    num_idx = np.where(is_match, pair_resp[np.where(best >= 0, best, 0)] if len(pair_resp) else 0, 0)
    my_number = pc.if_else(pa.array(is_match), S.column("my_number").take(pa.array(num_idx)) if S.num_rows else
                           pa.nulls(n, pa.string()), pa.scalar(None, pa.string())) if n else pa.array([], pa.string())
    extra = {i: errs for i, errs in errors.items()}
    table = pa.table({
        "person_id": R.column("person_id"),
        "decision": pa.array(d.decision.astype(str), pa.string()),
        "my_number": my_number,
        "match_probability": pa.array(d.probability, pa.float64(), from_pandas=True),
        "match_weight": pa.array(d.weight, pa.float64(), from_pandas=True),
        "candidates": pa.array(d.candidates, pa.int32()),
        "reasons": reason_lists(d.reason_mask, extra),
    })
    if malformed:  # rows that could not even be parsed: rejected, without a person_id
        k = len(malformed)
        table = pa.concat_tables([table, pa.table({
            "person_id": pa.nulls(k, pa.string()),
            "decision": pa.array(["rejected"] * k, pa.string()),
            "my_number": pa.nulls(k, pa.string()),
            "match_probability": pa.nulls(k, pa.float64()),
            "match_weight": pa.nulls(k, pa.float64()),
            "candidates": pa.array([0] * k, pa.int32()),
            "reasons": pa.array([["row:field_count"]] * k, pa.list_(pa.string())),
        })])
    return table


def _mask(col: pa.Array) -> pa.Array:
    """Only the last four digits of a number are shown: ********9018."""
    s = pc.utf8_trim_whitespace(col)
    n = pc.utf8_length(s)
    tail = pc.utf8_slice_codeunits(s, -4)
    stars = pc.binary_repeat(pa.scalar("*"), pc.max_element_wise(pc.subtract(n, 4), 0))
    return pc.binary_join_element_wise(stars, tail, "")


def _side_by_side(R: pa.Table, S: pa.Table, d, pairs: Pairs, pair_resp: np.ndarray, levels: np.ndarray,
                  model: Model | None, persons: np.ndarray) -> pa.Table:
    """Every candidate of the given persons, both sides side by side, with levels and weights.

    This is the review queue's shape; numbers appear only masked.
    """
    persons = np.asarray(persons, dtype=np.int64)
    in_review = np.isin(pairs.person, persons)
    pidx = np.flatnonzero(in_review)
    # persons in review without any compared candidate still get one row
    bare = persons[d.candidates[persons] == 0]
    order = np.lexsort((-pairs.weight[pidx], pairs.person[pidx])) if len(pidx) else np.zeros(0, np.int64)
    pidx = pidx[order]
    res_rows = np.concatenate([pairs.person[pidx], bare]).astype(np.int64)
    resp_rows = pair_resp[pidx] if len(pidx) else np.zeros(0, np.int64)
    n_pairs, n_bare = len(pidx), len(bare)
    cols: dict[str, pa.Array] = {}
    cols["person_id"] = R.column("person_id").take(pa.array(res_rows))
    reasons = reason_lists(d.reason_mask).take(pa.array(res_rows))
    cols["reasons"] = reasons
    rank = np.zeros(n_pairs, dtype=np.int64)
    if n_pairs:
        p = pairs.person[pidx]
        starts = np.r_[0, np.flatnonzero(p[1:] != p[:-1]) + 1]
        rank = np.arange(n_pairs) - np.repeat(starts, np.diff(np.r_[starts, n_pairs]))
    cols["candidate_rank"] = pa.array(np.r_[rank + 1, np.zeros(n_bare, np.int64)], pa.int64())
    resp_take = pa.array(np.r_[resp_rows, np.zeros(n_bare, np.int64)])
    bare_mask = pa.array(np.r_[np.zeros(n_pairs, bool), np.ones(n_bare, bool)])
    empty = S.num_rows == 0

    def right(col: str) -> pa.Array:
        if empty:
            return pa.nulls(n_pairs + n_bare, pa.string())
        return pc.if_else(bare_mask, pa.scalar(None, pa.string()), S.column(col).take(resp_take))

    cols["response_row"] = pc.if_else(bare_mask, pa.scalar(None, pa.int64()),
                                      S.column(ROW_COLUMN).take(resp_take) if not empty
                                      else pa.nulls(n_pairs + n_bare, pa.int64()))
    cols["my_number_masked"] = _mask(right("my_number"))
    w = np.r_[pairs.weight[pidx], np.full(n_bare, np.nan)]
    cols["match_weight"] = pa.array(w, pa.float64(), from_pandas=True)
    cols["match_probability"] = pa.array(1.0 / (1.0 + np.exp2(-np.clip(w, -60, 60))), pa.float64(), from_pandas=True)
    lw = model.level_weights() if model is not None else None
    for f, name in enumerate(FIELDS):
        cols[f"{name}_l"] = R.column(name).take(pa.array(res_rows))
        cols[f"{name}_r"] = right(name)
        lv = np.r_[levels[pidx, f], np.full(n_bare, -1, np.int8)] if n_pairs else np.full(n_bare, -1, np.int8)
        cols[f"level_{name}"] = pa.array(lv, pa.int8())
        wt = lw[f][lv.astype(np.int64) + 1] if lw is not None else np.zeros(len(lv))
        cols[f"weight_{name}"] = pa.array(np.where(lv >= 0, wt, 0.0), pa.float64())
    return pa.table(cols)


def _sample(R, S, d, pairs, pair_resp, levels, model, per_decision: int = 8) -> pa.Table:
    """A few match and review persons, side by side with their decision, for the report."""
    rng = np.random.default_rng(_SEED)
    chosen = []
    for kind in (MATCH, REVIEW):
        idx = np.flatnonzero((d.decision == kind) & (d.candidates > 0))
        if len(idx):
            chosen.append(np.sort(rng.choice(idx, size=min(per_decision, len(idx)), replace=False)))
    persons = np.concatenate(chosen) if chosen else np.zeros(0, np.int64)
    table = _side_by_side(R, S, d, pairs, pair_resp, levels, model, persons)
    owner = _index_of(table.column("person_id"), R.column("person_id"))
    return table.append_column("decision", pa.array(d.decision[owner].astype(str), pa.string()))


def _malformed_table(inp: InputTable, kind: str) -> pa.Table:
    rows = [r for r, _ in inp.malformed]
    errs = [e for _, e in inp.malformed]
    return pa.table({
        "source": pa.array([str(inp.path)] * len(rows), pa.string()),
        "table": pa.array([kind] * len(rows), pa.string()),
        "row": pa.array(rows, pa.int64()),
        "person_id": pa.nulls(len(rows), pa.string()),
        "field": pa.array(["row"] * len(rows), pa.string()),
        "error": pa.array([f"row:{e}" for e in errs], pa.string()),
    })


__all__ = ["Options", "run", "RESIDENT_COLUMNS", "RESPONSE_COLUMNS"]
