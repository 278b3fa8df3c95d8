"""The link model: term frequencies, match weights, and fitting m, u and the prior.

**Weights.** A pair's match weight (bits) is the prior's ``log2(λ / (1 - λ))`` plus, per
configured column, the weight of the pair's level, ``log2(m / u)`` (0 when either side is
null). Two refinements:

- *Term-frequency adjustment* (as Splink does it): for a column with ``tf = true`` the
  levels listed in ``tf_levels`` (by default the exact level) weigh ``log2(m / tf)``
  instead of ``log2(m / u)`` when both records hold the same value of the column's
  ``tf_key`` (the whole normalised value by default; ``nospace`` or ``sorted_tokens`` make
  names that agree up to spacing or token order one value; two identical partial birth
  dates ``1980-07-00`` share a value, a full and a partial date do not), ``tf`` being the
  share of records holding that value. A shared rare name is strong evidence, a shared
  NGUYEN VAN TU weak.
- *Groups*: columns of one ``group`` (a name in three notations; nationality and resident
  class, which different people sharing a name share too) are not independent evidence.
  Within a group only the largest positive weight counts, every negative weight counts.

**Fitting.** u comes from random pairs (almost all of them non-matches), or is fixed in the
configuration (``u = [...]``, for identifiers whose chance agreement a sample of a million
pairs cannot measure). m starts from one EM session per blocking rule (the rule's own
columns left out, as Splink does), then the whole model is refined by EM over *every* pair
there is: pairs outside the candidates are taken as non-matches, so with u fixed and the
prior λ the share of matches among all ``n_total`` pairs, the E-step is each candidate's
posterior ``P(match)`` — term-frequency adjustments and groups included — and the M-step
sets ``m[f][k] = (Σ P · [level_f = k] + ½) / (Σ P · [level_f known] + ½ K)`` and
``λ = Σ P / n_total``. This is the maximum-likelihood fit of the Fellegi–Sunter mixture
over all pairs (under the assumption that blocking misses no match); the per-rule sessions
alone are fragile when matches are rare in every block (0.15 % duplicates), where a
session with one informative free column finds a wrong split. Columns with a configured
``m`` keep it.

Both passes over the pairs are Numba kernels (:func:`_score_kernel`, :func:`_em_kernel`);
``tests/test_link_model.py`` holds their plain-Python twins.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numba as nb
import numpy as np

from jukimatch.engine.link.config import LinkConfig
from jukimatch.engine.model import Model, estimate_u, fit, probability
from jukimatch.engine.runtime import JIT_PARALLEL, threads_for

__all__ = [
    "Scored",
    "TermFreq",
    "WeightTables",
    "em_step",
    "fit_link_model",
    "rule_mask",
    "score_pairs",
    "term_frequencies",
    "tf_adjustments",
    "weight_tables",
]

_W = 8  # table width: levels -1..6 at index level + 1
_BLOCK = 65536  # pairs per task of the parallel kernels
MIN_SESSION_PAIRS = 20  # a blocking rule's EM session needs at least this many pairs
EM_MAX_ITER = 200
EM_TOL = 1e-6


# --- term frequencies -----------------------------------------------------------------------

def term_frequencies(left_ids: np.ndarray, right_ids: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Share of records holding each record's value, over both sides together (0 where null).

    ``left_ids`` / ``right_ids`` are value ids (``uint64``, 0 = null); returns the per-record
    shares of the left and of the right side (the left's twice when deduplicating).
    """
    both = left_ids if right_ids is None else np.concatenate([left_ids, right_ids])
    known = both != 0
    tf = np.zeros(len(both), dtype=np.float64)
    if known.any():
        _, inverse, counts = np.unique(both[known], return_inverse=True, return_counts=True)
        tf[known] = counts[inverse] / known.sum()
    if right_ids is None:
        return tf, tf
    return tf[: len(left_ids)], tf[len(left_ids):]


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
class TermFreq:
    """Term frequencies of one column: per-record shares of each side, and the value keys.

    With keys, the adjustment applies only to pairs whose two keys are equal (and not 0);
    without, to every pair at a TF level, with the commoner of the two shares.
    """

    share_l: np.ndarray
    share_r: np.ndarray
    key_l: np.ndarray | None = None
    key_r: np.ndarray | None = None

    @classmethod
    def of(cls, value) -> "TermFreq":
        """From a :class:`TermFreq`, one share array (both sides) or a (left, right) pair of them."""
        if isinstance(value, TermFreq):
            return value
        if isinstance(value, np.ndarray):
            return cls(value, value)
        left, right = value
        return cls(np.asarray(left), np.asarray(right))


