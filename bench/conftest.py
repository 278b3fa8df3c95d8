"""Micro benchmarks (pytest-benchmark): ``pytest bench/ --benchmark-only``.

Not collected by ``make test`` (``testpaths = tests``). Sizes default to a million values
(``JUKIMATCH_MICRO_N`` to change); every input is seeded; the header names the machine.
"""
from __future__ import annotations

import pytest

from jukimatch.bench.micro import micro_n, numba_threads

try:
    import pytest_benchmark  # noqa: F401
except ImportError:  # the bench extra is not installed: nothing here can run
    collect_ignore_glob = ["test_micro_*.py"]


def pytest_report_header(config):
    from jukimatch.bench.machine import banner

    lines = [banner()]
    lines.append(f"numba threads: {numba_threads()}")
    lines.append(f"micro benchmark size: {micro_n():,} values (JUKIMATCH_MICRO_N)")
    return lines


@pytest.fixture(scope="session")
def n_values() -> int:
    return micro_n()
