"""Fellegi–Sunter model: u from random pairs, m and the prior by EM over distinct level patterns.

Comparison levels arrive as an ``int8`` matrix (pairs × fields); ``-1`` means "null on a side"
and carries no evidence (m = u = 1, weight 0). EM never touches the pairs themselves: the
pairs are first counted per distinct level pattern (``np.bincount`` over a packed key), then
EM iterates on those counts, so fitting costs the same at 10 thousand or 10 million pairs.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

_BASE = 8  # levels -1..6 per field packed in 3 bits
MAX_LEVEL = _BASE - 2


@dataclass
class Model:
    """Fitted parameters. ``m[f][k]`` and ``u[f][k]`` are for level ``k`` of field ``f``."""

    fields: list[str]
    n_levels: list[int]  # levels 0..n_levels-1 per field
    m: list[np.ndarray]
    u: list[np.ndarray]
    prior: float  # λ: share of compared pairs that are matches
    info: dict[str, Any] = field(default_factory=dict)  # iterations, converged, counts — for the report

    def level_weights(self) -> list[np.ndarray]:
        """log2(m/u) per field, indexed by level + 1 (index 0, the null level, is 0)."""
        out = []
        for m, u in zip(self.m, self.u):
            w = np.zeros(len(m) + 1)
            w[1:] = np.log2(m / u)
            out.append(w)
        return out

    def prior_weight(self) -> float:
        p = min(max(self.prior, 1e-12), 1 - 1e-12)
        return math.log2(p / (1 - p))

    def pattern_weights(self, prior_weight: float | None = None) -> np.ndarray:
        """Match weight of every packed pattern key (a table of _BASE**F entries)."""
        pw = self.prior_weight() if prior_weight is None else float(prior_weight)
        cache = self.__dict__.setdefault("_tables", {})  # parameters never change after fitting
        if pw not in cache:
            cache[pw] = _pattern_table(self.level_weights(), pw)
        return cache[pw]

    def score(self, levels: np.ndarray, prior_weight: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(match_weight, match_probability) per pair of an int8 level matrix.

        ``prior_weight`` (bits) replaces the fitted prior when given.
        """
        w = self.match_weights(levels, prior_weight)
        return w, probability(w)

    def match_weights(self, levels: np.ndarray, prior_weight: float | None = None) -> np.ndarray:
        """Match weight (bits) per pair: :meth:`score` without the probabilities."""
        levels = _check_levels(levels, len(self.fields), self.n_levels)
        return self.pattern_weights(prior_weight)[pack_patterns(levels)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "fields": [
                {"name": f, "m": m.tolist(), "u": u.tolist(),
                 "weights": np.log2(m / u).round(4).tolist()}
                for f, m, u in zip(self.fields, self.m, self.u)
            ],
            "prior": self.prior,
            "prior_weight": round(self.prior_weight(), 4),
            "info": self.info,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Model":
        fields = [f["name"] for f in d["fields"]]
        m = [np.asarray(f["m"], dtype=np.float64) for f in d["fields"]]
        u = [np.asarray(f["u"], dtype=np.float64) for f in d["fields"]]
        return cls(fields, [len(x) for x in m], m, u, float(d["prior"]), dict(d.get("info", {})))

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2))

    @classmethod
    def load(cls, path: str | Path) -> "Model":
        try:
            return cls.from_dict(json.loads(Path(path).read_text()))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{path}: not a jukimatch model file ({exc})") from None


@lru_cache(maxsize=1)
def default_model() -> Model:
    """The model shipped with the package, fitted on a generated population.

    Used where no model can be fitted: a single pair (the authenticity check), or a bulk run
    with too few pairs for EM to say anything (see ``bench/fit_default_model.py``).
    """
    text = resources.files("jukimatch.engine").joinpath("data/default_model.json").read_text()
    return Model.from_dict(json.loads(text))


def probability(weight: np.ndarray) -> np.ndarray:
    """Posterior match probability from a match weight in bits (the one weight → probability)."""
    return 1.0 / (1.0 + np.exp2(-np.clip(weight, -60, 60)))


def weight_of(p: float) -> float:
    """Match weight in bits of a match probability, w = log2(p / (1 - p)) (the inverse of
    :func:`probability`; p is held inside (0, 1) so that 0 and 1 give finite weights)."""
    p = min(max(float(p), 1e-300), 1.0 - 1e-16)
    return math.log2(p / (1.0 - p))


def _check_levels(levels: np.ndarray, n_fields: int, n_levels: list[int] | None = None) -> np.ndarray:
    levels = np.asarray(levels)
    if levels.ndim != 2 or levels.shape[1] != n_fields:
        raise ValueError(f"levels must have shape (pairs, {n_fields}), got {levels.shape}")
    if levels.dtype != np.int8:
        raise ValueError(f"levels must be int8, got {levels.dtype}")
    if levels.size:
        lo, hi = int(levels.min()), int(levels.max())
        top = MAX_LEVEL if n_levels is None else max(n_levels) - 1
        if lo < -1 or hi > top:
            raise ValueError(f"levels must lie in [-1, {top}], got [{lo}, {hi}]")
    return levels


def pack_patterns(levels: np.ndarray) -> np.ndarray:
    """One int64 key per pair: sum over fields of (level + 1) * 8**f."""
    keys = np.zeros(len(levels), dtype=np.int64)
    for f in range(levels.shape[1]):
        keys += (levels[:, f].astype(np.int64) + 1) * (_BASE ** f)
    return keys


