"""Fellegi-Sunter EM over the distinct level patterns of ten million pairs."""
from __future__ import annotations

import numpy as np
import pytest

from jukimatch.bench.micro import per_million
from jukimatch.engine.model import count_patterns, estimate_u, fit
from jukimatch.engine.reconcile.features import FIELDS, N_LEVELS

PAIRS = 10_000_000


def _levels(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(pairs' levels, random pairs' levels): 90 % matches high on every field, the rest low."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, len(FIELDS)), dtype=np.int8)
    match = rng.random(n) < 0.9
    for f, k in enumerate(N_LEVELS):
        hi = rng.choice(k, n, p=np.r_[np.full(k - 1, 0.1 / (k - 1)), 0.9]) if k > 1 else np.zeros(n, int)
        lo = rng.choice(k, n, p=np.r_[0.9, np.full(k - 1, 0.1 / (k - 1))]) if k > 1 else np.zeros(n, int)
        col = np.where(match, hi, lo)
        col[rng.random(n) < 0.05] = -1  # nulls
        out[:, f] = col
    u = np.empty((1_000_000, len(FIELDS)), dtype=np.int8)
    for f, k in enumerate(N_LEVELS):
        u[:, f] = rng.choice(k, len(u), p=np.r_[0.9, np.full(k - 1, 0.1 / (k - 1))])
    return out, u


@pytest.fixture(scope="module")
def levels():
    return _levels(PAIRS, seed=41)


@pytest.mark.benchmark(group="EM on 10M pairs' patterns")
def test_count_patterns(benchmark, levels):
    pats, counts = benchmark.pedantic(count_patterns, args=(levels[0],), rounds=3, iterations=1, warmup_rounds=1)
    per_million(benchmark, PAIRS, distinct_patterns=int(len(pats)))


@pytest.mark.benchmark(group="EM on 10M pairs' patterns")
def test_fit_on_patterns(benchmark, levels):
    patterns = count_patterns(levels[0])
    u = estimate_u(levels[1], list(N_LEVELS))
    model = benchmark.pedantic(fit, args=(None, u, list(FIELDS)),
                               kwargs={"n_levels": list(N_LEVELS), "patterns": patterns},
                               rounds=5, iterations=1, warmup_rounds=1)
    per_million(benchmark, PAIRS, distinct_patterns=int(len(patterns[0])), info=dict(model.info))


@pytest.mark.benchmark(group="EM on 10M pairs' patterns")
def test_count_and_fit(benchmark, levels):
    u = estimate_u(levels[1], list(N_LEVELS))

    def both():
        return fit(levels[0], u, list(FIELDS), n_levels=list(N_LEVELS))

    benchmark.pedantic(both, rounds=3, iterations=1, warmup_rounds=1)
    per_million(benchmark, PAIRS)
