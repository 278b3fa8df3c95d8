"""Every population profile through the engine: the wrong numbers each one provokes, in one table.

``python -m jukimatch.bench.bench_profiles`` generates each profile (``datasets/profiles``;
cached in ``--data-dir``), runs ``jukimatch reconcile --no-report`` on it in a fresh process
(interpreter start included in the wall time, as a user pays it), scores the decisions
against the truth and prints one row per profile, plus two comparison rows:

- ``no budget``: the engine with ``--max-risk 1``: its rules without the risk budget. Its
  wrong numbers are many on clustered profiles, so its ``expected wrong`` is where the
  forecast's calibration shows;
- ``blunt``: the unbudgeted engine's matches, but every match whose resident address and
  matched answer's address differ after the engine's address normalisation (municipality,
  town and block; buildings where both name one) goes to review — the rule "review everyone
  who moved". Its wrong numbers and recall show what address alone buys;
- ``max-risk B`` (with ``--budgets``): the engine under another risk budget — its own
  trade-off of wrong numbers against recall, to set beside the blunt rule's;
- ``splink`` (with ``--splink``; needs ``make bench``'s extra): Splink on the same files
  (``bench/peer_splink.py``), in a process of its own.

``expected wrong`` is the engine's own forecast (``summary.json`` ``expected_wrong_numbers``:
mean [low, high]); ``n/a`` when the engine does not state one. Seeded; prints the machine.
Speed is measured here, never asserted in tests.

Examples::

    python -m jukimatch.bench.bench_profiles                               # 1M per profile
    python -m jukimatch.bench.bench_profiles --residents 100000 --json /tmp/profiles.json
    python -m jukimatch.bench.bench_profiles --profiles default,mixed --splink
    python -m jukimatch.bench.bench_profiles --residents 200000 --budgets 1e-3,1e-2
"""
from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from jukimatch.datasets import generate, load_profile
from jukimatch.datasets.profile import profile_names
from jukimatch.datasets.score import score
from jukimatch.engine.normalize.address import address_hashes

from .machine import describe

SEED = 3
COLUMNS = ("profile", "run", "residents", "wrong", "two_persons", "duplicates", "twins", "auto_recall",
           "review_rate", "expected_wrong", "wall_s")


def _data(profile: str, n: int, seed: int, data_dir: Path) -> Path:
    """The generated inputs of ``profile`` (made once, reused while the profile's rates stay the same)."""
    rates = hashlib.sha256(json.dumps(load_profile(profile).to_dict(), sort_keys=True).encode()).hexdigest()[:8]
    folder = data_dir / f"{profile}-{rates}-n{n}-s{seed}"
    if not (folder / "truth.parquet").exists():
        generate(n, folder, seed=seed, profile=profile)
    return folder


def _reconcile(folder: Path, out: Path, workers: int | None, extra: tuple[str, ...] = ()) -> tuple[float, dict]:
    """``jukimatch reconcile`` in a fresh process; (wall seconds, summary.json)."""
    cmd = [sys.executable, "-m", "jukimatch.api.cli", "reconcile", "--residents", str(folder / "residents.parquet"),
           "--responses", str(folder / "responses.parquet"), "--out", str(out), "--no-report", "--quiet", *extra]
    if workers:
        cmd += ["--threads", str(workers)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"reconcile failed on {folder}: {proc.stderr.strip()[-2000:]}")
    return wall, json.loads((out / "summary.json").read_text())


def _splink(folder: Path, out: Path) -> float:
    """Splink (``bench/peer_splink.py``) in a process of its own; wall seconds."""
    cmd = [sys.executable, "-m", "jukimatch.bench.contestants", "splink", "--residents",
           str(folder / "residents.parquet"), "--responses", str(folder / "responses.parquet"), "--out", str(out),
           "--result", str(out / "splink_result.json")]
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"splink failed on {folder}: {proc.stderr.strip()[-2000:]}")
    return time.perf_counter() - t0


def address_changed(residents: pa.Table, responses: pa.Table, decisions: pa.Table) -> np.ndarray:
    """Per decision row: a match whose matched answer's address differs from the resident's.

    Compared after the engine's own normalisation: municipality, town and block must agree,
    and the building where both sides name one (a dropped building or prefecture is notation,
    not a move).
    """
    match = pc.fill_null(pc.equal(decisions["decision"], "match"), False)
    m = decisions.filter(match).select(["person_id", "my_number"])
    found = responses.filter(pc.fill_null(pc.equal(responses["status"], "found"), False))
    answer = (found.select(["person_id", "my_number", "address"])
              .group_by(["person_id", "my_number"], use_threads=False).aggregate([("address", "first")])
              .rename_columns(["person_id", "my_number", "answer_address"]))
    own = residents.select(["person_id", "address"])
    j = m.join(answer, ["person_id", "my_number"]).join(own, "person_id")
    a = address_hashes(j["address"].combine_chunks())
    b = address_hashes(j["answer_address"].combine_chunks())
    city, town, block, building = 1, 2, 3, 4
    differs = (a[city] != b[city]) | (a[town] != b[town]) | (a[block] != b[block])
    differs |= (a[building] != 0) & (b[building] != 0) & (a[building] != b[building])
    moved = set(j["person_id"].filter(pa.array(differs)).to_pylist())
    pids = decisions["person_id"].to_pylist()
    return match.to_numpy(zero_copy_only=False) & np.array([p in moved for p in pids], dtype=bool)


def blunt(decisions: pa.Table, changed: np.ndarray) -> pa.Table:
    """The decisions with every address-changed match sent to review (its number withdrawn)."""
    flip = pa.array(changed)
    dec = pc.if_else(flip, "review", decisions["decision"])
    num = pc.if_else(flip, pa.scalar(None, pa.string()), decisions["my_number"])
    return decisions.set_column(decisions.column_names.index("decision"), "decision", dec) \
        .set_column(decisions.column_names.index("my_number"), "my_number", num)