def unpack_patterns(keys: np.ndarray, n_fields: int) -> np.ndarray:
    out = np.empty((len(keys), n_fields), dtype=np.int8)
    for f in range(n_fields):
        out[:, f] = (keys // (_BASE ** f)) % _BASE - 1
    return out


def count_patterns(levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct level patterns (as an int8 matrix) and how many pairs show each."""
    n_fields = levels.shape[1]
    keys = pack_patterns(levels)
    if _BASE ** n_fields <= 1 << 24:
        counts = np.bincount(keys, minlength=_BASE ** n_fields)
        distinct = np.flatnonzero(counts)
        return unpack_patterns(distinct, n_fields), counts[distinct].astype(np.float64)
    distinct, counts = np.unique(keys, return_counts=True)
    return unpack_patterns(distinct, n_fields), counts.astype(np.float64)


def _pattern_table(level_weights: list[np.ndarray], prior_weight: float) -> np.ndarray:
    table = np.full(1, prior_weight)
    for f, w in enumerate(level_weights):
        col = np.zeros(_BASE)
        col[: len(w)] = w
        # key digit f varies slowest in this outer construction: table[key] with digit f at 8**f
        table = (col[:, None] + table[None, :]).reshape(-1)
    return table


def estimate_u(levels: np.ndarray, n_levels: list[int]) -> list[np.ndarray]:
    """u per field and level from pairs of different people (random pairs).

    Add-half smoothing keeps a level never seen among random pairs finite (its u is then
    about 1 / (2 · sample size), the most the sample can say).
    """
    levels = _check_levels(levels, len(n_levels), n_levels)
    out = []
    for f, k in enumerate(n_levels):
        col = levels[:, f]
        counts = np.bincount(col[col >= 0].astype(np.int64), minlength=k)[:k].astype(np.float64)
        out.append((counts + 0.5) / (counts.sum() + 0.5 * k))
    return out


def fit(
    levels: np.ndarray,
    u: list[np.ndarray],
    fields: list[str],
    *,
    n_levels: list[int],
    max_iter: int = 200,
    tol: float = 1e-7,
    prior: float = 0.5,
    patterns: tuple[np.ndarray, np.ndarray] | None = None,
    fix_u: bool = True,
) -> Model:
    """EM for m and the prior with u fixed, over the distinct patterns of ``levels``.

    ``patterns`` (distinct patterns, counts) may be passed instead of ``levels`` — e.g. the
    sum of per-partition counts — in which case ``levels`` is ignored.
    """
    if patterns is None:
        levels = _check_levels(levels, len(fields), n_levels)
        pats, counts = count_patterns(levels)
    else:
        pats, counts = patterns
    n_fields = len(fields)
    if len(u) != n_fields or len(n_levels) != n_fields:
        raise ValueError("u, fields and n_levels must have one entry per field")
    if counts.sum() == 0:
        raise ValueError("no pairs to fit the model on")
    # Start: m rises steeply with the level (the top level is most of the matches).
    m = []
    for k in n_levels:
        start = np.exp2(np.arange(k, dtype=np.float64) * 2.0)
        m.append(start / start.sum())
    lam = prior
    logu = [np.log(x) for x in u]
    idx = [pats[:, f].astype(np.int64) for f in range(n_fields)]
    known = [idx[f] >= 0 for f in range(n_fields)]
    converged = False
    it = 0
    for it in range(1, max_iter + 1):
        lm = np.zeros(len(pats))
        lu = np.zeros(len(pats))
        for f in range(n_fields):
            k = known[f]
            lm[k] += np.log(m[f][idx[f][k]])
            lu[k] += logu[f][idx[f][k]]
        a = np.log(lam) + lm
        b = np.log1p(-lam) + lu
        g = 1.0 / (1.0 + np.exp(np.clip(b - a, -700, 700)))  # P(match | pattern)
        w = counts * g
        new_lam = float(w.sum() / counts.sum())
        if not fix_u:
            wn = counts * (1.0 - g)
            new_u = []
            for f in range(n_fields):
                k = known[f]
                s = np.bincount(idx[f][k], weights=wn[k], minlength=n_levels[f])[: n_levels[f]]
                s = s + 1e-9 * max(float(wn[k].sum()), 1.0)
                new_u.append(s / s.sum())
            u = new_u
            logu = [np.log(x) for x in u]
        new_lam = min(max(new_lam, 1e-9), 1 - 1e-9)
        new_m = []
        for f in range(n_fields):
            k = known[f]
            s = np.bincount(idx[f][k], weights=w[k], minlength=n_levels[f])[: n_levels[f]]
            s = s + 1e-9 * max(float(w[k].sum()), 1.0)  # a floor: no level's m is exactly 0
            new_m.append(s / s.sum())
        delta = max(abs(new_lam - lam), max(float(np.abs(a_ - b_).max()) for a_, b_ in zip(new_m, m)))
        m, lam = new_m, new_lam
        if delta < tol:
            converged = True
            break
    info = {
        "iterations": it,
        "converged": converged,
        "pairs": int(counts.sum()),
        "patterns": int(len(pats)),
    }
    return Model(list(fields), list(n_levels), m, [np.asarray(x, dtype=np.float64) for x in u], lam, info)