# --- weight tables and kernels --------------------------------------------------------------

@dataclass
class WeightTables:
    """A model and configuration in the flat form the kernels read.

    ``lw[f, level + 1]`` is ``log2(m / u)`` (0 at index 0, the null level); ``lm`` the same
    index of ``log2(m)``, used where ``tf_on`` is set; ``tf_slot[f]`` the row of the column's
    log2 term frequencies in ``log_tf_l`` / ``log_tf_r`` and of its value keys in ``key_l`` /
    ``key_r`` (-1 without); ``keyed[slot]`` whether keys must agree; ``group[f]`` its group
    (-1 alone).
    """

    lw: np.ndarray
    lm: np.ndarray
    tf_on: np.ndarray
    tf_slot: np.ndarray
    log_tf_l: np.ndarray
    log_tf_r: np.ndarray
    key_l: np.ndarray
    key_r: np.ndarray
    keyed: np.ndarray
    group: np.ndarray
    n_groups: int
    prior_weight: float


def _log_tf(tf: np.ndarray) -> np.ndarray:
    out = np.full(len(tf), -np.inf)
    pos = tf > 0
    out[pos] = np.log2(tf[pos])
    return out


def _level_tables(model: Model, n_f: int) -> tuple[np.ndarray, np.ndarray]:
    lw = np.zeros((n_f, _W))
    lm = np.zeros((n_f, _W))
    for f in range(n_f):
        m, u = np.asarray(model.m[f], np.float64), np.asarray(model.u[f], np.float64)
        lw[f, 1: len(m) + 1] = np.log2(m / u)
        lm[f, 1: len(m) + 1] = np.log2(m)
    return lw, lm


def weight_tables(model: Model, cfg: LinkConfig, tf: dict, prior_weight: float | None = None, *,
                  like: WeightTables | None = None) -> WeightTables:
    """:class:`WeightTables` of ``model`` under ``cfg``.

    ``tf`` maps a column index to its term frequencies (:class:`TermFreq`, or what
    :meth:`TermFreq.of` takes). ``like``: tables of the same configuration and term
    frequencies, whose TF arrays are reused (only the model's weights and prior change).
    """
    n_f = len(cfg.columns)
    lw, lm = _level_tables(model, n_f)
    pw = model.prior_weight() if prior_weight is None else float(prior_weight)
    if like is not None:
        return replace(like, lw=lw, lm=lm, prior_weight=pw)
    tf_on = np.zeros((n_f, _W), dtype=np.bool_)
    tf_slot = np.full(n_f, -1, dtype=np.int64)
    terms: list[TermFreq] = []
    for f, spec in enumerate(cfg.columns):
        if f in tf:
            tf_slot[f] = len(terms)
            terms.append(TermFreq.of(tf[f]))
            for k in spec.tf_levels:
                tf_on[f, k + 1] = True
    same = all(t.share_r is t.share_l and t.key_r is t.key_l for t in terms)
    log_tf_l = _stack([_log_tf(np.asarray(t.share_l, np.float64)) for t in terms], np.float64)
    log_tf_r = log_tf_l if same else _stack([_log_tf(np.asarray(t.share_r, np.float64)) for t in terms], np.float64)
    keyed = np.array([t.key_l is not None and t.key_r is not None for t in terms], dtype=np.bool_)
    zeros_l = np.zeros(log_tf_l.shape[1], np.uint64)
    key_l = _stack([t.key_l if k else zeros_l for t, k in zip(terms, keyed)], np.uint64)
    zeros_r = np.zeros(log_tf_r.shape[1], np.uint64)
    key_r = key_l if same else _stack([t.key_r if k else zeros_r for t, k in zip(terms, keyed)], np.uint64)
    names = sorted(cfg.groups())
    group = np.full(n_f, -1, dtype=np.int64)
    for g, name in enumerate(names):
        group[cfg.groups()[name]] = g
    return WeightTables(lw, lm, tf_on, tf_slot, log_tf_l, log_tf_r, key_l, key_r, keyed, group, len(names), pw)


