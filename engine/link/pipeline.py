"""Link two files, or deduplicate one, without inquiry ids.

The pipeline: read both inputs (all text) → normalise the configured columns
(``link.features``) → blocking keys per rule → candidate pairs (``link.blocking``;
pairs per rule counted and reported before any comparison) → comparison levels in chunks
of pairs (``link.comparisons``) → the Fellegi–Sunter model: u from random pairs, m and
the prior by EM, match weights with term-frequency adjustments and groups
(``link.model``) → decisions (``link.assign.decide_pairs``): automatic matches, one-to-one links
or guarded clusters (``link.assign``), and a review band → outputs.

**Decisions** (the clerical review of the record-linkage literature, as in Splink): a pair
with match probability at or above ``[link] threshold`` is an automatic ``match``; a pair
in ``[review_threshold, threshold)`` goes to ``review`` — a person looks at it — as does an
automatic pair that the chaining guard or the one-to-one assignment refused. Only automatic
matches form clusters. Without ``review_threshold`` there is no band.

Outputs in ``out``: ``links.parquet`` (every pair at or above the review threshold:
``decision`` match/review, ``review_reason`` band/chain_guard/one_to_one, ``accepted`` =
automatic match), ``clusters.parquet`` when deduplicating, ``model.json``,
``summary.json``, ``report.html``.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pyarrow as pa

from jukimatch.engine.files.atomic import atomic_write_bytes
from jukimatch.engine.files.crypt import load_key, write_parquet
from jukimatch.engine.io import read_keyed_table
from jukimatch.engine.link.assign import REVIEW_REASONS, Clusters, PairDecisions, decide_pairs
from jukimatch.engine.link.blocking import Blocked, RuleCount, block, combine_keys
from jukimatch.engine.link.config import LinkConfig
from jukimatch.engine.link.features import empty_column, key_part, normalise
from jukimatch.engine.link.model import (Scored, TermFreq, fit_link_model, rule_mask, score_pairs, term_frequencies,
                         tf_adjustments)
from jukimatch.engine.model import Model, weight_of
from jukimatch.engine.runtime import Timer

__all__ = ["LinkOptions", "Scored", "compare_columns", "fit_link_model", "rule_mask", "run", "score_pairs",
           "term_frequencies", "tf_adjustments"]

Progress = Callable[[str, int, int], None]
_MIN_PAIRS_TO_FIT = 10  # EM needs some pairs; fewer and no model is fitted (no links)


@dataclass
class LinkOptions:
    config: LinkConfig
    threshold: float | None = None  # overrides config.threshold
    review_threshold: float | None = None  # overrides config.review_threshold
    encoding: str | None = None
    chunk_pairs: int = 1_000_000
    report: bool = True
    progress: Progress | None = None
    on_blocking: Callable[[list[RuleCount]], None] | None = None  # counts, before comparing
    encrypt_key_file: str | Path | None = None  # write links and clusters encrypted (AES-256-GCM)


# --- features, keys, levels ---------------------------------------------------------------

def _features(table: pa.Table, cfg: LinkConfig, side: str, warnings: list[str]) -> list[Any]:
    out = []
    for spec in cfg.columns:
        if spec.name in table.column_names:
            col = table.column(spec.name).cast(pa.string())
        else:
            warnings.append(f"{side} input has no column {spec.name!r}: compared as null")
            col = empty_column(table.num_rows)
        out.append(normalise(col, spec.normaliser))
    return out


def _keys(feats: list[Any], cfg: LinkConfig) -> np.ndarray:
    idx = {c.name: i for i, c in enumerate(cfg.columns)}
    n = _n_records(feats[0], cfg.columns[0].kind)
    keys = np.zeros((n, len(cfg.rules)), dtype=np.uint64)
    for r, rule in enumerate(cfg.rules):
        parts = np.stack([key_part(feats[idx[c]], cfg.columns[idx[c]].kind, t) for c, t in rule.keys], axis=1)
        keys[:, r] = combine_keys(parts, unordered=rule.unordered)
    return keys


def _n_records(feature: Any, kind: str) -> int:
    if kind == "strings":
        return len(feature)
    if kind == "date":
        return len(feature.year)
    if kind == "address":
        return len(feature[0])
    return len(feature)


def compare_columns(cfg: LinkConfig, left: list[Any], right: list[Any], li: np.ndarray, ri: np.ndarray) -> np.ndarray:
    """The (pairs × columns) int8 level matrix of the configured comparisons."""
    out = np.empty((len(li), len(cfg.columns)), dtype=np.int8)
    for f, spec in enumerate(cfg.columns):
        out[:, f] = spec.comparison.levels(left[f], right[f], li, ri)
    return out


def _compare_chunks(cfg: LinkConfig, left: list[Any], right: list[Any], li: np.ndarray, ri: np.ndarray, chunk: int,
                    progress: Progress | None) -> np.ndarray:
    levels = np.empty((len(li), len(cfg.columns)), dtype=np.int8)
    for a in range(0, len(li), chunk):
        b = min(a + chunk, len(li))
        levels[a:b] = compare_columns(cfg, left, right, li[a:b], ri[a:b])
        if progress:
            progress("compare", b, len(li))
    return levels


# --- the model: see engine.link.model -----------------------------------------------------

def _u_levels(cfg: LinkConfig, left: list[Any], right: list[Any], nl: int, nr: int, dedupe: bool) -> np.ndarray:
    rng = np.random.default_rng(cfg.seed)
    k = cfg.u_sample
    uli = rng.integers(0, nl, size=k, dtype=np.int64)
    uri = rng.integers(0, nr, size=k, dtype=np.int64)
    if dedupe:
        keep = uli != uri
        uli, uri = uli[keep], uri[keep]
    return compare_columns(cfg, left, right, uli, uri)


def _n_total(nl: int, nr: int, dedupe: bool) -> float:
    """Every pair there is: the space the prior (a random pair's chance to match) refers to."""
    return nl * (nl - 1) / 2 if dedupe else float(nl) * nr


def _term_frequencies(cfg: LinkConfig, lf: list[Any], rf: list[Any],
                      dedupe: bool) -> tuple[dict[int, TermFreq], dict[str, dict[str, Any]]]:
    """Per TF column: per-record shares and keys of its ``tf_key`` value, and a summary for the report."""
    tf: dict[int, TermFreq] = {}
    info: dict[str, dict[str, Any]] = {}
    for f, spec in enumerate(cfg.columns):
        if not spec.tf:
            continue
        lids = key_part(lf[f], spec.kind, spec.tf_key)
        rids = None if dedupe else key_part(rf[f], spec.kind, spec.tf_key)
        tl, tr = term_frequencies(lids, rids)
        tf[f] = TermFreq(tl, tl, lids, lids) if dedupe else TermFreq(tl, tr, lids, rids)
        allids = lids if rids is None else np.concatenate([lids, rids])
        known = allids[allids != 0]
        if len(known):
            _, cnt = np.unique(known, return_counts=True)
            info[spec.name] = {"key": spec.tf_key or "value", "levels": list(spec.tf_levels),
                               "distinct_values": int(len(cnt)), "top_share": round(float(cnt.max() / len(known)), 6)}
    return tf, info


# --- decisions ------------------------------------------------------------------------------

# --- the run ------------------------------------------------------------------------------

def run(left_path: str | Path, right_path: str | Path | None, out_dir: str | Path, opts: LinkOptions) -> dict[str, Any]:
    """Link ``left`` with ``right`` (or deduplicate ``left`` when ``right`` is None); write the outputs."""
    cfg = opts.config
    threshold = cfg.threshold if opts.threshold is None else float(opts.threshold)
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must lie strictly between 0 and 1, got {threshold}")
    review = opts.review_threshold if opts.review_threshold is not None else cfg.review_threshold
    if review is not None and not 0.0 < float(review) < 1.0:
        raise ValueError(f"review threshold must lie strictly between 0 and 1, got {review}")
    review = threshold if review is None else min(float(review), threshold)
    dedupe = right_path is None
    timer = Timer()
    t0 = time.perf_counter()
    out = Path(out_dir)
    warnings: list[str] = []
    key = load_key(opts.encrypt_key_file) if opts.encrypt_key_file else None  # refused before any work

    L, l_bad, lpath = read_keyed_table(left_path, opts.encoding, cfg.id_column)
    r_bad: list[tuple[int, str]] = []
    rpath: Path | None = None
    if right_path is None:
        R = L
    else:
        R, r_bad, rpath = read_keyed_table(right_path, opts.encoding, cfg.id_column)
    nl, nr = L.num_rows, R.num_rows
    for bad, p in ((l_bad, lpath), (r_bad, rpath)):
        if bad:
            warnings.append(f"{p}: {len(bad)} rows could not be parsed and were left out "
                            f"(first: record {bad[0][0]}, {bad[0][1]})")
    timer.lap("read")

    lf = _features(L, cfg, "left", warnings)
    rf = lf if dedupe else _features(R, cfg, "right", warnings)
    tf, tf_info = _term_frequencies(cfg, lf, rf, dedupe)
    timer.lap("normalise")

    lk = _keys(lf, cfg)
    rk = None if dedupe else _keys(rf, cfg)
    names = [r.name for r in cfg.rules]
    blocked: Blocked = block(lk, rk, names, max_pairs_per_rule=cfg.max_pairs_per_rule,
                             on_counts=opts.on_blocking)
    li, ri = blocked.li, blocked.ri
    n_pairs = len(li)
    timer.lap("block")

    levels = _compare_chunks(cfg, lf, rf, li, ri, max(1, opts.chunk_pairs), opts.progress)
    timer.lap("compare")

    model: Model | None = None
    if n_pairs >= _MIN_PAIRS_TO_FIT and nl > 1 and nr > 1:
        u_levels = _u_levels(cfg, lf, rf, nl, nr, dedupe)
        model = fit_link_model(cfg, levels, li, ri, lk, rk, u_levels, tf, n_total=_n_total(nl, nr, dedupe),
                               warnings=warnings)
        scored = score_pairs(model, cfg, levels, li, tf, ri=ri)
    else:
        warnings.append(f"only {n_pairs} candidate pairs: too few to fit a model, no links made")
        scored = Scored.empty(levels, li, ri)
    timer.lap("fit")

    dec = decide_pairs(scored.probability, scored.weight, li, ri, nl, nr, threshold=threshold, review_threshold=review,
                 dedupe=dedupe, one_to_one_links=cfg.one_to_one, max_cluster_size=cfg.max_cluster_size)
    timer.lap("assign")

    out.mkdir(parents=True, exist_ok=True)
    lid, rid = L.column(cfg.id_column), R.column(cfg.id_column)
    written = [write_parquet(_links_table(cfg, lid, rid, li, ri, scored, levels, dec, blocked, names),
                             out / "links.parquet", key)]
    if dec.clusters is not None:
        written.append(write_parquet(_clusters_table(cfg, lid, dec.clusters), out / "clusters.parquet", key))
    if model is not None:
        model.save(out / "model.json")
    timer.lap("write")

    summary = _summary(cfg, threshold, review, dedupe, lpath, rpath, nl, nr, blocked, model, tf_info, dec, li, ri,
                       scored, warnings)
    if key is not None:
        summary["encrypted"] = [p.name for p in written]
    if opts.report:
        from jukimatch.engine.link.report import write_link_report

        write_link_report(out / "report.html", summary=summary, cfg=cfg, L=L, R=R, li=li, ri=ri, levels=levels,
                          scored=scored, decisions=dec, model=model)
        timer.lap("report")
    summary["timings_s"] = dict(timer.phases, total=round(time.perf_counter() - t0, 4))
    atomic_write_bytes(out / "summary.json", json.dumps(summary, indent=2, ensure_ascii=False).encode())
    return summary


def _links_table(cfg: LinkConfig, lid: pa.Array, rid: pa.Array, li: np.ndarray, ri: np.ndarray, scored: Scored,
                 levels: np.ndarray, dec: PairDecisions, blocked: Blocked, names: list[str]) -> pa.Table:
    k = dec.kept
    reason = pa.DictionaryArray.from_arrays(pa.array(dec.reason.astype(np.int32), mask=dec.reason < 0),
                                            pa.array(REVIEW_REASONS, pa.string()))
    cols = {
        "left_id": lid.take(pa.array(li[k])),
        "right_id": rid.take(pa.array(ri[k])),
        "match_probability": pa.array(scored.probability[k], pa.float64()),
        "match_weight": pa.array(scored.weight[k], pa.float64()),
        "decision": pa.DictionaryArray.from_arrays(pa.array(np.where(dec.match, 0, 1).astype(np.int32)),
                                                   pa.array(["match", "review"], pa.string())),
        "review_reason": reason,
        "accepted": pa.array(dec.match, pa.bool_()),
        "blocking_rule": pa.DictionaryArray.from_arrays(pa.array(blocked.rule[k].astype(np.int32)),
                                                        pa.array(names, pa.string())),
    }
    for f, spec in enumerate(cfg.columns):
        cols[f"level_{spec.name}"] = pa.array(levels[k, f], pa.int8())
    table = pa.table(cols)
    order = np.lexsort((ri[k], li[k], -scored.weight[k]))
    return table.take(pa.array(order))


def _clusters_table(cfg: LinkConfig, lid: pa.Array, clusters: Clusters) -> pa.Table:
    return pa.table({
        cfg.id_column: lid,
        "cluster_id": lid.take(pa.array(clusters.root)),
        "cluster_size": pa.array(clusters.size, pa.int32()),
    })


def _weight_of(p: float) -> float:
    return round(weight_of(p), 4)


def _summary(cfg: LinkConfig, threshold: float, review: float, dedupe: bool, lpath: Path, rpath: Path | None,
             nl: int, nr: int, blocked: Blocked, model: Model | None, tf_info: dict[str, Any], dec: PairDecisions,
             li: np.ndarray, ri: np.ndarray, scored: Scored, warnings: list[str]) -> dict[str, Any]:
    k = dec.kept
    auto = scored.probability[k] >= threshold
    n_review = int((~dec.match).sum())
    review_records = np.zeros(nl + (0 if dedupe else nr), dtype=bool)
    rv = k[~dec.match]
    review_records[li[rv]] = True
    review_records[ri[rv] + (0 if dedupe else nl)] = True
    summary = {
        "mode": "dedupe" if dedupe else "link",
        "inputs": {"left": str(lpath)} | ({} if dedupe else {"right": str(rpath)}),
        "rows": {"left": nl} | ({} if dedupe else {"right": nr}),
        "config": cfg.to_dict(),
        "threshold": {"match_probability": threshold, "match_weight": _weight_of(threshold),
                      "review_probability": review, "review_weight": _weight_of(review)},
        "blocking": {
            "rules": [{"name": c.name, "pairs": c.pairs, "new_pairs": c.new_pairs} for c in blocked.counts],
            "candidate_pairs": int(len(blocked)),
            "max_pairs_per_rule": cfg.max_pairs_per_rule,
        },
        "model": model.to_dict() if model is not None else None,
        "term_frequencies": tf_info,
        "pairs": {
            "compared": int(len(blocked)),
            "above_threshold": int(auto.sum()),
            "accepted": int(dec.match.sum()),
            "refused": int((auto & ~dec.match).sum()),
            "review_band": int((~auto).sum()),
        },
        "decisions": {"match": int(dec.match.sum()), "review": n_review},
        "review": {
            "pairs": n_review,
            "records": int(review_records.sum()),
            "by_reason": {r: int((dec.reason == i).sum()) for i, r in enumerate(REVIEW_REASONS)
                          if (dec.reason == i).any()},
        },
        "warnings": warnings,
    }
    clusters = dec.clusters
    if clusters is not None:
        sizes, n = np.unique(clusters.size[clusters.size > 1], return_counts=True)
        summary["clusters"] = {
            "records_in_clusters": int((clusters.size > 1).sum()),
            "clusters": int(sum(c // s for s, c in zip(sizes.tolist(), n.tolist()))),
            "by_size": {str(s): int(c // s) for s, c in zip(sizes.tolist(), n.tolist())},
            "max_cluster_size": cfg.max_cluster_size,
            "refused_joins_size": clusters.refused_size,
            "refused_joins_incomplete": clusters.refused_incomplete,
        }
    else:
        summary["links"] = {"one_to_one": cfg.one_to_one, "links": int(dec.match.sum())}
    return summary
