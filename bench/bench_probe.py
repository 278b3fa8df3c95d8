"""How close to the machine is ``jukimatch reconcile``? It, beside a bare probe (and Splink).

Issue #16 sets the engine's speed against what the hardware allows rather than against the
peers alone. The **probe** is the least work any reconciliation of these files must do: read
both CSVs with pyarrow, NFKC-normalise one name column (``name_alpha``, on both sides) and run
one Numba Jaro-Winkler pass (the engine's own kernel) over every answer pair (each response
row against the resident it answers). Beside it, on the same CSV pair:

- ``reconcile``: ``jukimatch reconcile`` with ``report.html``, as a user runs it;
- ``splink`` (with ``--splink``): Splink 5 on DuckDB, set up as in ``peer_splink``.

A fourth row, ``start``, is reconcile's cold start: the same command line, from process start
until it begins to read its first input (the child ends there).

Every run is a fresh process (interpreter start and imports included, as a user pays them),
repetitions interleaved (P, R, S, P, R, S, ...) so that the machine's drift spreads over all;
wall time and the peak RSS of the process tree come from :mod:`jukimatch.bench.measure`, and
the median of ``--repeats`` runs is reported with its ratio to the probe. Reconcile's own
phases (``summary.json``) are printed beside it; wall time minus the run's own total is what
the process costs outside the run (start, imports, exit). A small warm-up run of each (excluded) fills Numba's on-disk cache.

The CSV pair is ``jukimatch generate --residents N --format csv --seed 3``, cached under
``--data-dir``. Speed is measured here, never asserted in tests; the machine is printed.

Examples::

    python -m jukimatch.bench.bench_probe                     # 1M, probe and reconcile (~1 min)
    python -m jukimatch.bench.bench_probe --splink            # + Splink (~3 more minutes)
    jukimatch bench probe --residents 100000 --repeats 5
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

SEED = 3
NAME_COLUMN = "name_alpha"
RESULTS_DIR = Path(__file__).resolve().parent / "results"
LABELS = {"start": "cold start (until the first read)", "probe": "probe (read, NFKC, one JW pass)",
          "reconcile": "jukimatch reconcile + report", "splink": "Splink 5 + DuckDB"}


# --- the children: each runs in a process of its own ------------------------------------------

def _read_csv(path: str):
    """Every column as text, as the contract's files are read."""
    import csv

    import pyarrow as pa
    import pyarrow.csv as pcsv

    with open(path, encoding="utf-8-sig", newline="") as f:
        names = next(csv.reader(f))
    return pcsv.read_csv(path, convert_options=pcsv.ConvertOptions(column_types={n: pa.string() for n in names}))


def probe(residents: str, responses: str) -> dict:
    """Read both CSVs, NFKC one name column on both sides, one JW pass over the answer pairs."""
    t0 = time.perf_counter()
    import numpy as np
    import pyarrow.compute as pc

    from jukimatch.engine.compare.person import jaro_winkler
    from jukimatch.engine.text import to_codepoints

    t_import = time.perf_counter()
    res, resp = _read_csv(residents), _read_csv(responses)
    t_read = time.perf_counter()
    left = pc.utf8_normalize(res.column(NAME_COLUMN), "NFKC")
    right = pc.utf8_normalize(resp.column(NAME_COLUMN), "NFKC")
    li = pc.index_in(resp.column("person_id"), value_set=res.column("person_id"))
    ri = np.flatnonzero(li.is_valid().to_numpy(zero_copy_only=False))
    li = li.drop_null().to_numpy().astype(np.int64)
    t_norm = time.perf_counter()
    jw = jaro_winkler(to_codepoints(left), to_codepoints(right), li, ri.astype(np.int64))
    t_jw = time.perf_counter()
    return {"pairs": int(len(jw)), "mean_jw": float(jw.mean()) if len(jw) else None,
            "timings_s": {"imports": round(t_import - t0, 4), "read": round(t_read - t_import, 4),
                          "normalise+pairs": round(t_norm - t_read, 4), "jaro_winkler": round(t_jw - t_norm, 4),
                          "total": round(t_jw - t0, 4)}}


