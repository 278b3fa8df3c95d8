"""report.html of a link or deduplication run: the engine's report (``engine.report``) fed with
link-shaped tables, plus the blocking section.

Mapping onto the reconciliation report: each *left* record gets one "decision" — ``match``
when it is in an accepted link (or a cluster of two or more), else ``no_match``; pairs at or
above the threshold that the one-to-one assignment or the chaining guard refused are the
``review`` rows (both records side by side, levels and weights), and a sample of accepted
links is explained with waterfalls. Numbers in the data are masked by the report as always.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from .link_config import LinkConfig
from .model import Model
from .report import write_report

__all__ = ["write_link_report"]

_SAMPLE = 8
_REVIEW_ROWS = 2000


def _side_by_side(cfg: LinkConfig, L: pa.Table, R: pa.Table, li, ri, levels, scored, idx: np.ndarray,
                  decision: str, reason: str | None) -> pa.Table:
    idx = np.asarray(idx, dtype=np.int64)
    take_l, take_r = pa.array(li[idx]), pa.array(ri[idx])
    n = len(idx)
    cols: dict[str, pa.Array] = {
        "person_id": L.column(cfg.id_column).take(take_l),
        "reasons": pa.array([[reason] if reason else []] * n, pa.list_(pa.string())),
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
        cols[f"weight_{spec.name}"] = pa.array(scored.field_weight[idx, f], pa.float64())
    cols["decision"] = pa.array([decision] * n, pa.string())
    return pa.table(cols)


def write_link_report(path: str | Path, *, summary: dict, cfg: LinkConfig, L: pa.Table, R: pa.Table,
                      li: np.ndarray, ri: np.ndarray, levels: np.ndarray, scored, above: np.ndarray,
                      accepted: np.ndarray, model: Model | None) -> None:
    """Write ``report.html`` for a link run (see the module docstring)."""
    nl = L.num_rows
    acc_idx = above[accepted]
    ref_idx = above[~accepted]
    linked = np.zeros(nl, dtype=bool)
    linked[li[acc_idx]] = True
    if summary["mode"] == "dedupe":
        linked[ri[acc_idx]] = True
    best_w = np.full(nl, np.nan)
    if len(li):
        order = np.argsort(scored.weight, kind="stable")
        best_w[li[order]] = scored.weight[order]  # the last write per record is its best pair
    decision = np.where(linked, "match", "no_match")
    candidates = np.bincount(li, minlength=nl).astype(np.int32)
    decisions = pa.table({
        "person_id": L.column(cfg.id_column),
        "decision": pa.array(decision.astype(str), pa.string()),
        "match_probability": pa.array(1.0 / (1.0 + np.exp2(-np.clip(best_w, -60, 60))), pa.float64(),
                                      from_pandas=True),
        "match_weight": pa.array(best_w, pa.float64(), from_pandas=True),
        "candidates": pa.array(candidates, pa.int32()),
        "reasons": pa.array([[]] * nl, pa.list_(pa.string())),
    })
    why = "chain_guard" if summary["mode"] == "dedupe" else "one_to_one"
    review = _side_by_side(cfg, L, R, li, ri, levels, scored, ref_idx[:_REVIEW_ROWS], "review", f"link:{why}")
    rng = np.random.default_rng(cfg.seed)
    pick = np.sort(rng.choice(acc_idx, size=min(_SAMPLE, len(acc_idx)), replace=False)) if len(acc_idx) else acc_idx
    sample = _side_by_side(cfg, L, R, li, ri, levels, scored, pick, "match", None)
    pair_decision = np.full(len(li), "no_match", dtype=object)
    pair_decision[acc_idx] = "match"
    pair_decision[ref_idx] = "review"
    counts = {"match": int(linked.sum()), "review": 0, "no_match": int(nl - linked.sum())}
    rsum = dict(summary)
    rsum.update({
        "report_title": f"jukimatch {'deduplication' if summary['mode'] == 'dedupe' else 'link'} report",
        "rows": {"residents_in": nl, "decisions_out": nl, "conserved": True},
        "decisions": counts,
        "reasons": {f"link:{why}": int(len(ref_idx))} if len(ref_idx) else {},
        "thresholds": {"match_probability": summary["threshold"]["match_probability"]},
    })
    write_report(path, summary=rsum, decisions=decisions, review=review, levels=levels, weight=scored.weight,
                 pair_decision=pair_decision, model=model, sample=sample, blocking=summary["blocking"],
                 title=rsum["report_title"])
