"""Cold start of ``jukimatch reconcile``: how long a fresh process takes to read its first row.

Three clocks, each a fresh process, the median of ``--repeats``, checkouts interleaved
(A, B, A, B, ...) so that a shared, noisy machine's drift spreads over all of them:

- ``help``: wall time of ``jukimatch reconcile --help`` (interpreter start, parsing, exit);
- ``first row``: from spawning ``jukimatch reconcile ...`` to the moment the engine starts
  reading an input (``jukimatch.engine.io`` is hooked in the child; the child exits there);
- ``run``: wall time of the whole ``jukimatch reconcile --quiet`` on ``--data`` (optional).

``--python`` may be given twice to compare two checkouts' virtualenvs side by side (the
before/after of a change). Speed is measured here, never asserted in tests.

    python -m jukimatch.bench.bench_start --data D --python /old/.venv/bin/python --python .venv/bin/python
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: the child: hook the reader, run the command line, print the clock at the first read
_FIRST_ROW = """
import os, sys, time
import jukimatch.engine.io as io
name = "_read_table" if hasattr(io, "_read_table") else "read_table"
def first_read(*args, **kwargs):
    os.write(1, ("%.6f" % time.time() + chr(10)).encode())  # one write: both inputs' threads may get here
    os._exit(0)
setattr(io, name, first_read)
from jukimatch.api.cli import main
main(sys.argv[1:])
"""


def _wall(cmd: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def _first_row(python: str, args: list[str]) -> float:
    t = time.time()
    out = subprocess.run([python, "-c", _FIRST_ROW, *args], check=True, capture_output=True, text=True).stdout
    return float(out.split()[0]) - t


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m jukimatch.bench.bench_start", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--python", action="append", help="a virtualenv's python (default: this one); twice to compare")
    p.add_argument("--data", type=Path, help="folder with residents.parquet and responses.parquet (`jukimatch generate`)")
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args(argv)
    pythons = args.python or [sys.executable]
    from jukimatch.bench.machine import banner

    print(banner())
    with tempfile.TemporaryDirectory() as tmp:
        data = args.data
        if data is None:
            data = Path(tmp) / "data"
            subprocess.run([str(Path(pythons[-1]).with_name("jukimatch")), "generate", "--residents", "1000",
                            "--out", str(data), "--seed", "3"], check=True, stdout=subprocess.DEVNULL)
        run_args = ["reconcile", "--residents", str(data / "residents.parquet"),
                    "--responses", str(data / "responses.parquet"), "--out", str(Path(tmp) / "out"), "--quiet"]
        clocks: dict[str, dict[str, list[float]]] = {py: {"help": [], "first row": [], "run": []} for py in pythons}
        for py in pythons:  # a run of each first: the Numba cache and the .pyc files are written
            _wall([str(Path(py).with_name("jukimatch")), *run_args])
        for _ in range(args.repeats):
            for py in pythons:
                exe = str(Path(py).with_name("jukimatch"))
                clocks[py]["help"].append(_wall([exe, "reconcile", "--help"]))
                clocks[py]["first row"].append(_first_row(py, run_args))
                if args.data is not None:
                    clocks[py]["run"].append(_wall([exe, *run_args]))
    for py in pythons:
        cells = "  ".join(f"{name} {statistics.median(v):.3f}s" for name, v in clocks[py].items() if v)
        print(f"{py}: {cells}  (median of {args.repeats})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
