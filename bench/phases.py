"""What each phase of one ``jukimatch reconcile`` run costs the machine: seconds, cores busy,
system time and pages allocated (Linux).

The run is started as given and sampled every ``--every`` seconds from ``/proc``: the
process's user and system time, and the machine's page allocations (the ``pgalloc_*`` lines
of ``/proc/vmstat``, 4 KiB each; other processes count too, so run it on a quiet machine).
The phases are the run's own (``timings_s`` of its ``summary.json``, in the order they ran),
placed on the clock by the moment the summary appears; ``start`` is what comes before the
first (interpreter, imports, reading begun early), ``exit`` what comes after the summary
(cleaning the work folders, leaving the process).

On this project's machine pages first touched are what a run pays for most (docs/PERFORMANCE.md,
session 14): a phase's system time follows its pages. Speed is measured here, never asserted.

    python -m jukimatch.bench.phases -- jukimatch reconcile --residents R --responses S --out O --no-report
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_PAGE = 4096


@dataclass(frozen=True)
class Sample:
    at: float  # seconds since the start
    user: float  # the process's CPU seconds so far
    system: float
    pages: int  # the machine's pages allocated so far


def _cpu(pid: int) -> tuple[float, float] | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[11]) / _TICK, int(fields[12]) / _TICK


def _pages() -> int:
    total = 0
    with open("/proc/vmstat") as f:
        for line in f:
            if line.startswith("pgalloc_"):
                total += int(line.split()[1])
    return total


def run(cmd: list[str], out: Path, every: float = 0.05) -> tuple[list[Sample], float, float]:
    """Run ``cmd``, sampling it: (samples, seconds to its summary, seconds to its end)."""
    summary = out / "summary.json"
    t0 = time.perf_counter()
    wall0 = time.time()
    samples: list[Sample] = []
    seen = None
    with subprocess.Popen(cmd, stdout=subprocess.DEVNULL) as proc:
        while proc.poll() is None:
            cpu = _cpu(proc.pid)
            now = time.perf_counter() - t0
            if cpu is not None:
                samples.append(Sample(now, cpu[0], cpu[1], _pages()))
            if seen is None and summary.exists() and summary.stat().st_mtime >= wall0:
                seen = now
            time.sleep(every)
    end = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(f"phases: the run failed (exit {proc.returncode})")
    return samples, end if seen is None else seen, end


def phases(timings: dict[str, float], samples: list[Sample], summary_at: float, end: float,
           every: float = 0.05) -> list[dict]:
    """One row per phase, ``start`` and ``exit`` included: seconds, cores busy, system
    seconds and GiB of pages, from the samples at its two ends (cores: None for a phase
    shorter than two samples, which the sampling cannot tell)."""
    def at(t: float) -> Sample:
        best = samples[0]
        for s in samples:
            if s.at <= t:
                best = s
        return best

    steps = [(k, float(v)) for k, v in timings.items() if k != "total"]
    first = max(summary_at - float(timings.get("total", sum(v for _, v in steps))), 0.0)
    rows, t = [], 0.0
    for name, seconds in [("start", first), *steps, ("exit", max(end - summary_at, 0.0))]:
        a, b = at(t), at(t + seconds)
        rows.append({"phase": name, "seconds": seconds,
                     "cores": (b.user + b.system - a.user - a.system) / seconds if seconds >= 2 * every else None,
                     "system": b.system - a.system, "pages_gib": (b.pages - a.pages) * _PAGE / 2**30})
        t += seconds
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m jukimatch.bench.phases", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--every", type=float, default=0.05, help="seconds between samples")
    p.add_argument("--json", type=Path, help="also write the rows here")
    p.add_argument("command", nargs=argparse.REMAINDER, help="-- jukimatch reconcile ... --out O")
    args = p.parse_args(argv)
    cmd = args.command[1:] if args.command[:1] == ["--"] else args.command
    if "--out" not in cmd[:-1]:
        p.error("the command must be a reconcile with --out (its summary.json gives the phases)")
    if not Path("/proc/vmstat").exists():
        p.error("needs Linux's /proc")
    out = Path(cmd[cmd.index("--out") + 1])
    samples, summary_at, end = run(cmd, out, args.every)
    if not samples:
        p.error("the run ended before it could be sampled")
    timings = json.loads((out / "summary.json").read_text())["timings_s"]
    rows = phases(timings, samples, summary_at, end, args.every)
    print(f"{'phase':12s} {'s':>7s} {'cores':>6s} {'sys s':>6s} {'pages GiB':>10s}")
    for r in rows:
        cores = "-" if r["cores"] is None else f"{r['cores']:.2f}"
        print(f"{r['phase']:12s} {r['seconds']:7.2f} {cores:>6s} {r['system']:6.2f} {r['pages_gib']:10.2f}")
    print(f"{'wall':12s} {end:7.2f}        {samples[-1].system - samples[0].system:6.2f} "
          f"{(samples[-1].pages - samples[0].pages) * _PAGE / 2**30:10.2f}")
    if args.json:
        args.json.write_text(json.dumps({"command": cmd, "wall_s": end, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
