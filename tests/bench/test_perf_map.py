"""bench/perf_map.py: the map names each loaded kernel from its entry to the next."""
from __future__ import annotations

import numpy as np

from jukimatch.bench.perf_map import kernel_entries, write_map
from jukimatch.engine.compare.person import compare_sex


def test_loaded_kernels_are_named_at_their_entries(tmp_path):
    compare_sex(np.ones(3, np.int8), np.ones(3, np.int8), np.arange(3), np.arange(3))
    entries = kernel_entries()
    names = [name for _, name in entries]
    assert "person._compare_sex_span" in names and "person._compare_sex_span[w]" in names
    assert [a for a, _ in entries] == sorted(a for a, _ in entries)

    path = tmp_path / "perf-1.map"
    assert write_map(path, entries) == len(entries)
    rows = [line.split(" ", 2) for line in path.read_text().splitlines()]
    starts = [int(start, 16) for start, _, _ in rows]
    sizes = [int(size, 16) for _, size, _ in rows]
    assert starts == [a for a, _ in entries] and [name for _, _, name in rows] == names
    assert all(s + n <= t or n == 1 << 20 for s, n, t in zip(starts, sizes, starts[1:]))


def test_an_empty_map_is_an_empty_file(tmp_path):
    assert write_map(tmp_path / "m", []) == 0 and (tmp_path / "m").read_text() == ""
