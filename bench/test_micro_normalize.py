"""Each normaliser on a million values (seeded, with the notations it must fold)."""
from __future__ import annotations

import pyarrow as pa
import pytest

from jukimatch.bench import samples
from jukimatch.bench.micro import numba_threads, per_million
from jukimatch.engine import normalize

FIELDS = {
    "normalize_alpha": samples.alpha_names,
    "normalize_kanji": samples.kanji_names,
    "normalize_kana": samples.kana_names,
    "parse_dates": samples.birth_dates,
    "normalize_address": samples.addresses,
}


@pytest.fixture(scope="module")
def columns(n_values):
    return {name: pa.array(make(n_values).tolist(), pa.string()) for name, make in FIELDS.items()}


@pytest.mark.benchmark(group="normalisers, per million values")
@pytest.mark.parametrize("name", list(FIELDS))
def test_normaliser(benchmark, columns, name):
    fn = getattr(normalize, name)
    col = columns[name]
    benchmark.pedantic(fn, args=(col,), rounds=3, iterations=1, warmup_rounds=1)
    per_million(benchmark, len(col), numba_threads=numba_threads(), input_bytes=col.nbytes)
