"""Speed figures of the simulator (never asserted in tests).

1. The planner: one year of arrivals at ``--residents`` residents queued before 1..8 servers,
   timed per stage (arrivals, service-time draws, queues), with a calibration file if given
   or a synthetic gamma service-time distribution (mean 0.55 ms) otherwise.
2. With ``--load SECONDS``: a flat Locust run of ``--users`` users against a fresh loopback
   service (``jukimatch simulate load``), printing requests/s, p99, failures, the store check
   and the CPU seconds of the service and of Locust.

    .venv/bin/python bench/bench_sim.py [--residents 4000000] [--calibration FILE] [--load 60 --users 16]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SEED = 18


def _platform() -> str:
    return (f"{platform.platform()} | Python {platform.python_version()} | {os.cpu_count()} CPUs | "
            f"{platform.processor() or platform.machine()}")


def bench_plan(residents: int, year: int, calibration: str | None) -> dict:
    from jukimatch.sim.calibrate import Calibration
    from jukimatch.sim.planner import plan

    if calibration:
        cal = Calibration.load(calibration)
    else:
        rng = np.random.default_rng(SEED)
        cal = Calibration({"provided": rng.gamma(6.0, 0.55e-3 / 6.0, 5000)}, {"created": "synthetic gamma"})
    plan(residents=10_000, year=year, servers=[1], target_p99_ms=200, calibration=cal, seed=SEED)  # JIT warm-up
    t = time.perf_counter()
    r = plan(residents=residents, year=year, servers=range(1, 9), target_p99_ms=200, calibration=cal, seed=SEED)
    wall = time.perf_counter() - t
    return {"residents": residents, "year": year, "requests": r["requests"], "wall_s": round(wall, 2),
            "requests_per_s_simulated": round(r["requests"] * 8 / wall), "stages_s": r["timings_s"],
            "recommended_servers": r["recommended_servers"],
            "peak_hour_rps": round(r["servers"][0]["peak_hour_rps"], 2)}


def bench_load(seconds: float, users: int) -> dict:
    from jukimatch.sim.load import simulate_load

    with tempfile.TemporaryDirectory(prefix="bench-sim-") as d:
        s = simulate_load(Path(d) / "load", users=users, duration_s=seconds, shape="flat", seed=SEED)
    loc = s["locust"]
    return {"requests": loc["requests"], "requests_per_s": round(loc["requests_per_s"], 1), "p50_ms": loc["p50_ms"],
            "p99_ms": loc["p99_ms"], "failures": loc["failures"],
            "refusals": loc["refused_row"] + loc["refused_kind"], "store_equal": s["store_check"]["all_equal"],
            "service_cpu_s": s["locust_run"].get("service_cpu_s"), "locust_cpu_s": s["locust_run"].get("locust_cpu_s")}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--residents", type=int, default=4_000_000)
    ap.add_argument("--year", type=int, default=2027)
    ap.add_argument("--calibration")
    ap.add_argument("--load", type=float, default=0.0, metavar="SECONDS", help="also run Locust this long")
    ap.add_argument("--users", type=int, default=16)
    args = ap.parse_args(argv)
    print(_platform())
    out = {"plan": bench_plan(args.residents, args.year, args.calibration)}
    print(json.dumps(out["plan"], indent=2))
    if args.load > 0:
        out["load"] = bench_load(args.load, args.users)
        print(json.dumps(out["load"], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