def start(residents: str, responses: str, out: str, result: str) -> dict:
    """``jukimatch reconcile`` from process start until it begins to read its first input: the
    reader is hooked, and the child writes its result and ends there. (The engine and Numba
    are imported while the inputs are read, after this point.)"""
    import jukimatch.engine.io as io

    from .measure import write_child_result

    def first_read(*_args: object) -> None:
        write_child_result(result, {"name": "start", "modules": len(sys.modules)})
        os._exit(0)

    setattr(io, "_read_table" if hasattr(io, "_read_table") else "read_table", first_read)
    from jukimatch.api.cli import main

    main(["reconcile", "--residents", residents, "--responses", responses, "--out", out, "--quiet"])
    raise SystemExit("jukimatch reconcile returned without reading its inputs")


def command() -> list[str]:
    """The ``jukimatch`` command of this environment, as a user runs it (its console script;
    ``python -m jukimatch.api.cli`` where it has none): the process is the command's own."""
    script = shutil.which("jukimatch", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "jukimatch.api.cli"]


def _child(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m jukimatch.bench.bench_probe --child")
    ap.add_argument("name", choices=("start", "probe"))
    ap.add_argument("--residents", required=True)
    ap.add_argument("--responses", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--result", required=True)
    a = ap.parse_args(argv)
    from .measure import write_child_result

    run = {"start": lambda r, s, o: start(r, s, o, a.result), "probe": lambda r, s, _: probe(r, s)}[a.name]
    info = run(a.residents, a.responses, a.out)
    write_child_result(a.result, {"name": a.name, **info})
    return 0


# --- the parent -------------------------------------------------------------------------------

def dataset(size: int, seed: int, data_dir: Path, log=print) -> dict[str, str]:
    """The CSV pair for ``size`` and ``seed``, generated once and reused while the generator
    is unchanged."""
    from .endtoend import generator_fingerprint

    folder = data_dir / f"csv_n{size}_seed{seed}"
    done = folder / "bench-complete.json"
    fingerprint = generator_fingerprint()
    paths = {"residents": str(folder / "residents.csv"), "responses": str(folder / "responses.csv")}
    if done.exists() and json.loads(done.read_text()).get("generator") == fingerprint:
        return paths
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    log(f"generating {size:,} residents as CSV (seed {seed}) into {folder} ...")
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "jukimatch.api.cli", "generate", "--residents", str(size),
                    "--format", "csv", "--seed", str(seed), "--out", str(folder)],
                   check=True, stdout=subprocess.DEVNULL)
    done.write_text(json.dumps({"size": size, "seed": seed, "generator": fingerprint,
                                "generate_s": round(time.perf_counter() - t, 2)}))
    return paths


def run_once(name: str, data: dict[str, str], work: Path, timeout: float) -> dict:
    """One measured run of ``name`` in a fresh process."""
    from .measure import run_measured

    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    common = ["--residents", data["residents"], "--responses", data["responses"], "--out", str(work / "out"),
              "--result", str(work / "result.json")]
    if name == "splink":
        argv = [sys.executable, "-m", "jukimatch.bench.contestants", "splink", *common]
    elif name == "reconcile":  # the command itself, report included: its timings from summary.json
        argv = [*command(), "reconcile", *common[:-2], "--quiet"]
    else:
        argv = [sys.executable, "-m", "jukimatch.bench.bench_probe", "--child", name, *common]
    m = run_measured(argv, result_path=work / "result.json", timeout=timeout, log_path=work / "log.txt")
    summary = work / "out" / "summary.json"
    timings = json.loads(summary.read_text(encoding="utf-8"))["timings_s"] if name == "reconcile" and \
        summary.exists() else m.child.get("timings_s", {})
    shutil.rmtree(work / "out", ignore_errors=True)
    if m.returncode != 0:
        raise RuntimeError(f"{name} failed ({'timed out' if m.timed_out else m.returncode}):\n{m.stderr_tail}")
    return {"wall_s": m.wall_s, "peak_rss_bytes": m.peak_rss_bytes, "timings_s": timings}


def summarise(runs: list[dict]) -> dict:
    """Medians over the runs of one contestant; phases by median of each phase."""
    walls = [r["wall_s"] for r in runs]
    phases = {k: statistics.median(r["timings_s"][k] for r in runs if k in r["timings_s"])
              for k in runs[0].get("timings_s", {})}
    return {"wall_s": statistics.median(walls), "wall_min_s": min(walls), "wall_max_s": max(walls),
            "peak_rss_bytes": statistics.median(r["peak_rss_bytes"] for r in runs), "runs": len(runs),
            "phases_s": phases}


