"""Parts back into one run: rows merged into input order by their sort keys, statistics summed.
"""
from __future__ import annotations

from typing import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

BLOCK_ROWS = 1 << 20  # rows per merged block: one Parquet row group, as a whole-table write makes


def add_stats(a: dict, b: dict) -> dict:
    out = {}
    for k in set(a) | set(b):
        x, y = a.get(k, 0), b.get(k, 0)
        out[k] = add_stats(x or {}, y or {}) if isinstance(x, dict) or isinstance(y, dict) else x + y
    return out


def merge_sorted(tables: list[pa.Table], keys: list[str]) -> pa.Table:
    """Concatenate part tables and order the rows by the sort keys; the ``__`` keys are dropped."""
    t = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
    if len(tables) > 1 and t.num_rows:
        t = t.take(pc.sort_indices(t, sort_keys=[(k, "ascending") for k in keys]))
    return t.drop_columns([k for k in keys if k.startswith("__") and k in t.column_names])


def merged_blocks(tables: list[pa.Table], key: str, n_rows: int, block: int = BLOCK_ROWS) -> Iterator[pa.Table]:
    """The rows of parts whose ``key`` values, together, are 0..n_rows-1 (each part ascending)
    in key order, ``key`` dropped, one block of ``block`` rows at a time: the merged table is
    never whole. A block's keys are a..b-1, each once: its rows are put where their keys say
    (one pass), not sorted; a key missing or held twice fails the merge."""
    keys = [t.column(key).to_numpy() for t in tables]
    for a in range(0, n_rows, block):
        b = min(a + block, n_rows)
        pieces, where = [], []
        for t, k in zip(tables, keys):
            lo, hi = np.searchsorted(k, [a, b])
            if hi > lo:
                pieces.append(t.slice(lo, hi - lo))
                where.append(k[lo:hi] - a)
        n = sum(len(w) for w in where)
        if n != b - a:
            raise RuntimeError(f"rows lost: keys {a}..{b - 1} hold {n} rows")
        order = np.full(n, -1, dtype=np.int64)
        order[np.concatenate(where)] = np.arange(n)  # order[i]: the row holding key a + i
        if (order < 0).any():
            raise RuntimeError(f"rows lost: keys {a}..{b - 1} hold a key twice")
        merged = pa.concat_tables(pieces) if len(pieces) > 1 else pieces[0]
        yield (merged.take(pa.array(order)) if len(pieces) > 1 else merged).drop_columns([key])


__all__ = ["BLOCK_ROWS", "add_stats", "merge_sorted", "merged_blocks"]
