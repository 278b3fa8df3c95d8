"""Link two files, or deduplicate one, without inquiry ids.

The pipeline: read both inputs (all text) → normalise the configured columns
(``engine.link_features``) → blocking keys per rule → candidate pairs (``engine.blocking``;
pairs per rule counted and reported before any comparison) → comparison levels in chunks
of pairs (``engine.link_compare``) → u from random pairs, m and the prior by EM over level
patterns (``engine.model``) → match weights with term-frequency adjustments → one-to-one
links or guarded clusters (``engine.link_assign``) → outputs.

**Term-frequency adjustment** (as Splink does it): a column with ``tf = true`` counts how
often each normalised value occurs (over both inputs together). When a pair agrees exactly
on that column, the exact level's weight ``log2(m / u)`` — with ``u`` the chance that two
random records agree on *some* value — becomes ``log2(m / tf(value))``: the adjustment
``log2(u / tf(value))`` is added. A shared rare name is strong evidence, a shared NGUYEN
weak. Other levels are not adjusted.

Outputs in ``out``: ``links.parquet`` (pairs at or above the threshold, ``accepted`` marks
the links kept by the one-to-one assignment or the clusters), ``clusters.parquet`` when
deduplicating, ``model.json``, ``summary.json``, ``report.html``.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from . import io as _io
from .blocking import Blocked, RuleCount, block, combine_keys
from .io import InputError
from .link_assign import Clusters, cluster_pairs, one_to_one
from .link_config import LinkConfig
from .link_features import empty_column, key_part, normalise, value_ids
from .model import Model, estimate_u, fit, probability

__all__ = ["LinkOptions", "Scored", "compare_columns", "fit_link_model", "rule_mask", "run", "score_pairs",
           "term_frequencies", "tf_adjustments"]

Progress = Callable[[str, int, int], None]
_MIN_PAIRS_TO_FIT = 10  # EM needs some pairs; fewer and no model is fitted (no links)
_MIN_SESSION_PAIRS = 20  # a blocking rule's EM session needs at least this many pairs


@dataclass
class LinkOptions:
    config: LinkConfig
    threshold: float | None = None  # overrides config.threshold
    encoding: str | None = None
    chunk_pairs: int = 1_000_000
    report: bool = True
    progress: Progress | None = None
    on_blocking: Callable[[list[RuleCount]], None] | None = None  # counts, before comparing


class _Timer:
    def __init__(self) -> None:
        self.phases: dict[str, float] = {}
        self._t = time.perf_counter()

    def lap(self, name: str) -> None:
        t = time.perf_counter()
        self.phases[name] = round(self.phases.get(name, 0.0) + t - self._t, 4)
        self._t = t


# --- reading ------------------------------------------------------------------------------

def _read(path: str | Path, encoding: str | None, id_column: str) -> tuple[pa.Table, list, Path]:
    """An all-text input table with a unique, non-empty id column."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        table, malformed = _io._read_parquet(path)
    elif suffix in (".csv", ".txt"):
        table, malformed = _io._read_csv(path, encoding)
    else:
        raise InputError(f"{path}: unknown format {suffix or '(none)'}; use .parquet or .csv")
    names = [n.strip().lstrip("\ufeff") for n in table.column_names]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise InputError(f"{path}: column {dup}: appears twice in the header")
    table = table.rename_columns(names)
    if id_column not in names:
        raise InputError(f"{path}: column {id_column}: required id column missing (set [link] id_column)")
    cols = []
    for name in names:
        col = table.column(name)
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            col = pc.if_else(pc.equal(col, ""), pa.scalar(None, col.type), col)
        cols.append(col)
    table = pa.table(cols, names=names)
    ids = pc.utf8_trim_whitespace(table.column(id_column).cast(pa.string()))
    valid = pc.fill_null(pc.greater(pc.utf8_length(ids), 0), False).to_numpy(zero_copy_only=False)
    if not valid.all():
        row = int(np.flatnonzero(~valid)[0]) + 1
        raise InputError(f"{path}: row {row}: column {id_column}: empty id")
    counts = pc.value_counts(ids)
    if len(counts) != table.num_rows:
        values, n = counts.field("values"), counts.field("counts").to_numpy()
        dup = values[int(np.flatnonzero(n > 1)[0])].as_py()
        row = int(pc.index(ids, dup).as_py()) + 1
        raise InputError(f"{path}: row {row}: column {id_column}: id {dup!r} appears more than once")
    return table.set_column(names.index(id_column), id_column, ids), malformed, path


