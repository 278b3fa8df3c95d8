"""Time and peak memory of ``jukimatch generate`` (population + writing), seeded.

    .venv/bin/python bench/bench_generate.py --residents 1000000 --seed 18

Prints the machine, N, wall time per phase and peak RSS. A measurement, never a test.
"""
from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path


def peak_rss_mib() -> float:
    """Peak resident set size of this process (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--residents", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=18)
    ap.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    ap.add_argument("--encoding", choices=("utf-8", "cp932"), default="utf-8")
    ap.add_argument("--out", type=Path, default=None, help="output folder (default: a temporary one)")
    args = ap.parse_args(argv)

    import numpy as np
    import pyarrow as pa

    from jukimatch.datasets import make_population, write_population

    print(f"machine: {platform.machine()} {platform.processor() or ''} cpus={os.cpu_count()} "
          f"{platform.system()} {platform.release()}")
    print(f"python {platform.python_version()} numpy {np.__version__} pyarrow {pa.__version__}")
    print(f"N={args.residents:,} seed={args.seed} format={args.format} encoding={args.encoding}")
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        t0 = time.perf_counter()
        tables = make_population(args.residents, seed=args.seed)
        t1 = time.perf_counter()
        write_population(tables, out, fmt=args.format, encoding=args.encoding)
        t2 = time.perf_counter()
        rows = {k: t.num_rows for k, t in tables.items()}
    print(f"rows: {rows}")
    print(f"make_population {t1 - t0:.1f} s, write {t2 - t1:.1f} s, total {t2 - t0:.1f} s")
    print(f"peak RSS {peak_rss_mib():.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
