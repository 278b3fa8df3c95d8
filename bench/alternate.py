"""Two versions of jukimatch side by side: one command under each, alternated in fresh processes.

This machine's speed moves by 10-20 % with its neighbours' load, so a change is judged only
against the code before it, run in the same hour: a checkout of the base (``git worktree add
../base REV``, then ``make .venv/.installed kernels`` there) beside the new one, their runs
alternated pair by pair, in the order base-new, new-base, ... so that a drift in load favours
neither. Per run, measured from outside as the benchmarks measure every contestant
(:mod:`.measure`): wall seconds, peak memory, user and system CPU seconds, and the run's own
phases from its ``summary.json``. Then, per version, the medians; the pairs in which the new
one was faster; and whether the two versions' outputs are the same tables (every Parquet file
both wrote, ``Table.equals``): a speed change never changes a decision, and the exit status
is 1 when one does.

    python -m jukimatch.bench.alternate --base ../base --new . --pairs 5 -- reconcile \\
        --residents D/residents.parquet --responses D/responses.parquet --partitions 10 --no-report

The command is a ``jukimatch`` subcommand and its arguments without ``--out``: each version
writes to a folder of its own under ``--work``. Speed is measured here, never asserted.
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .measure import run_measured

VERSIONS = ("base", "new")


@dataclass(frozen=True)
class Run:
    version: str
    wall: float
    peak_mib: float
    user: float
    system: float
    phases: dict[str, float] = field(default_factory=dict)  # the summary's timings_s (total = in-run)


def run_once(version: str, exe: Path, args: list[str], out: Path) -> Run:
    """``exe args --out out`` in a fresh process, measured from outside (:mod:`.measure`, as
    every contestant of the benchmarks is); its outputs left in ``out``, its log beside."""
    shutil.rmtree(out, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    m = run_measured([str(exe), *args, "--out", str(out)], result_path=out / "summary.json",
                     log_path=out.with_name(f"{out.name}.log"))
    if m.returncode:
        tail = m.stderr_tail.splitlines()[-1:] or [""]
        raise SystemExit(f"alternate: {version} failed (exit {m.returncode}): {tail[0]}")
    return Run(version, m.wall_s, m.peak_rss_bytes / 2**20, m.user_s, m.system_s, m.child.get("timings_s", {}))


def alternate(exes: dict[str, Path], args: list[str], work: Path, pairs: int, report=print) -> list[Run]:
    """``pairs`` runs of each version, alternated base-new, new-base, ...; ``report`` sees each."""
    runs = []
    for i in range(pairs):
        for version in (VERSIONS if i % 2 == 0 else VERSIONS[::-1]):
            run = run_once(version, exes[version], args, work / version)
            runs.append(run)
            report(_line(run))
    return runs


def _line(run: Run) -> str:
    phases = " ".join(f"{k}={v:.2f}" for k, v in run.phases.items())
    return f"{run.version:5s} wall {run.wall:7.2f} s  peak {run.peak_mib:7.0f} MiB  user {run.user:6.2f}  " \
           f"sys {run.system:6.2f}  {phases}"


def medians(runs: list[Run]) -> dict[str, dict[str, float]]:
    """Per version: the median of wall, peak, user, system and every phase."""
    out = {}
    for version in VERSIONS:
        mine = [r for r in runs if r.version == version]
        if not mine:
            continue
        row = {k: statistics.median(getattr(r, k) for r in mine) for k in ("wall", "peak_mib", "user", "system")}
        for phase in dict.fromkeys(k for r in mine for k in r.phases):
            values = [r.phases[phase] for r in mine if phase in r.phases]
            row[phase] = statistics.median(values)
        row["min_wall"], row["max_wall"] = min(r.wall for r in mine), max(r.wall for r in mine)
        out[version] = row
    return out


def faster_pairs(runs: list[Run]) -> tuple[int, int]:
    """(pairs in which the new version's wall was shorter, pairs)."""
    base = [r.wall for r in runs if r.version == "base"]
    new = [r.wall for r in runs if r.version == "new"]
    return sum(n < b for b, n in zip(base, new)), min(len(base), len(new))


def same_outputs(a: Path, b: Path) -> dict[str, bool]:
    """Per Parquet file either folder holds: whether both hold it and its tables are equal."""
    import pyarrow.parquet as pq

    names = sorted({p.name for p in a.glob("*.parquet")} | {p.name for p in b.glob("*.parquet")})
    return {n: (a / n).exists() and (b / n).exists() and pq.read_table(a / n).equals(pq.read_table(b / n))
            for n in names}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m jukimatch.bench.alternate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base", type=Path, required=True, help="the checkout of the code before (with its .venv)")
    p.add_argument("--new", type=Path, required=True, help="the checkout of the code after (with its .venv)")
    p.add_argument("--pairs", type=int, default=5, help="runs of each version (default 5)")
    p.add_argument("--work", type=Path, help="where each version writes its outputs (default: a temporary folder)")
    p.add_argument("--json", type=Path, help="also write every run and the medians here")
    p.add_argument("command", nargs=argparse.REMAINDER, help="-- a jukimatch subcommand and its arguments, no --out")
    args = p.parse_args(argv)
    cmd = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not cmd:
        p.error("give the jukimatch command to time after --")
    if "--out" in cmd:
        p.error("leave --out out: each version writes to a folder of its own under --work")
    if args.pairs < 1:
        p.error("--pairs must be at least 1")
    exes = {v: d / ".venv" / "bin" / "jukimatch" for v, d in (("base", args.base), ("new", args.new))}
    for version, exe in exes.items():
        if not exe.exists():
            p.error(f"--{version} {exe.parent.parent.parent}: no .venv/bin/jukimatch (make .venv/.installed kernels)")
    work = args.work or Path(tempfile.mkdtemp(prefix="jukimatch-alternate-"))
    runs = alternate(exes, cmd, work, args.pairs)
    med = medians(runs)
    wins, pairs = faster_pairs(runs)
    print(f"\nmedians of {pairs} pairs (wall min-max in brackets)")
    for version, row in med.items():
        phases = " ".join(f"{k}={v:.2f}" for k, v in row.items()
                          if k not in ("wall", "peak_mib", "user", "system", "min_wall", "max_wall"))
        print(f"{version:5s} wall {row['wall']:7.2f} s ({row['min_wall']:.2f}-{row['max_wall']:.2f})  "
              f"peak {row['peak_mib']:7.0f} MiB  user {row['user']:6.2f}  sys {row['system']:6.2f}  {phases}")
    print(f"new faster in {wins} of {pairs} pairs")
    same = same_outputs(work / "base", work / "new")
    for name, equal in same.items():
        print(f"{'same  ' if equal else 'DIFFER'} {name}")
    if args.json:
        args.json.write_text(json.dumps({"command": cmd, "runs": [asdict(r) for r in runs], "medians": med,
                                         "new_faster_pairs": wins, "pairs": pairs, "same_outputs": same}, indent=2))
    if not all(same.values()):
        print("the outputs differ: not a speed change", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