# --- features, keys, levels ---------------------------------------------------------------

def _features(table: pa.Table, cfg: LinkConfig, side: str, warnings: list[str]) -> list:
    out = []
    for spec in cfg.columns:
        if spec.name in table.column_names:
            col = table.column(spec.name).cast(pa.string())
        else:
            warnings.append(f"{side} input has no column {spec.name!r}: compared as null")
            col = empty_column(table.num_rows)
        out.append(normalise(col, spec.normaliser))
    return out


def _keys(feats: list, cfg: LinkConfig) -> np.ndarray:
    idx = {c.name: i for i, c in enumerate(cfg.columns)}
    n = _n_records(feats[0], cfg.columns[0].kind)
    keys = np.zeros((n, len(cfg.rules)), dtype=np.uint64)
    for r, rule in enumerate(cfg.rules):
        parts = np.stack([key_part(feats[idx[c]], cfg.columns[idx[c]].kind, t) for c, t in rule.keys], axis=1)
        keys[:, r] = combine_keys(parts, unordered=rule.unordered)
    return keys


def _n_records(feature, kind: str) -> int:
    if kind == "strings":
        return len(feature)
    if kind == "date":
        return len(feature.year)
    if kind == "address":
        return len(feature[0])
    return len(feature)


def compare_columns(cfg: LinkConfig, left: list, right: list, li: np.ndarray, ri: np.ndarray) -> np.ndarray:
    """The (pairs × columns) int8 level matrix of the configured comparisons."""
    out = np.empty((len(li), len(cfg.columns)), dtype=np.int8)
    for f, spec in enumerate(cfg.columns):
        out[:, f] = spec.comparison.levels(left[f], right[f], li, ri)
    return out


def _compare_chunks(cfg: LinkConfig, left: list, right: list, li: np.ndarray, ri: np.ndarray, chunk: int,
                    progress: Progress | None) -> np.ndarray:
    levels = np.empty((len(li), len(cfg.columns)), dtype=np.int8)
    for a in range(0, len(li), chunk):
        b = min(a + chunk, len(li))
        levels[a:b] = compare_columns(cfg, left, right, li[a:b], ri[a:b])
        if progress:
            progress("compare", b, len(li))
    return levels


# --- term frequencies and scores ------------------------------------------------------------

