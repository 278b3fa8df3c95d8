"""A fresh clone's first ``make demo``, split into install, kernel compile and the demo run.

Each repetition clones the given branch into a new folder and runs, timing each:
``make .venv/.installed`` (venv and packages), ``make kernels`` where the Makefile has that
target (the Numba warm-up; without it the kernels compile inside the demo run), then
``make demo``. The sum is what one ``make demo`` costs on a clean checkout (make's own
overhead aside). Branches are interleaved (A, B, A, B, ...) on a shared, noisy machine, and
the median of ``--repeats`` is printed, with the CPU seconds of the steps (user + sys, which
other work on the machine does not inflate) and the load average after each run. Package registries' download caches stay as they are
(warm here as on CI). Speed is measured here, never asserted in tests.

    python -m jukimatch.bench.bench_first_demo --repo /work/main --branch main --branch start
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STEPS = ("install", "compile", "demo")


CPU: dict[str, float] = {}  # CPU seconds (user + sys) of each step's processes, beside the wall


def _make(folder: Path, *targets: str) -> float:
    t, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(["make", *targets], cwd=folder, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU[targets[0]] = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return time.perf_counter() - t


def first_demo(repo: str, branch: str, work: Path) -> dict[str, float]:
    """Seconds of each step of a first ``make demo`` in a fresh clone of ``branch``."""
    folder = work / f"clone-{branch.replace('/', '-')}"
    shutil.rmtree(folder, ignore_errors=True)
    subprocess.run(["git", "clone", "-q", "-b", branch, repo, str(folder)], check=True)
    has_kernels = subprocess.run(["make", "-n", "kernels"], cwd=folder, capture_output=True).returncode == 0
    CPU.clear()
    times = {"install": _make(folder, ".venv/.installed"),
             "compile": _make(folder, "kernels") if has_kernels else 0.0,
             "demo": _make(folder, "demo")}
    times["cpu"] = sum(CPU.values())
    times["load"] = os.getloadavg()[0]
    shutil.rmtree(folder, ignore_errors=True)
    return times


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m jukimatch.bench.bench_first_demo", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repo", default=str(Path(__file__).resolve().parents[1]))
    p.add_argument("--branch", action="append", help="branch to clone (twice to compare); default: the current one")
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args(argv)
    branches = args.branch or [subprocess.run(["git", "branch", "--show-current"], cwd=args.repo,
                                              capture_output=True, text=True).stdout.strip()]
    from jukimatch.bench.machine import banner

    print(banner())
    print(f"PYTHONDONTWRITEBYTECODE={os.environ.get('PYTHONDONTWRITEBYTECODE', '')!r}")
    results: dict[str, list[dict[str, float]]] = {b: [] for b in branches}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats):
            for b in branches:
                r = first_demo(args.repo, b, Path(tmp))
                results[b].append(r)
                print(f"  {b} #{i + 1}: " + "  ".join(f"{k} {r[k]:.1f}s" for k in STEPS)
                      + f"  total {sum(r[k] for k in STEPS):.1f}s  (CPU {r['cpu']:.0f}s, load {r['load']:.1f})",
                      flush=True)
    for b, runs in results.items():
        med = {k: statistics.median(r[k] for r in runs) for k in STEPS}
        total = statistics.median(sum(r[k] for k in STEPS) for r in runs)
        print(f"{b}: " + "  ".join(f"{k} {v:.1f}s" for k, v in med.items())
              + f"  total {total:.1f}s  CPU {statistics.median(r['cpu'] for r in runs):.0f}s  (medians of {len(runs)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