def _stack(rows: list, dtype) -> np.ndarray:
    return np.ascontiguousarray(np.stack([np.asarray(r, dtype) for r in rows])) if rows else np.zeros((0, 1), dtype)


@nb.njit(cache=True, nogil=True)
def _pair_weight(levels, k, a, b, lw, lm, tf_on, tf_slot, log_tf_l, log_tf_r, key_l, key_r, keyed, group, best,
                 best_f, fw):
    """Weight of pair ``k`` (rows ``a``, ``b``) without the prior; per-field weights into ``fw``."""
    n_f = levels.shape[1]
    for g in range(len(best)):
        best[g] = 0.0
        best_f[g] = -1
    total = 0.0
    for f in range(n_f):
        lv = levels[k, f] + 1
        w = lw[f, lv]
        if tf_on[f, lv]:
            s = tf_slot[f]
            if keyed[s]:
                t = -np.inf
                if key_l[s, a] != 0 and key_l[s, a] == key_r[s, b]:
                    t = log_tf_l[s, a]
            else:
                t = max(log_tf_l[s, a], log_tf_r[s, b])
            if t > -np.inf:
                w = lm[f, lv] - t
        fw[f] = w
        g = group[f]
        if g < 0 or w <= 0.0:
            total += w
        elif w > best[g]:
            best[g] = w
            best_f[g] = f
    for g in range(len(best)):
        total += best[g]
    for f in range(n_f):  # positive weights of a group other than its best do not count
        g = group[f]
        if g >= 0 and fw[f] > 0.0 and best_f[g] != f:
            fw[f] = 0.0
    return total


@nb.njit(**JIT_PARALLEL)
def _score_kernel(levels, li, ri, lw, lm, tf_on, tf_slot, log_tf_l, log_tf_r, key_l, key_r, keyed, group, n_groups,
                  prior_w, w_out, fw_out, want_fw):
    n = len(li)
    n_f = levels.shape[1]
    n_blocks = (n + _BLOCK - 1) // _BLOCK
    for blk in nb.prange(n_blocks):
        best = np.zeros(max(n_groups, 1))
        best_f = np.zeros(max(n_groups, 1), dtype=np.int64)
        fw = np.zeros(n_f)
        for k in range(blk * _BLOCK, min(n, (blk + 1) * _BLOCK)):
            w = _pair_weight(levels, k, li[k], ri[k], lw, lm, tf_on, tf_slot, log_tf_l, log_tf_r, key_l, key_r, keyed,
                             group, best[:n_groups], best_f[:n_groups], fw)
            w_out[k] = prior_w + w
            if want_fw:
                for f in range(n_f):
                    fw_out[k, f] = fw[f]


