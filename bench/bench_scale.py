"""The go-live question: how long does the bulk reconciliation take, on one and two workers?

``python -m jukimatch.bench.bench_scale`` times ``jukimatch reconcile`` end to end (read →
write, report excluded) on generated data, each configuration in a fresh process (so a
run pays its own start-up, as a user's does), and prints one JSON document:

- ``local``: the local backend, Numba on every core (the reference; the whole input at once
  unless it would not fit the memory available);
- ``local-turns``: the local backend over hash partitions of about 1M residents taken in
  turn (``--partitions``): memory set by a partition, not the input;
- ``dask-1w``: the Dask backend on a LocalCluster of one worker process (all cores);
- ``dask-2w``: two worker processes, one core each;
- ``dask-1w-1t``: one worker process, the whole run pinned to one core (CPU affinity) — the
  per-core cost the capacity planner (``sim/planner.py``) multiplies out to K workers.

Per configuration (the median of ``--repeat`` runs): wall seconds (including the cluster's
start-up), CPU seconds, the reconcile's own phase timings, peak RSS of the driver, rows per second and **seconds per row**. The file
given with ``--cost-out`` is shaped like a reconcile ``summary.json`` (``rows.residents_in``,
``timings_s.total``) plus ``per_row_s`` and ``fixed_s`` fitted from two sizes, so that
``jukimatch simulate plan --reconcile-summary FILE`` reads it as it is.

Examples::

    python -m jukimatch.bench.bench_scale                          # 1M (generated if missing)
    python -m jukimatch.bench.bench_scale --ten-million            # + 10M (opt-in: minutes)
    python -m jukimatch.bench.bench_scale --configs local,dask-2w --sizes 200000
    python -m jukimatch.bench.bench_scale --configs local --sizes 1000000 --ten-million --repeat 3
    python -m jukimatch.bench.bench_scale --configs local,local-turns --sizes 10000000   # memory bound

Seeded; prints the machine. Speed is measured here, never asserted in tests.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

CONFIGS = {
    "local": {"backend": "local"},
    "local-turns": {"backend": "local", "in_turn": True},
    "dask-1w": {"backend": "dask", "workers": 1},
    "dask-2w": {"backend": "dask", "workers": 2},
    "dask-1w-1t": {"backend": "dask", "workers": 1, "threads": 1, "cpus": 1},
}
SEED = 3

_RUNNER = r"""
import json, os, resource, sys, time
cfg = json.loads(sys.argv[1])
if cfg.get("cpus"):  # the driver and the worker processes it starts share these cores only
    os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[: cfg["cpus"]]))
t0 = time.perf_counter()
from jukimatch.engine.reconcile.pipeline import Options, run
opts = Options(report=False, backend=cfg["backend"], checkpoint=True, partitions=cfg.get("partitions"))
scheduler = None
if cfg["backend"] == "dask":
    from dask.distributed import LocalCluster
    import logging
    cpus = os.cpu_count() or 1
    threads = cfg.get("threads") or max(1, cpus // cfg["workers"])
    t_c = time.perf_counter()
    cluster = LocalCluster(n_workers=cfg["workers"], threads_per_worker=1, processes=True, dashboard_address=":0",
                           silence_logs=logging.ERROR, env={"NUMBA_NUM_THREADS": str(threads)})
    cluster_s = time.perf_counter() - t_c
    opts.scheduler = cluster.scheduler_address
    opts.partitions = 2 * cfg["workers"]
else:
    cluster_s = 0.0
    if cfg.get("threads"):
        import numba
        numba.set_num_threads(cfg["threads"])
t_run = time.perf_counter()
s = run(cfg["residents"], cfg["responses"], cfg["out"], opts)
run_s = time.perf_counter() - t_run
if cfg["backend"] == "dask":
    cluster.close()
ru = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"wall_s": time.perf_counter() - t0, "cluster_start_s": cluster_s, "run_s": run_s,
                  "cpu_s": ru.ru_utime + ru.ru_stime,
                  "timings_s": s["timings_s"], "rows": s["rows"]["residents_in"], "decisions": s["decisions"],
                  "peak_rss_driver_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _data(n: int, root: Path) -> tuple[Path, Path]:
    folder = root / f"n{n}"
    res, resp = folder / "residents.parquet", folder / "responses.parquet"
    if not (res.exists() and resp.exists()):
        print(f"generating {n:,} residents into {folder} (seed {SEED})", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "jukimatch.api.cli", "generate", "--residents", str(n), "--out",
                        str(folder), "--seed", str(SEED)], check=True, stdout=subprocess.DEVNULL)
    return res, resp