def _row(profile: str, run: str, s: dict, expected, wall: float | None) -> dict:
    return {
        "profile": profile, "run": run, "residents": s["residents"], "wrong": s["wrong_numbers"],
        "two_persons": s["numbers_to_two_persons"],
        "duplicates": [s["duplicates_flagged"], s["duplicates_total"]],
        "twins": [s["twins_flagged"], s["twins_total"]],
        "twins_told_apart": s.get("twins_told_apart", 0),
        "auto_recall": round(s["auto_recall"], 5), "review_rate": round(s["review_rate"], 5),
        "expected_wrong": expected, "wall_s": None if wall is None else round(wall, 2),
        "wrong_by_case": s["wrong_by_case"], "wrong_by_lookalike": s["wrong_by_lookalike"],
    }


def run_profile(profile: str, n: int, seed: int, data_dir: Path, *, splink: bool = False,
                workers: int | None = None, budgets: tuple[str, ...] = (), log=print) -> list[dict]:
    """The engine's row; the engine without a risk budget (``--max-risk 1``: its rules alone,
    where the expected count can be checked against a true count of many); the blunt rule
    on that engine; and Splink's row if asked, for one profile."""
    folder = _data(profile, n, seed, data_dir)
    truth = pq.read_table(folder / "truth.parquet")
    out = folder / "engine-out"
    wall, summary = _reconcile(folder, out, workers)
    rows = [_row(profile, "engine", score(pq.read_table(out / "decisions.parquet"), truth),
                 summary.get("expected_wrong_numbers"), wall)]
    out = folder / "unbudgeted-out"
    wall, summary = _reconcile(folder, out, workers, ("--max-risk", "1"))
    decisions = pq.read_table(out / "decisions.parquet")
    rows.append(_row(profile, "no budget", score(decisions, truth), summary.get("expected_wrong_numbers"), wall))
    changed = address_changed(pq.read_table(folder / "residents.parquet"), pq.read_table(folder / "responses.parquet"),
                              decisions)
    rows.append(_row(profile, "blunt", score(blunt(decisions, changed), truth), None, None))
    for budget in budgets:
        out = folder / f"max-risk-{budget}-out"
        wall, summary = _reconcile(folder, out, workers, ("--max-risk", budget))
        rows.append(_row(profile, f"max-risk {budget}", score(pq.read_table(out / "decisions.parquet"), truth),
                         summary.get("expected_wrong_numbers"), wall))
    if splink:
        wall = _splink(folder, folder / "splink-out")
        rows.append(_row(profile, "splink", score(pq.read_table(folder / "splink-out" / "decisions.parquet"), truth),
                         None, wall))
    for r in rows:
        log(format_row(r))
    return rows


def _expected(e) -> str:
    if not isinstance(e, dict) or "mean" not in e:
        return "n/a"
    return f"{e['mean']:.1f} [{e.get('low', float('nan')):.1f}, {e.get('high', float('nan')):.1f}]"


def format_row(r: dict) -> str:
    cells = [r["profile"], r["run"], f"{r['residents']:,}", str(r["wrong"]), str(r["two_persons"]),
             "{}/{}".format(*r["duplicates"]),
             "{} + {}/{}".format(r["twins"][0], r.get("twins_told_apart", 0), r["twins"][1]), f"{100 * r['auto_recall']:.2f} %",
             f"{100 * r['review_rate']:.2f} %", _expected(r["expected_wrong"]),
             "" if r["wall_s"] is None else f"{r['wall_s']:.1f}"]
    return "| " + " | ".join(cells) + " |"


def table(rows: list[dict]) -> str:
    head = ("profile", "run", "residents", "wrong numbers", "numbers to two persons", "duplicates flagged",
            "twins flagged + told apart", "automatic recall", "review rate", "expected wrong", "wall s")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return "\n".join(lines + [format_row(r) for r in rows])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m jukimatch.bench.bench_profiles", description=__doc__.split("\n")[0])
    ap.add_argument("--profiles", default=",".join(profile_names()), help="comma-separated (default: all shipped)")
    ap.add_argument("--residents", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--data-dir", default="bench-profiles-data", help="generated inputs and outputs, reused")
    ap.add_argument("--splink", action="store_true", help="also run Splink on every profile (bench extra)")
    ap.add_argument("--workers", type=int, help="reconcile --threads")
    ap.add_argument("--budgets", default="", help="comma-separated --max-risk values for extra engine rows "
                    "(the engine's own trade-off beside the blunt rule's), e.g. 1e-3,1e-2")
    ap.add_argument("--json", help="write the rows and the machine here")
    args = ap.parse_args(argv)
    names = [p.strip() for p in args.profiles.split(",") if p.strip()]
    unknown = sorted(set(names) - set(profile_names()))
    if unknown:
        ap.error(f"unknown profiles {unknown}; shipped: {profile_names()}")
    if args.residents < 1:
        ap.error("--residents must be at least 1")
    budgets = tuple(b.strip() for b in args.budgets.split(",") if b.strip())
    for b in budgets:
        try:
            ok = 0 < float(b) <= 1
        except ValueError:
            ok = False
        if not ok:
            ap.error(f"--budgets: {b!r} is not a risk in (0, 1]")
    machine = describe()
    print(json.dumps(machine), file=sys.stderr)
    rows: list[dict] = []
    for name in names:
        rows.extend(run_profile(name, args.residents, args.seed, Path(args.data_dir), splink=args.splink,
                                workers=args.workers, budgets=budgets, log=lambda line: print(line, file=sys.stderr)))
    print(table(rows))
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": machine, "seed": args.seed, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
