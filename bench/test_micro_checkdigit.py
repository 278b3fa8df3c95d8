"""My Number check digits: jukimatch's vectorised check against python-stdnum's, same values."""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from jukimatch.bench import samples
from jukimatch.bench.micro import per_million
from jukimatch.engine.validate.checkdigit import valid_my_numbers


@pytest.fixture(scope="module")
def numbers(n_values):
    return pa.array(samples.my_numbers(n_values).tolist(), pa.string())


@pytest.mark.benchmark(group="my_number check digit")
def test_jukimatch_valid_my_numbers(benchmark, numbers):
    out = benchmark.pedantic(valid_my_numbers, args=(numbers,), rounds=5, iterations=1, warmup_rounds=1)
    per_million(benchmark, len(numbers), valid=int(np.asarray(out).sum()))


@pytest.mark.benchmark(group="my_number check digit")
def test_stdnum_is_valid(benchmark, numbers):
    in_ = pytest.importorskip("stdnum.jp.in_")
    values = numbers.to_pylist()

    def check():
        return np.fromiter((in_.is_valid(v) for v in values), dtype=bool, count=len(values))

    out = benchmark.pedantic(check, rounds=3, iterations=1, warmup_rounds=0)
    per_million(benchmark, len(values), valid=int(out.sum()))
    # same answers, so the comparison is of equal work
    assert np.array_equal(out, np.asarray(valid_my_numbers(numbers)))
