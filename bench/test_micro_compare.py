"""Comparison kernels on the same pairs: Jaro-Winkler against rapidfuzz, token-set names."""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from jukimatch.bench import samples
from jukimatch.bench.micro import numba_threads, per_million
from jukimatch.engine.compare.person import compare_names, jaro_winkler
from jukimatch.engine.normalize import normalize_alpha
from jukimatch.engine.text import to_codepoints

SIDE = 200_000  # distinct names per side; pairs index into them


@pytest.fixture(scope="module")
def names(n_values):
    left = normalize_alpha(pa.array(samples.alpha_names(SIDE, seed=31).tolist(), pa.string()))
    right = normalize_alpha(pa.array(samples.alpha_names(SIDE, seed=32).tolist(), pa.string()))
    li, ri = samples.pair_indices(SIDE, SIDE, n_values, seed=33)
    # a third of the pairs compare a name with a corrupted copy of itself (realistic scores)
    same = np.random.default_rng(34).random(n_values) < 0.33
    ri[same] = li[same]
    return {
        "left": to_codepoints(left), "right": to_codepoints(right), "li": li, "ri": ri,
        "left_py": [v or "" for v in left.to_pylist()], "right_py": [v or "" for v in right.to_pylist()],
    }


def _rapidfuzz_pairs(names):
    lp, rp = names["left_py"], names["right_py"]
    return [lp[i] for i in names["li"]], [rp[j] for j in names["ri"]]


@pytest.mark.benchmark(group="Jaro-Winkler, same pairs")
def test_jukimatch_jaro_winkler(benchmark, names):
    out = benchmark.pedantic(jaro_winkler, args=(names["left"], names["right"], names["li"], names["ri"]),
                             rounds=5, iterations=1, warmup_rounds=1)
    per_million(benchmark, len(names["li"]), numba_threads=numba_threads(), mean_similarity=float(np.mean(out)))


@pytest.mark.benchmark(group="Jaro-Winkler, same pairs")
@pytest.mark.parametrize("workers", [1, -1], ids=["1-thread", "all-cores"])
def test_rapidfuzz_jaro_winkler(benchmark, names, workers):
    from rapidfuzz import process
    from rapidfuzz.distance import JaroWinkler

    a, b = _rapidfuzz_pairs(names)  # list building is not timed
    out = benchmark.pedantic(process.cpdist, args=(a, b), kwargs={
        "scorer": JaroWinkler.normalized_similarity, "workers": workers, "dtype": np.float32},
        rounds=5, iterations=1, warmup_rounds=1)
    per_million(benchmark, len(a), workers=workers, mean_similarity=float(np.mean(out)))
    ours = jaro_winkler(names["left"], names["right"], names["li"], names["ri"])
    assert np.allclose(np.asarray(out).ravel(), ours, atol=1e-5)  # equal work, equal answers


@pytest.mark.benchmark(group="alphabet names, token-set comparison levels")
def test_jukimatch_compare_names_alpha(benchmark, names):
    out = benchmark.pedantic(compare_names, args=(names["left"], names["right"], names["li"], names["ri"]),
                             kwargs={"kind": "alpha"}, rounds=3, iterations=1, warmup_rounds=1)
    levels, counts = np.unique(out, return_counts=True)
    per_million(benchmark, len(names["li"]), numba_threads=numba_threads(),
                levels={int(k): int(c) for k, c in zip(levels, counts)})


@pytest.mark.benchmark(group="alphabet names, token-set comparison levels")
@pytest.mark.parametrize("workers", [1, -1], ids=["1-thread", "all-cores"])
def test_rapidfuzz_token_set_ratio(benchmark, names, workers):
    """rapidfuzz's token_set_ratio alone, for scale (jukimatch's levels do more per pair)."""
    from rapidfuzz import fuzz, process

    a, b = _rapidfuzz_pairs(names)
    benchmark.pedantic(process.cpdist, args=(a, b), kwargs={"scorer": fuzz.token_set_ratio, "workers": workers},
                       rounds=3, iterations=1, warmup_rounds=1)
    per_million(benchmark, len(a), workers=workers)