@nb.njit(**JIT_PARALLEL)
def _em_kernel(levels, li, ri, lw, lm, tf_on, tf_slot, log_tf_l, log_tf_r, key_l, key_r, keyed, group, n_groups,
               prior_w, sums, known):
    """E-step and M-step sums: per block, Σ P per (field, level + 1) and Σ P over pairs."""
    n = len(li)
    n_f = levels.shape[1]
    n_blocks = (n + _BLOCK - 1) // _BLOCK
    for blk in nb.prange(n_blocks):
        best = np.zeros(max(n_groups, 1))
        best_f = np.zeros(max(n_groups, 1), dtype=np.int64)
        fw = np.zeros(n_f)
        for k in range(blk * _BLOCK, min(n, (blk + 1) * _BLOCK)):
            w = prior_w + _pair_weight(levels, k, li[k], ri[k], lw, lm, tf_on, tf_slot, log_tf_l, log_tf_r, key_l,
                                       key_r, keyed, group, best[:n_groups], best_f[:n_groups], fw)
            if w < -60.0:  # P(match) < 1e-18: adds nothing a float64 sum of the matches can hold
                continue
            if w > 60.0:
                w = 60.0
            p = 1.0 / (1.0 + 2.0 ** (-w))
            known[blk] += p
            for f in range(n_f):
                sums[blk, f, levels[k, f] + 1] += p


def _check_pairs(levels: np.ndarray, li: np.ndarray, ri: np.ndarray | None, t: WeightTables):
    levels = np.ascontiguousarray(levels, dtype=np.int8)
    li = np.ascontiguousarray(li, dtype=np.int64)
    ri = li if ri is None else np.ascontiguousarray(ri, dtype=np.int64)
    if levels.ndim != 2 or levels.shape[1] != t.lw.shape[0] or not len(levels) == len(li) == len(ri):
        raise ValueError(f"levels must be (pairs, {t.lw.shape[0]}) with one row per pair, got {levels.shape} "
                         f"for {len(li)} pairs")
    if levels.size and (levels.min() < -1 or levels.max() > _W - 2):
        raise ValueError(f"levels must lie in [-1, {_W - 2}]")
    if len(li) and t.tf_slot.max() >= 0:
        if li.min() < 0 or li.max() >= t.log_tf_l.shape[1] or ri.min() < 0 or ri.max() >= t.log_tf_r.shape[1]:
            raise ValueError("pair rows outside the term-frequency arrays")
        if t.key_l.shape != t.log_tf_l.shape or t.key_r.shape != t.log_tf_r.shape:
            raise ValueError("term-frequency keys and shares must have one shape")
    return levels, li, ri


