"""One contestant, run in a process of its own: ``python -m jukimatch.bench.contestants NAME ...``.

The benchmark's parent process starts this module once per run so that wall time and peak
memory are measured from outside in the same way for every contestant. Each writes
``decisions.parquet`` (contract shape) into ``--out`` and a small JSON about itself into
``--result``: its own time spent working (imports of its libraries included), its phases
and its ``ru_maxrss``.
"""
from __future__ import annotations

import argparse
import sys
import time

CONTESTANTS = ("jukimatch", "splink", "pandas")


def run_contestant(name: str, residents: str, responses: str, out: str, *, seed: int = 42) -> dict:
    """Run one contestant in this process; return what it reports about itself."""
    if name == "jukimatch":
        from jukimatch.api import reconcile

        summary = reconcile(residents, responses, out, report=False)
        return {"timings_s": summary.get("timings_s", {}), "decisions": summary.get("decisions", {}),
                "pairs": summary.get("rows", {}).get("responses_compared")}
    if name == "splink":
        from .peer_splink import run

        return run(residents, responses, out, seed=seed)
    if name == "pandas":
        from .peer_pandas import run

        return run(residents, responses, out)
    raise ValueError(f"unknown contestant {name!r}; one of {CONTESTANTS}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m jukimatch.bench.contestants",
                                 description="Run one benchmark contestant in this process.")
    ap.add_argument("name", choices=CONTESTANTS)
    ap.add_argument("--residents", required=True)
    ap.add_argument("--responses", required=True)
    ap.add_argument("--out", required=True, help="folder for decisions.parquet")
    ap.add_argument("--result", required=True, help="JSON file for this run's own report")
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args(argv)

    from .measure import write_child_result

    t0 = time.perf_counter()
    info = run_contestant(args.name, args.residents, args.responses, args.out, seed=args.seed)
    work = time.perf_counter() - t0
    write_child_result(args.result, {"name": args.name, "work_s": round(work, 4), **info})
    return 0


if __name__ == "__main__":
    sys.exit(main())
