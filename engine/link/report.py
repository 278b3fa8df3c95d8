"""report.html of a link or deduplication run: the engine's report (``engine.report.page``) fed with
link-shaped tables, plus the blocking section.

Mapping onto the reconciliation report: each *left* record (each record, deduplicating) gets
one "decision" — ``match`` when it is in an automatic match (a cluster of two or more),
``review`` when it is in a pair under review and in no automatic match, else ``no_match``;
the pairs under review (the review band, and automatic pairs the one-to-one assignment or
the chaining guard refused) are the ``review`` rows (both records side by side, levels and
weights, the reason), and a sample of automatic matches is explained with waterfalls.
Numbers in the data are masked by the report as always.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from jukimatch.engine.link.assign import REVIEW_REASONS
from jukimatch.engine.link.config import LinkConfig
from jukimatch.engine.model import Model, probability
from jukimatch.engine.report.page import write_report

__all__ = ["LINK_REASONS", "write_link_report"]

#: the link's review reasons, explained in the report beside the engine's own
LINK_REASONS = {
    "link:band": "match probability in the review band: the data cannot tell the two records apart "
                 "with confidence (e.g. namesakes of a common name born the same day)",
    "link:chain_guard": "an automatic pair the chaining guard refused: joining it would put two records "
                        "in one cluster that are not a link themselves, or grow the cluster too large",
    "link:one_to_one": "an automatic pair refused by the one-to-one assignment: one of its records has a "
                       "stronger link",
}

_SAMPLE = 8
_REVIEW_ROWS = 2000


def _side_by_side(cfg: LinkConfig, L: pa.Table, R: pa.Table, li, ri, levels, scored, idx: np.ndarray,
                  decision: str, reasons: list[str] | None) -> pa.Table:
    idx = np.asarray(idx, dtype=np.int64)
    take_l, take_r = pa.array(li[idx]), pa.array(ri[idx])
    n = len(idx)
    fw = scored.field_weights(idx)
    cols: dict[str, pa.Array] = {
        "person_id": L.column(cfg.id_column).take(take_l),
        "reasons": pa.array([[r] for r in reasons] if reasons is not None else [[]] * n, pa.list_(pa.string())),
        "candidate_rank": pa.array(np.ones(n, np.int64)),
        "right_id": R.column(cfg.id_column).take(take_r),
        "my_number_masked": pa.nulls(n, pa.string()),
        "match_weight": pa.array(scored.weight[idx], pa.float64()),
        "match_probability": pa.array(scored.probability[idx], pa.float64()),
    }
    for f, spec in enumerate(cfg.columns):
        for side, table, take in (("l", L, take_l), ("r", R, take_r)):
            cols[f"{spec.name}_{side}"] = (table.column(spec.name).cast(pa.string()).take(take)
                                           if spec.name in table.column_names else pa.nulls(n, pa.string()))
        cols[f"level_{spec.name}"] = pa.array(levels[idx, f], pa.int8())
        cols[f"weight_{spec.name}"] = pa.array(fw[:, f], pa.float64())
    cols["decision"] = pa.array([decision] * n, pa.string())
    return pa.table(cols)


def write_link_report(path: str | Path, *, summary: dict, cfg: LinkConfig, L: pa.Table, R: pa.Table,
                      li: np.ndarray, ri: np.ndarray, levels: np.ndarray, scored, decisions, model: Model | None) -> None:
    """Write ``report.html`` for a link run (see the module docstring)."""
    nl = L.num_rows
    dedupe = summary["mode"] == "dedupe"
    kept = decisions.kept
    acc_idx = kept[decisions.match]
    rev_idx = kept[~decisions.match]
    rev_reason = decisions.reason[~decisions.match]
    linked = np.zeros(nl, dtype=bool)
    linked[li[acc_idx]] = True
    in_review = np.zeros(nl, dtype=bool)
    in_review[li[rev_idx]] = True
    if dedupe:
        linked[ri[acc_idx]] = True
        in_review[ri[rev_idx]] = True
    best_w = np.full(nl, np.nan)
    if len(li):
        order = np.argsort(scored.weight, kind="stable")
        best_w[li[order]] = scored.weight[order]  # the last write per record is its best pair
        if dedupe:
            best_w[ri[order]] = np.fmax(best_w[ri[order]], scored.weight[order])
    decision = np.where(linked, "match", np.where(in_review, "review", "no_match"))
    candidates = np.bincount(li, minlength=nl).astype(np.int32)
    if dedupe:
        candidates += np.bincount(ri, minlength=nl).astype(np.int32)
    decisions_t = pa.table({
        "person_id": L.column(cfg.id_column),
        "decision": pa.array(decision.astype(str), pa.string()),
        "match_probability": pa.array(probability(best_w), pa.float64(),
                                      from_pandas=True),
        "match_weight": pa.array(best_w, pa.float64(), from_pandas=True),
        "candidates": pa.array(candidates, pa.int32()),
        "reasons": pa.array([[]] * nl, pa.list_(pa.string())),
    })
    # the review queue, strongest first
    order = np.argsort(-scored.weight[rev_idx], kind="stable")[:_REVIEW_ROWS]
    reasons = [f"link:{REVIEW_REASONS[r]}" for r in rev_reason[order]]
    review = _side_by_side(cfg, L, R, li, ri, levels, scored, rev_idx[order], "review", reasons)
    rng = np.random.default_rng(cfg.seed)
    pick = np.sort(rng.choice(acc_idx, size=min(_SAMPLE, len(acc_idx)), replace=False)) if len(acc_idx) else acc_idx
    sample = _side_by_side(cfg, L, R, li, ri, levels, scored, pick, "match", None)
    pair_decision = np.full(len(li), "no_match", dtype=object)
    pair_decision[acc_idx] = "match"
    pair_decision[rev_idx] = "review"
    counts = {"match": int(linked.sum()), "review": int((in_review & ~linked).sum()),
              "no_match": int((~linked & ~in_review).sum())}
    reason_counts = {f"link:{REVIEW_REASONS[i]}": int((rev_reason == i).sum())
                     for i in range(len(REVIEW_REASONS)) if (rev_reason == i).any()}
    rsum = dict(summary)
    rsum.update({
        "report_title": f"jukimatch {'deduplication' if dedupe else 'link'} report",
        "rows": {"residents_in": nl, "decisions_out": nl, "conserved": True},
        "decisions": counts,
        "reasons": reason_counts,
        "thresholds": {"match_probability": summary["threshold"]["match_probability"],
                       "review_probability": summary["threshold"]["review_probability"]},
    })
    write_report(path, summary=rsum, decisions=decisions_t, review=review, levels=levels, weight=scored.weight,
                 pair_decision=pair_decision, model=model, sample=sample, blocking=summary["blocking"],
                 title=rsum["report_title"], reasons=LINK_REASONS)