def report(result: dict) -> str:
    """The side-by-side table and reconcile's phases, as printed."""
    s = result["contestants"]
    base = s["probe"]["wall_s"]
    lines = [f"{result['residents']:,} residents (CSV, seed {result['seed']}); median of {result['repeats']} "
             "fresh processes, one after another, interleaved", "",
             f"{'':34} {'wall s':>7} {'(min–max)':>13} {'peak RSS':>10} {'× probe':>8}"]
    for name, r in s.items():
        ratio = f"{r['wall_s'] / base:7.1f}×" if name != "start" else ""
        lines.append(f"{LABELS[name]:34} {r['wall_s']:7.2f} {r['wall_min_s']:6.2f}–{r['wall_max_s']:<6.2f} "
                     f"{r['peak_rss_bytes'] / 2**20:7.0f} MiB {ratio}")
    if "splink" in s:
        lines.append(f"reconcile is {s['splink']['wall_s'] / s['reconcile']['wall_s']:.1f}× faster than Splink "
                     f"at {s['reconcile']['peak_rss_bytes'] / s['splink']['peak_rss_bytes']:.2f}× its memory")
    for name in ("probe", "reconcile"):
        ph = s[name]["phases_s"]
        total = ph.get("total")
        lines += ["", f"{name} phases (median s, from {'summary.json' if name == 'reconcile' else 'the probe'}):"]
        lines += [f"  {k:18} {v:7.3f}" for k, v in ph.items() if k != "total"]
        if total is not None:
            lines.append(f"  {'total (in-run)':18} {total:7.3f}")
            outside = "start, imports, exit" if name == "reconcile" else "start, exit"
            lines.append(f"  {'outside the run':18} {s[name]['wall_s'] - total:7.3f}  (wall − in-run total: {outside})")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m jukimatch.bench.bench_probe", description=__doc__.split("\n\n")[0])
    ap.add_argument("--residents", type=int, default=1_000_000, help="residents in the CSV pair (default 1M)")
    ap.add_argument("--seed", type=int, default=SEED, help=f"population seed (default {SEED})")
    ap.add_argument("--repeats", type=int, default=3, help="fresh-process runs of each, median reported (default 3)")
    ap.add_argument("--splink", action="store_true", help="run Splink too (needs the bench extra; minutes at 1M)")
    ap.add_argument("--warmup-residents", type=int, default=2_000,
                    help="residents in the excluded warm-up run of each (default 2000; 0 skips it)")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds before one run is stopped")
    ap.add_argument("--data-dir", type=Path, default=RESULTS_DIR / "data", help="where the CSV pairs are cached")
    ap.add_argument("--json", type=Path, default=None, help="also write the result here")
    return ap


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--child"]:
        return _child(argv[1:])
    args = build_parser().parse_args(argv)
    from . import machine

    missing = machine.missing_modules("psutil", *(("splink",) if args.splink else ()))
    if missing:
        print(f"bench probe: {', '.join(missing)} not installed; {machine.BENCH_EXTRA}", file=sys.stderr)
        return 2

    names = ["start", "probe", "reconcile", *(["splink"] if args.splink else [])]
    print(machine.banner(), flush=True)
    data = dataset(args.residents, args.seed, args.data_dir)
    work = args.data_dir.parent / "probe-work"
    if args.warmup_residents:
        small = dataset(args.warmup_residents, args.seed, args.data_dir)
        for name in names:
            if name in ("probe", "reconcile"):  # Splink has no compiled cache to fill
                run_once(name, small, work / "warmup", args.timeout)
    runs: dict[str, list[dict]] = {n: [] for n in names}
    for i in range(args.repeats):
        for name in names:
            r = run_once(name, data, work / name, args.timeout)
            runs[name].append(r)
            print(f"  run {i + 1}/{args.repeats} {name:9} {r['wall_s']:7.2f} s  {r['peak_rss_bytes'] / 2**20:6.0f} MiB",
                  flush=True)
    shutil.rmtree(work, ignore_errors=True)
    result = {"residents": args.residents, "seed": args.seed, "repeats": args.repeats, "machine": machine.describe(),
              "contestants": {n: summarise(rs) for n, rs in runs.items()},
              "runs": runs}
    print()
    print(report(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