def _run(config: str, res: Path, resp: Path, out: Path, n: int) -> dict:
    cfg = dict(CONFIGS[config], residents=str(res), responses=str(resp), out=str(out))
    if cfg.pop("in_turn", False):
        from jukimatch.engine.io import turns_for

        cfg["partitions"] = turns_for(n)  # about 1M residents a partition, as a run would choose
    p = subprocess.run([sys.executable, "-c", _RUNNER, json.dumps(cfg)], capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{config}: {p.stderr.strip().splitlines()[-1] if p.stderr.strip() else p.returncode}")
    r = json.loads(p.stdout.strip().splitlines()[-1])
    r["seconds_per_row"] = r["wall_s"] / r["rows"]
    r["rows_per_s"] = r["rows"] / r["wall_s"]
    return r


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m jukimatch.bench.bench_scale", description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1000000", help="comma-separated resident counts (default 1000000)")
    ap.add_argument("--ten-million", action="store_true", help="add 10,000,000 (opt-in: generation and runs take minutes)")
    ap.add_argument("--configs", default=",".join(CONFIGS), help=f"subset of {','.join(CONFIGS)}")
    ap.add_argument("--data-dir", default=os.environ.get("JUKIMATCH_BENCH_DATA", "/tmp/jukimatch-bench-scale"),
                    help="generated inputs are kept here and reused")
    ap.add_argument("--small", type=int, default=100_000, help="second size for the fixed/per-row split (planner)")
    ap.add_argument("--cost-out", help="write the planner's cost file here (summary.json-shaped)")
    ap.add_argument("--out", help="write the full JSON result here too")
    ap.add_argument("--repeat", type=int, default=1, help="runs per size and configuration; the median is reported")
    args = ap.parse_args(argv)
    from .machine import banner, describe

    sizes = sorted({int(float(s)) for s in args.sizes.split(",") if s.strip()} | ({10_000_000} if args.ten_million else set()))
    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    for c in configs:
        if c not in CONFIGS:
            ap.error(f"unknown config {c!r}; choose from {', '.join(CONFIGS)}")
    root = Path(args.data_dir)
    root.mkdir(parents=True, exist_ok=True)
    result = {"machine": describe(), "seed": SEED, "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "runs": []}
    print(banner(result["machine"]), file=sys.stderr)
    for n in sizes:
        res, resp = _data(n, root)
        for c in configs:
            tries = []
            for _ in range(max(1, args.repeat)):
                tries.append(_run(c, res, resp, root / "out" / f"{c}-{n}", n))
                t = tries[-1]
                print(f"{n:>11,} {c:<11} {t['wall_s']:7.2f} s wall  {t['cpu_s']:7.2f} s cpu  "
                      f"{t['peak_rss_driver_mib']:8,.0f} MiB  (cluster {t['cluster_start_s']:.1f} s, "
                      f"reconcile {t['timings_s']['total']:.2f} s)  {t['seconds_per_row'] * 1e6:6.2f} µs/row",
                      file=sys.stderr)
            r = dict(sorted(tries, key=lambda t: t["wall_s"])[len(tries) // 2])  # the median run
            r.update(config=c, residents=n, repeats=len(tries), wall_s_all=[t["wall_s"] for t in tries],
                     cpu_s_all=[t["cpu_s"] for t in tries], peak_rss_mib_max=max(t["peak_rss_driver_mib"] for t in tries))
            result["runs"].append(r)
    local = {r["residents"]: r for r in result["runs"] if r["config"] == "local"}
    if len(local) >= 2:  # linear? per-row cost of the largest size over the smallest
        lo, hi = local[min(local)], local[max(local)]
        result["growth"] = {"sizes": [min(local), max(local)],
                            "per_row_ratio_wall": hi["seconds_per_row"] / lo["seconds_per_row"],
                            "per_row_ratio_cpu": (hi["cpu_s"] / hi["rows"]) / (lo["cpu_s"] / lo["rows"])}
        print(f"per-row cost {max(local):,} vs {min(local):,}: wall x{result['growth']['per_row_ratio_wall']:.2f}, "
              f"cpu x{result['growth']['per_row_ratio_cpu']:.2f} (1.00 = linear)", file=sys.stderr)
    if args.cost_out and "dask-1w-1t" in configs:
        big = max(sizes)
        rb = next(r for r in result["runs"] if r["config"] == "dask-1w-1t" and r["residents"] == big)
        res_s, resp_s = _data(args.small, root)
        rs = _run("dask-1w-1t", res_s, resp_s, root / "out" / f"dask-1w-1t-{args.small}")
        per_row = max((rb["wall_s"] - rs["wall_s"]) / (big - args.small), 1e-9)
        cost = {
            "rows": {"residents_in": big},
            "timings_s": {"total": rb["wall_s"]},
            "per_row_s": per_row,
            "fixed_s": max(0.0, rs["wall_s"] - per_row * args.small),
            "source": f"bench_scale dask-1w-1t (one worker, one core) at {args.small:,} and {big:,} residents",
            "machine": result["machine"],
        }
        Path(args.cost_out).write_text(json.dumps(cost, indent=2))
        result["planner_cost"] = cost
        print(f"planner cost: {per_row * 1e6:.2f} µs/row per core, fixed {cost['fixed_s']:.1f} s -> {args.cost_out}",
              file=sys.stderr)
    text = json.dumps(result, indent=2, default=str)
    if args.out:
        Path(args.out).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
