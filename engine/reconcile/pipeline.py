"""A bulk reconciliation: read, validate, normalise, compare, fit, decide, write.

:func:`run` hands the run to the local backend — the whole input in this process
(:mod:`.local`), or its hash partitions taken in turn (:mod:`.inturn`) when asked for or
when the whole would not fit the memory available — or to the Dask backend
(:mod:`.distributed`, hash partitions on a cluster). Both produce the same decisions; rows in = rows out is checked before anything is
written, and every output file is written to a temporary name and renamed.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from jukimatch.engine.io import RESIDENT_COLUMNS, RESPONSE_COLUMNS
from jukimatch.engine.reconcile.checkpoint import local_partitions
from jukimatch.engine.reconcile.common import BACKENDS, Options


def run(residents_path: str | Path, responses_path: str | Path, out_dir: str | Path,
        opts: Options | None = None) -> dict[str, Any]:
    """Reconcile a residents file with Juki-net's responses; write the outputs; return the summary."""
    opts = opts or Options()
    if opts.backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {opts.backend!r}")
    if opts.backend == "dask":
        from jukimatch.engine.reconcile.distributed import run_dask

        return run_dask(residents_path, responses_path, out_dir, opts)
    parts = opts.partitions if opts.partitions is not None else local_partitions(residents_path, out_dir, resume=opts.resume)
    if parts > 1:
        from jukimatch.engine.reconcile.inturn import run_inturn

        return run_inturn(residents_path, responses_path, out_dir, replace(opts, partitions=parts))
    from jukimatch.engine.reconcile.local import run_local

    return run_local(residents_path, responses_path, out_dir, opts)


__all__ = ["BACKENDS", "Options", "run", "RESIDENT_COLUMNS", "RESPONSE_COLUMNS"]