def term_frequencies(left_ids: np.ndarray, right_ids: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Share of records holding each record's value, over both sides together (0 where null).

    ``left_ids`` / ``right_ids`` are :func:`value_ids` (``uint64``, 0 = null); returns the
    per-record shares of the left and of the right side (the left's twice when deduplicating).
    """
    right = left_ids if right_ids is None else right_ids
    both = left_ids if right_ids is None else np.concatenate([left_ids, right_ids])
    known = both != 0
    tf = np.zeros(len(both), dtype=np.float64)
    if known.any():
        _, inverse, counts = np.unique(both[known], return_inverse=True, return_counts=True)
        tf[known] = counts[inverse] / known.sum()
    if right_ids is None:
        return tf, tf
    return tf[: len(left_ids)], tf[len(left_ids):] if len(right) else tf[:0]


def tf_adjustments(levels: np.ndarray, exact_level: int, u_exact: float, tf_left: np.ndarray,
                   li: np.ndarray) -> np.ndarray:
    """Bits added to the exact level's weight: log2(u_exact / tf(value)); 0 at other levels."""
    adj = np.zeros(len(levels), dtype=np.float64)
    ex = np.flatnonzero(levels == exact_level)
    if len(ex):
        tf = np.maximum(tf_left[li[ex]], 1e-12)
        adj[ex] = np.log2(u_exact / tf)
    return adj


@dataclass
class Scored:
    weight: np.ndarray  # bits, prior included, TF-adjusted
    probability: np.ndarray
    field_weight: np.ndarray  # (pairs × columns) bits per column, TF adjustment included


def score_pairs(model: Model, cfg: LinkConfig, levels: np.ndarray, li: np.ndarray,
                tf: dict[int, np.ndarray]) -> Scored:
    """Match weights: prior + per-column level weights + TF adjustments of exact agreements.

    ``tf`` maps a column index to the per-record term frequencies of the left side.
    """
    lw = model.level_weights()
    fw = np.empty(levels.shape, dtype=np.float64)
    for f, spec in enumerate(cfg.columns):
        fw[:, f] = lw[f][levels[:, f].astype(np.int64) + 1]
        if f in tf:
            ex = spec.comparison.exact_level
            fw[:, f] += tf_adjustments(levels[:, f], ex, float(model.u[f][ex]), tf[f], li)
    for cols in cfg.groups().values():
        # one fact in several notations: only the strongest agreement counts, every disagreement does
        g = fw[:, cols]
        pos = np.maximum(g, 0.0)
        best = np.argmax(pos, axis=1)
        keep = np.zeros_like(pos)
        rows = np.arange(len(g))
        keep[rows, best] = pos[rows, best]
        fw[:, cols] = keep + np.minimum(g, 0.0)
    w = model.prior_weight() + fw.sum(axis=1)
    return Scored(w, probability(w), fw)


def _n_total(nl: int, nr: int, dedupe: bool) -> float:
    """Every pair there is: the space the prior (a random pair's chance to match) refers to."""
    return nl * (nl - 1) / 2 if dedupe else float(nl) * nr


def rule_mask(keys_left: np.ndarray, keys_right: np.ndarray, li: np.ndarray, ri: np.ndarray) -> np.ndarray:
    """Pairs on which one rule's keys agree (whichever rule found them first)."""
    a, b = keys_left[li], keys_right[ri]
    return (a != 0) & (a == b)


def fit_link_model(cfg: LinkConfig, levels: np.ndarray, li: np.ndarray, ri: np.ndarray, lk: np.ndarray,
                   rk: np.ndarray | None, u_levels: np.ndarray, tf: dict[int, np.ndarray], *, n_total: float,
                   warnings: list[str] | None = None, min_session_pairs: int = _MIN_SESSION_PAIRS) -> Model:
    """u from random pairs; m by EM per blocking rule; the prior by EM over all candidates.

    Candidate pairs agree on their blocking keys far more often than random pairs do, so an
    EM over all of them with u from random pairs finds "everything matches". As Splink does,
    m is therefore estimated once per blocking rule, on the pairs that rule yields, with
    the rule's own columns left out (their levels treated as null); each column's m is the
    mean over the sessions that left it free.

    The prior is then the chance that two *random* records match (u is from random pairs,
    so weights and prior refer to the same population of pairs): with m and u fixed, the
    expected number of matches M solves M = Σ P(match | pair, prior = M / n_total) over the
    candidate pairs (pairs outside the blocks count as non-matches), iterated from M = 1 —
    the smallest fixed point, at least the number of unmistakable matches.
    """
    warnings = [] if warnings is None else warnings
    fields = [c.name for c in cfg.columns]
    n_levels = [c.comparison.n_levels for c in cfg.columns]
    u = estimate_u(u_levels, n_levels)
    rk = lk if rk is None else rk
    col_index = {c.name: i for i, c in enumerate(cfg.columns)}
    m_sum = [np.zeros(k) for k in n_levels]
    m_n = np.zeros(len(fields), dtype=np.int64)
    sessions = []
    for r, rule in enumerate(cfg.rules):
        mask = rule_mask(lk[:, r], rk[:, r], li, ri)
        n = int(mask.sum())
        blocked_cols = {col_index[c] for c, _ in rule.keys}
        for cols in cfg.groups().values():  # a group is left out whole
            if blocked_cols & set(cols):
                blocked_cols |= set(cols)
        blocked_cols = sorted(blocked_cols)
        free = [f for f in range(len(fields)) if f not in blocked_cols]
        if n < min_session_pairs or not free:
            sessions.append({"rule": rule.name, "pairs": n, "used": False})
            continue
        train = levels[mask].copy()
        train[:, blocked_cols] = -1
        session = fit(train, u, fields, n_levels=n_levels, fix_u=False)
        for f in free:
            m_sum[f] += session.m[f]
            m_n[f] += 1
        sessions.append({"rule": rule.name, "pairs": n, "used": True, "prior_in_block": round(session.prior, 6),
                         "iterations": session.info["iterations"], "free_columns": [fields[f] for f in free]})
    missing = [f for f in range(len(fields)) if m_n[f] == 0]
    if missing:
        names = ", ".join(fields[f] for f in missing)
        warnings.append(f"no blocking rule with at least {min_session_pairs} pairs leaves {names} out: "
                        "its m is estimated over all candidate pairs, which overstates agreement")
        whole = fit(levels, u, fields, n_levels=n_levels)
        for f in missing:
            m_sum[f] += whole.m[f]
            m_n[f] = 1
    m = [s / k for s, k in zip(m_sum, m_n)]
    model = Model(fields, n_levels, m, u, 0.5, {"sessions": sessions, "u_sample_pairs": int(len(u_levels)),
                                              "pairs": int(len(levels))})
    # the prior: M = Σ P(match | pair) at prior M / n_total, from M = 1
    base = score_pairs(model, cfg, levels, li, tf).weight - model.prior_weight()  # evidence only
    matches = 1.0
    it = 0
    for it in range(1, 201):
        lam = min(matches / max(n_total, 1.0), 0.5)
        new = float(probability(base + math.log2(lam / (1 - lam))).sum())
        if abs(new - matches) <= 1e-6 * max(matches, 1.0):
            matches = new
            break
        matches = max(new, 1e-9)
    model.prior = min(max(matches / max(n_total, 1.0), 1e-300), 0.5)
    model.info.update({"expected_matches": round(matches, 3), "prior_iterations": it, "all_pairs": n_total})
    return model


def _u_levels(cfg: LinkConfig, left: list, right: list, nl: int, nr: int, dedupe: bool) -> np.ndarray:
    rng = np.random.default_rng(cfg.seed)
    k = cfg.u_sample
    uli = rng.integers(0, nl, size=k, dtype=np.int64)
    uri = rng.integers(0, nr, size=k, dtype=np.int64)
    if dedupe:
        keep = uli != uri
        uli, uri = uli[keep], uri[keep]
    return compare_columns(cfg, left, right, uli, uri)


# --- the run ------------------------------------------------------------------------------

def run(left_path: str | Path, right_path: str | Path | None, out_dir: str | Path, opts: LinkOptions) -> dict:
    """Link ``left`` with ``right`` (or deduplicate ``left`` when ``right`` is None); write the outputs."""
    cfg = opts.config
    threshold = cfg.threshold if opts.threshold is None else float(opts.threshold)
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must lie strictly between 0 and 1, got {threshold}")
    dedupe = right_path is None
    timer = _Timer()
    t0 = time.perf_counter()
    out = Path(out_dir)
    warnings: list[str] = []

    L, l_bad, lpath = _read(left_path, opts.encoding, cfg.id_column)
    if dedupe:
        R, r_bad, rpath = L, [], None
    else:
        R, r_bad, rpath = _read(right_path, opts.encoding, cfg.id_column)
    nl, nr = L.num_rows, R.num_rows
    for bad, p in ((l_bad, lpath), (r_bad, rpath)):
        if bad:
            warnings.append(f"{p}: {len(bad)} rows could not be parsed and were left out "
                            f"(first: record {bad[0][0]}, {bad[0][1]})")
    timer.lap("read")

    lf = _features(L, cfg, "left", warnings)
    rf = lf if dedupe else _features(R, cfg, "right", warnings)
    tf: dict[int, np.ndarray] = {}
    tf_info: dict[str, dict] = {}
    for f, spec in enumerate(cfg.columns):
        if spec.tf:
            lids = value_ids(lf[f], spec.kind)
            rids = None if dedupe else value_ids(rf[f], spec.kind)
            tf[f], _ = term_frequencies(lids, rids)
            allids = lids if rids is None else np.concatenate([lids, rids])
            known = allids[allids != 0]
            if len(known):
                _, cnt = np.unique(known, return_counts=True)
                tf_info[spec.name] = {"distinct_values": int(len(cnt)), "top_share": round(float(cnt.max() / len(known)), 6)}
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
        scored = score_pairs(model, cfg, levels, li, tf)
    else:
        warnings.append(f"only {n_pairs} candidate pairs: too few to fit a model, no links made")
        scored = Scored(np.full(n_pairs, -60.0), np.zeros(n_pairs), np.zeros(levels.shape))
    timer.lap("fit")

    above = np.flatnonzero(scored.probability >= threshold)
    a_li, a_ri, a_w = li[above], ri[above], scored.weight[above]
    clusters: Clusters | None = None
    if dedupe:
        clusters = cluster_pairs(a_w, a_li, a_ri, nl, max_size=cfg.max_cluster_size)
        accepted = clusters.accepted
    elif cfg.one_to_one:
        accepted = one_to_one(a_w, a_li, a_ri, nl, nr)
    else:
        accepted = np.ones(len(above), dtype=bool)
    timer.lap("assign")

    out.mkdir(parents=True, exist_ok=True)
    lid, rid = L.column(cfg.id_column), R.column(cfg.id_column)
    links = _links_table(cfg, lid, rid, above, a_li, a_ri, scored, levels, accepted, blocked, names)
    pq.write_table(links, out / "links.parquet")
    if clusters is not None:
        pq.write_table(_clusters_table(cfg, lid, clusters), out / "clusters.parquet")
    if model is not None:
        model.save(out / "model.json")
    timer.lap("write")

    summary = _summary(cfg, threshold, dedupe, lpath, rpath, nl, nr, blocked, model, tf_info, accepted, above,
                       clusters, warnings, scored)
    if opts.report:
        from .link_report import write_link_report

        write_link_report(out / "report.html", summary=summary, cfg=cfg, L=L, R=R, li=li, ri=ri, levels=levels,
                          scored=scored, above=above, accepted=accepted, model=model)
        timer.lap("report")
    summary["timings_s"] = dict(timer.phases, total=round(time.perf_counter() - t0, 4))
    (out / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    return summary


def _links_table(cfg: LinkConfig, lid, rid, above, a_li, a_ri, scored: Scored, levels, accepted, blocked: Blocked,
                 names: list[str]) -> pa.Table:
    cols = {
        "left_id": lid.take(pa.array(a_li)),
        "right_id": rid.take(pa.array(a_ri)),
        "match_probability": pa.array(scored.probability[above], pa.float64()),
        "match_weight": pa.array(scored.weight[above], pa.float64()),
        "accepted": pa.array(accepted, pa.bool_()),
        "blocking_rule": pa.DictionaryArray.from_arrays(pa.array(blocked.rule[above].astype(np.int32)),
                                                        pa.array(names, pa.string())),
    }
    for f, spec in enumerate(cfg.columns):
        cols[f"level_{spec.name}"] = pa.array(levels[above, f], pa.int8())
    table = pa.table(cols)
    order = np.lexsort((a_ri, a_li, -scored.weight[above]))
    return table.take(pa.array(order))


def _clusters_table(cfg: LinkConfig, lid, clusters: Clusters) -> pa.Table:
    return pa.table({
        cfg.id_column: lid,
        "cluster_id": lid.take(pa.array(clusters.root)),
        "cluster_size": pa.array(clusters.size, pa.int32()),
    })


def _summary(cfg, threshold, dedupe, lpath, rpath, nl, nr, blocked: Blocked, model, tf_info, accepted, above,
             clusters, warnings, scored: Scored) -> dict:
    summary = {
        "mode": "dedupe" if dedupe else "link",
        "inputs": {"left": str(lpath)} | ({} if dedupe else {"right": str(rpath)}),
        "rows": {"left": nl} | ({} if dedupe else {"right": nr}),
        "config": cfg.to_dict(),
        "threshold": {"match_probability": threshold,
                      "match_weight": round(math.log2(threshold / (1 - threshold)), 4)},
        "blocking": {
            "rules": [{"name": c.name, "pairs": c.pairs, "new_pairs": c.new_pairs} for c in blocked.counts],
            "candidate_pairs": int(len(blocked)),
            "max_pairs_per_rule": cfg.max_pairs_per_rule,
        },
        "model": model.to_dict() if model is not None else None,
        "term_frequencies": tf_info,
        "pairs": {
            "compared": int(len(blocked)),
            "above_threshold": int(len(above)),
            "accepted": int(accepted.sum()),
            "refused": int(len(above) - accepted.sum()),
        },
        "warnings": warnings,
    }
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
        summary["links"] = {"one_to_one": cfg.one_to_one, "links": int(accepted.sum())}
    return summary
