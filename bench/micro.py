"""Helpers shared by the micro benchmarks (``bench/test_micro_*.py``)."""
from __future__ import annotations

import os


def micro_n() -> int:
    """Values per micro benchmark: a million unless ``JUKIMATCH_MICRO_N`` says otherwise."""
    return int(float(os.environ.get("JUKIMATCH_MICRO_N", "1000000")))


def per_million(benchmark, n: int, **extra) -> None:
    """Record the median time per million values (and anything else) in the JSON report."""
    med = benchmark.stats.stats.median
    benchmark.extra_info["values"] = n
    benchmark.extra_info["median_s"] = med
    benchmark.extra_info["per_million_s"] = med * 1e6 / n
    benchmark.extra_info.update(extra)


def numba_threads() -> int | None:
    try:
        import numba

        return int(numba.get_num_threads())
    except ImportError:
        return None