def weights(t: WeightTables, levels: np.ndarray, li: np.ndarray, ri: np.ndarray | None = None, *,
            field_weights: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """Match weight per pair (prior included), and the (pairs × columns) field weights if asked."""
    levels, li, ri = _check_pairs(levels, li, ri, t)
    w = np.empty(len(li))
    fw = np.empty((len(li), levels.shape[1]) if field_weights else (0, levels.shape[1]))
    with threads_for(len(li)):
        _score_kernel(levels, li, ri, t.lw, t.lm, t.tf_on, t.tf_slot, t.log_tf_l, t.log_tf_r, t.key_l, t.key_r,
                      t.keyed, t.group, t.n_groups, t.prior_weight, w, fw, field_weights)
    return w, (fw if field_weights else None)


def em_step(t: WeightTables, levels: np.ndarray, li: np.ndarray, ri: np.ndarray | None = None
            ) -> tuple[np.ndarray, float]:
    """(Σ P(match) per column and level + 1 — a (columns × 8) array —, Σ P(match)) over the pairs."""
    levels, li, ri = _check_pairs(levels, li, ri, t)
    n_blocks = max((len(li) + _BLOCK - 1) // _BLOCK, 1)
    sums = np.zeros((n_blocks, levels.shape[1], _W))
    total = np.zeros(n_blocks)
    with threads_for(len(li)):
        _em_kernel(levels, li, ri, t.lw, t.lm, t.tf_on, t.tf_slot, t.log_tf_l, t.log_tf_r, t.key_l, t.key_r, t.keyed,
                   t.group, t.n_groups, t.prior_weight, sums, total)
    return sums.sum(axis=0), float(total.sum())


# --- scores ---------------------------------------------------------------------------------

class Scored:
    """Weights and probabilities of every pair; field weights computed for the pairs asked."""

    def __init__(self, weight: np.ndarray, tables: WeightTables | None, levels, li, ri):
        self.weight = weight
        self.probability = probability(weight)
        self._t, self._levels, self._li, self._ri = tables, levels, li, ri

    def field_weights(self, idx: np.ndarray) -> np.ndarray:
        """(len(idx) × columns) bits per column of the pairs ``idx``, TF adjustment and groups applied."""
        idx = np.asarray(idx, dtype=np.int64)
        if self._t is None:
            return np.zeros((len(idx), self._levels.shape[1]))
        return weights(self._t, self._levels[idx], self._li[idx], self._ri[idx], field_weights=True)[1]

    @property
    def field_weight(self) -> np.ndarray:
        """Field weights of every pair (memory: pairs × columns × 8 bytes)."""
        return self.field_weights(np.arange(len(self.weight)))

    @classmethod
    def empty(cls, levels: np.ndarray, li, ri) -> "Scored":
        return cls(np.full(len(li), -60.0), None, levels, li, ri)


def score_pairs(model: Model, cfg: LinkConfig, levels: np.ndarray, li: np.ndarray, tf: dict,
                ri: np.ndarray | None = None) -> Scored:
    """Match weights: prior + per-column level weights, TF adjustments and groups (module doc).

    ``tf`` maps a column index to its term frequencies (:class:`TermFreq`, one share array
    for both sides, or ``(left, right)``); without ``ri`` both records of a pair are looked up
    at ``li``.
    """
    t = weight_tables(model, cfg, tf)
    levels, li2, ri2 = _check_pairs(levels, li, ri, t)
    w, _ = weights(t, levels, li2, ri2)
    return Scored(w, t, levels, li2, ri2)


# --- fitting --------------------------------------------------------------------------------

def rule_mask(keys_left: np.ndarray, keys_right: np.ndarray, li: np.ndarray, ri: np.ndarray) -> np.ndarray:
    """Pairs on which one rule's keys agree (whichever rule found them first)."""
    a, b = keys_left[li], keys_right[ri]
    return (a != 0) & (a == b)


def _fixed(values, n_levels: int) -> np.ndarray | None:
    return None if values is None else np.asarray(values, dtype=np.float64) / float(sum(values))


def _sessions(cfg: LinkConfig, levels, li, ri, lk, rk, u, fixed_m, min_session_pairs, warnings):
    """m per column from one EM session per blocking rule (the rule's columns left out)."""
    fields = [c.name for c in cfg.columns]
    n_levels = [c.comparison.n_levels for c in cfg.columns]
    col_index = {c.name: i for i, c in enumerate(cfg.columns)}
    m_sum = [np.zeros(k) for k in n_levels]
    m_n = np.zeros(len(fields), dtype=np.int64)
    fixed_cols = [f for f in range(len(fields)) if fixed_m[f] is not None]
    sessions = []
    for r, rule in enumerate(cfg.rules):
        mask = rule_mask(lk[:, r], rk[:, r], li, ri)
        n = int(mask.sum())
        blocked = {col_index[c] for c, _ in rule.keys}
        for cols in cfg.groups().values():  # a group is left out whole
            if blocked & set(cols):
                blocked |= set(cols)
        blocked = sorted(blocked)
        free = [f for f in range(len(fields)) if f not in blocked and f not in fixed_cols]
        if n < min_session_pairs or not free:
            sessions.append({"rule": rule.name, "pairs": n, "used": False})
            continue
        train = levels[mask].copy()
        train[:, blocked + fixed_cols] = -1
        session = fit(train, u, fields, n_levels=n_levels, fix_u=False)
        for f in free:
            m_sum[f] += session.m[f]
            m_n[f] += 1
        sessions.append({"rule": rule.name, "pairs": n, "used": True, "prior_in_block": round(session.prior, 6),
                         "iterations": session.info["iterations"], "free_columns": [fields[f] for f in free]})
    missing = [f for f in range(len(fields)) if m_n[f] == 0 and fixed_m[f] is None]
    if missing:
        names = ", ".join(fields[f] for f in missing)
        warnings.append(f"no blocking rule with at least {min_session_pairs} pairs leaves {names} out: "
                        "its first m is estimated over all candidate pairs")
        whole = fit(levels, u, fields, n_levels=n_levels)
        for f in missing:
            m_sum[f] += whole.m[f]
            m_n[f] = 1
    m = [fixed_m[f] if fixed_m[f] is not None else m_sum[f] / m_n[f] for f in range(len(fields))]
    return m, sessions


def _prior_fixpoint(model: Model, cfg: LinkConfig, levels, li, ri, tf, n_total: float) -> tuple[float, int]:
    """Expected matches M solving M = Σ P(match | pair, prior = M / n_total), from M = 1."""
    t = weight_tables(model, cfg, tf, prior_weight=0.0)
    base, _ = weights(t, levels, li, ri)  # evidence only
    matches, it = 1.0, 0
    for it in range(1, 201):
        lam = min(matches / max(n_total, 1.0), 0.5)
        new = float(probability(base + math.log2(lam / (1 - lam))).sum())
        if abs(new - matches) <= 1e-6 * max(matches, 1.0):
            return new, it
        matches = max(new, 1e-9)
    return matches, it


def fit_link_model(cfg: LinkConfig, levels: np.ndarray, li: np.ndarray, ri: np.ndarray, lk: np.ndarray,
                   rk: np.ndarray | None, u_levels: np.ndarray, tf: dict, *, n_total: float,
                   warnings: list[str] | None = None, min_session_pairs: int = MIN_SESSION_PAIRS,
                   max_iter: int = EM_MAX_ITER) -> Model:
    """u from random pairs (or the config); m by per-rule sessions, then EM over all pairs (module doc).

    ``tf`` is as for :func:`score_pairs`; ``n_total`` is the number of pairs there are
    (``n (n - 1) / 2`` deduplicating, ``n_left · n_right`` linking).
    """
    warnings = [] if warnings is None else warnings
    fields = [c.name for c in cfg.columns]
    n_levels = [c.comparison.n_levels for c in cfg.columns]
    rk = lk if rk is None else rk
    u = estimate_u(u_levels, n_levels)
    fixed_m = [_fixed(c.m, k) for c, k in zip(cfg.columns, n_levels)]
    for f, c in enumerate(cfg.columns):
        if c.u is not None:
            u[f] = _fixed(c.u, n_levels[f])
    m, sessions = _sessions(cfg, levels, li, ri, lk, rk, u, fixed_m, min_session_pairs, warnings)
    model = Model(fields, n_levels, m, u, 0.5, {"sessions": sessions, "u_sample_pairs": int(len(u_levels)),
                                              "pairs": int(len(levels))})
    matches, prior_it = _prior_fixpoint(model, cfg, levels, li, ri, tf, n_total)
    model.prior = min(max(matches / max(n_total, 1.0), 1e-300), 0.5)
    model.info.update({"session_expected_matches": round(matches, 3), "prior_iterations": prior_it})

    converged, it = False, 0
    tables = weight_tables(model, cfg, tf)
    for it in range(1, max_iter + 1):
        sums, total = em_step(weight_tables(model, cfg, tf, like=tables), levels, li, ri)
        new_m = []
        for f, k in enumerate(n_levels):
            if fixed_m[f] is not None:
                new_m.append(model.m[f])
                continue
            s = sums[f, 1: k + 1] + 0.5  # add-half: a level never seen among matches keeps m > 0
            new_m.append(s / s.sum())
        delta_m = max(float(np.abs(a - b).max()) for a, b in zip(new_m, model.m))
        delta_M = abs(total - matches)
        model.m, matches = new_m, total
        model.prior = min(max(matches / max(n_total, 1.0), 1e-300), 0.5)
        if delta_m < EM_TOL and delta_M <= EM_TOL * max(matches, 1.0):
            converged = True
            break
    model.info.update({"expected_matches": round(matches, 3), "em_iterations": it, "em_converged": converged,
                       "all_pairs": n_total})
    if not converged:
        warnings.append(f"EM over all pairs did not converge in {max_iter} iterations")
    return model
