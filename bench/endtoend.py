"""End-to-end runs: jukimatch beside Splink and a pandas + rapidfuzz baseline, same data, one run.

For each size: generate the population once (seeded, cached under the results folder), then
run every contestant in a process of its own, one after another, repetitions interleaved
(J, S, P, J, S, P, ...) so that the machine's drift spreads over all of them. Wall time and
peak memory of the process tree come from :mod:`jukimatch.bench.measure`; every contestant's
``decisions.parquet`` is scored by :func:`jukimatch.datasets.score.score` against the same
truth. Before any measured run each contestant runs once on a tiny population (warm-up,
excluded): Numba's on-disk cache of jukimatch's kernels is then compiled, and every library
has been imported once (bytecode caches, OS file cache).
"""
from __future__ import annotations

import json
import math
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from . import machine
from .measure import run_measured

DEFAULT_SIZES = (100_000, 1_000_000)
DEFAULT_CONTESTANTS = ("jukimatch", "splink", "pandas")
PEERS = ("splink", "pandas")
LABELS = {"jukimatch": "jukimatch", "splink": "Splink 5 + DuckDB", "pandas": "pandas + rapidfuzz"}
RESULTS_DIR = Path(__file__).resolve().parent / "results"
METRICS = ("wrong_numbers", "numbers_to_two_persons", "auto_recall", "review_rate", "unanswered_pending")


@dataclass
class Config:
    sizes: tuple[int, ...] = DEFAULT_SIZES
    contestants: tuple[str, ...] = DEFAULT_CONTESTANTS
    peer_max_size: int = 1_000_000  # above this, jukimatch alone (the scaling curve)
    repeats: int | None = None  # None: 3 for sizes <= 100k, 1 above
    seed: int = 20270319  # population seed
    contestant_seed: int = 42  # Splink's u sampling seed
    warmup_size: int = 2_000
    timeout_s: float = 4 * 3600
    results_dir: Path = RESULTS_DIR
    data_dir: Path | None = None  # default: results_dir / "data"
    keep_outputs: bool = False
    log: object = field(default=lambda *a: print(*a, flush=True), repr=False)

    def repeats_for(self, size: int) -> int:
        if self.repeats is not None:
            return max(1, self.repeats)
        return 3 if size <= 100_000 else 1

    def contestants_for(self, size: int) -> list[str]:
        return [c for c in self.contestants if c == "jukimatch" or size <= self.peer_max_size]


# --- data ------------------------------------------------------------------------------

_GENERATE = (
    "import json, sys\n"
    "from jukimatch.api import generate\n"
    "r = generate(int(sys.argv[1]), sys.argv[2], seed=int(sys.argv[3]), fmt='parquet')\n"
    "print(json.dumps(r, default=str))\n"
)


def generator_fingerprint() -> str:
    """A hash of the generator's sources and profiles: cached populations are reused only
    while it is unchanged, so every contestant of a run always sees one population."""
    import hashlib

    import jukimatch.datasets

    h = hashlib.sha256()
    root = Path(jukimatch.datasets.__file__).parent
    for f in sorted([*root.rglob("*.py"), *root.rglob("*.toml")]):
        h.update(f.relative_to(root).as_posix().encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def dataset(size: int, seed: int, data_dir: Path, log=print) -> dict:
    """Generated residents/responses/truth for ``size`` and ``seed``, cached on disk."""
    folder = data_dir / f"n{size}_seed{seed}"
    done = folder / "bench-complete.json"
    fingerprint = generator_fingerprint()
    if done.exists():
        cached = json.loads(done.read_text())
        if cached.get("generator") == fingerprint:
            return cached
        log(f"  the generator changed since {folder} was made: generating again")
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    log(f"  generating {size:,} residents (seed {seed}) into {folder} ...")
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _GENERATE, str(size), str(folder), str(seed)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"generating {size} residents failed:\n{proc.stderr[-3000:]}")
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    paths = {k: str(report.get("paths", {}).get(k, folder / f"{k}.parquet")) for k in ("residents", "responses", "truth")}
    for k, p in paths.items():
        if not Path(p).exists():
            raise RuntimeError(f"the generator wrote no {p}")
    import pyarrow.parquet as pq

    info = {"size": size, "seed": seed, "paths": paths, "generate_s": round(time.perf_counter() - t, 2),
            "rows": {k: pq.ParquetFile(p).metadata.num_rows for k, p in paths.items()},
            "cases": report.get("cases"), "profile": report.get("profile"), "generator": fingerprint}
    done.write_text(json.dumps(info, indent=2))
    return info


# --- one run ---------------------------------------------------------------------------

def run_once(name: str, data: dict, work: Path, cfg: Config) -> dict:
    """Run contestant ``name`` on ``data`` in its own process; measure and score it."""
    import pyarrow.parquet as pq

    from jukimatch.datasets.score import score

    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    out = work / "out"
    argv = [sys.executable, "-m", "jukimatch.bench.contestants", name,
            "--residents", data["paths"]["residents"], "--responses", data["paths"]["responses"],
            "--out", str(out), "--result", str(work / "result.json"), "--seed", str(cfg.contestant_seed)]
    m = run_measured(argv, result_path=work / "result.json", timeout=cfg.timeout_s, log_path=work / "log.txt")
    rec = {"contestant": name, **m.to_dict()}
    decisions = out / "decisions.parquet"
    if m.returncode == 0 and decisions.exists():
        table = pq.read_table(decisions)
        truth = pq.read_table(data["paths"]["truth"])
        s = score(table, truth)
        rec["score"] = s
        rec["rows_ok"] = table.num_rows == data["rows"]["residents"]
        rec["ok"] = True
    else:
        rec["ok"] = False
        rec["error"] = "timed out" if m.timed_out else (m.stderr_tail or f"exit status {m.returncode}")
    if rec["ok"] and not cfg.keep_outputs:
        shutil.rmtree(out, ignore_errors=True)
    return rec


def summarise(runs: list[dict]) -> dict:
    """Median wall time and peak memory over repeats; accuracy of the first run (deterministic)."""
    ok = [r for r in runs if r["ok"]]
    if not ok:
        return {"ok": False, "repeats": len(runs), "error": runs[-1].get("error") if runs else "not run"}
    first = ok[0]["score"]
    same = all({k: r["score"][k] for k in METRICS} == {k: first[k] for k in METRICS} for r in ok)
    return {
        "ok": True,
        "repeats": len(ok),
        "wall_s": statistics.median(r["wall_s"] for r in ok),
        "wall_s_all": [round(r["wall_s"], 3) for r in ok],
        "work_s": statistics.median(r["child"].get("work_s", math.nan) for r in ok),
        "peak_rss_bytes": int(statistics.median(r["peak_rss_bytes"] for r in ok)),
        "peak_rss_bytes_all": [r["peak_rss_bytes"] for r in ok],
        "phases_s": ok[0]["child"].get("timings_s", {}),
        "pairs": ok[0]["child"].get("pairs"),
        "rows_ok": all(r["rows_ok"] for r in ok),
        "accuracy_identical_across_repeats": same,
        **{k: first[k] for k in METRICS},
        "by_case": first["by_case"],
        "config": ok[0]["child"].get("config"),
    }


# --- the whole benchmark -----------------------------------------------------------------

def source_stamp() -> float:
    """Latest modification time of jukimatch's own Python sources (engine, api, datasets).

    If it moves during a benchmark, Numba's on-disk cache was invalidated and a run may
    have included JIT compilation: the result says so and the run should be repeated.
    """
    import jukimatch.api
    import jukimatch.datasets
    import jukimatch.engine

    latest = 0.0
    for pkg in (jukimatch.engine, jukimatch.api, jukimatch.datasets):
        for f in Path(pkg.__file__).parent.rglob("*.py"):
            try:
                latest = max(latest, f.stat().st_mtime)
            except OSError:
                pass
    return latest


def slope(xs: list[float], ys: list[float]) -> float | None:
    """Least-squares slope of log(y) on log(x): 1.0 is linear growth."""
    pts = [(math.log(x), math.log(y)) for x, y in zip(xs, ys) if x > 0 and y and y > 0]
    if len(pts) < 2:
        return None
    mx = sum(p[0] for p in pts) / len(pts)
    my = sum(p[1] for p in pts) / len(pts)
    sxx = sum((p[0] - mx) ** 2 for p in pts)
    if sxx == 0:
        return None
    return sum((p[0] - mx) * (p[1] - my) for p in pts) / sxx


def run(cfg: Config) -> dict:
    log = cfg.log
    info = machine.describe()
    log(machine.banner(info))
    data_dir = cfg.data_dir or cfg.results_dir / "data"
    runs_dir = cfg.results_dir / "runs"
    started = datetime.now(timezone.utc)
    result = {
        "started_utc": started.isoformat(timespec="seconds"),
        "machine": info,
        "seeds": {"population": cfg.seed, "splink_u_sampling": cfg.contestant_seed},
        "method": {
            "isolation": "each run in its own Python process, started and measured by the parent",
            "wall_time": "parent's monotonic clock from spawn to exit (interpreter start and imports included)",
            "peak_memory": "max of the process tree's summed RSS sampled every 20 ms with psutil, and the child's ru_maxrss",
            "warm_up": f"every contestant ran once on {cfg.warmup_size:,} residents before any measured run "
                       "(excluded): jukimatch's Numba cache compiled, libraries imported once",
            "repeats": "3 per contestant for sizes <= 100k, 1 above (unless --repeats); median reported; "
                       "repetitions interleaved across contestants",
            "scoring": "jukimatch.datasets.score.score on each contestant's decisions.parquet, same truth",
        },
        "warmup": {},
        "sizes": {},
        "warnings": [],
    }
    stamp = source_stamp()

    if cfg.warmup_size <= 0:
        result["method"]["warm_up"] = "none (--warmup-size 0): first runs may include JIT compilation and cold caches"
        log("\nwarm-up skipped (--warmup-size 0)")
    else:
        log(f"\nwarm-up (excluded): {cfg.warmup_size:,} residents")
    warm = dataset(cfg.warmup_size, cfg.seed, data_dir, log) if cfg.warmup_size > 0 else None
    for name in (cfg.contestants if warm else ()):
        r = run_once(name, warm, runs_dir / "warmup" / name, cfg)
        result["warmup"][name] = {"ok": r["ok"], "wall_s": round(r["wall_s"], 3), "error": r.get("error")}
        log(f"  {name:<10} {r['wall_s']:8.2f} s" + ("" if r["ok"] else f"  FAILED: {r.get('error')}"))

    for size in cfg.sizes:
        log(f"\n== {size:,} residents ==")
        data = dataset(size, cfg.seed, data_dir, log)
        names = cfg.contestants_for(size)
        reps = cfg.repeats_for(size)
        load_before = _load()
        per: dict[str, list[dict]] = {n: [] for n in names}
        for k in range(reps):
            for name in names:
                r = run_once(name, data, runs_dir / f"n{size}" / name / f"rep{k}", cfg)
                per[name].append(r)
                msg = (f"  {name:<10} rep {k + 1}/{reps}: {r['wall_s']:8.2f} s, "
                       f"peak {r['peak_rss_bytes'] / 2**20:8.1f} MiB")
                if r["ok"]:
                    s = r["score"]
                    msg += (f", wrong {s['wrong_numbers']}, two-persons {s['numbers_to_two_persons']}, "
                            f"recall {s['auto_recall']:.4f}, review {s['review_rate']:.4f}")
                else:
                    msg += f"  FAILED: {r.get('error')}"
                log(msg)
        result["sizes"][str(size)] = {
            "data": data,
            "repeats": reps,
            "load_average_1min": {"before": load_before, "after": _load()},
            "contestants": {n: summarise(per[n]) for n in names},
            "runs": {n: [_slim(r) for r in per[n]] for n in names},
        }
        result["sizes"][str(size)]["ratios"] = ratios(result["sizes"][str(size)]["contestants"])
        now = source_stamp()
        if now != stamp:
            msg = (f"jukimatch's source files changed during the {size:,} runs: Numba may have recompiled its "
                   "kernels inside measured runs; repeat the benchmark on a quiet tree")
            result["warnings"].append(msg)
            log("  WARNING: " + msg)
            stamp = now

    result["scaling"] = scaling(result)
    result["finished_utc"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return result


def _load() -> float | None:
    """The machine's 1-minute load average (other users' work shows here), if known."""
    try:
        import os

        return round(os.getloadavg()[0], 2)
    except (OSError, AttributeError):
        return None


def _slim(r: dict) -> dict:
    keep = ("ok", "wall_s", "peak_rss_bytes", "sampled_tree_peak_bytes", "child_maxrss_bytes", "samples",
            "timed_out", "error", "returncode")
    out = {k: r.get(k) for k in keep if k in r}
    out["work_s"] = r.get("child", {}).get("work_s")
    return out


def ratios(contestants: dict) -> dict:
    """jukimatch / peer for wall time and peak memory (below 1: jukimatch is cheaper)."""
    j = contestants.get("jukimatch")
    out = {}
    if not j or not j.get("ok"):
        return out
    for peer in PEERS:
        p = contestants.get(peer)
        if p and p.get("ok"):
            out[peer] = {"wall_time": j["wall_s"] / p["wall_s"], "peak_memory": j["peak_rss_bytes"] / p["peak_rss_bytes"]}
    return out


def scaling(result: dict) -> dict:
    """Log-log slopes of time and memory against size, per contestant with >= 2 sizes."""
    out = {}
    for name in DEFAULT_CONTESTANTS:
        pts = [(int(n), s["contestants"][name]) for n, s in result["sizes"].items()
               if name in s["contestants"] and s["contestants"][name].get("ok")]
        if len(pts) < 2:
            continue
        pts.sort()
        xs = [n for n, _ in pts]
        out[name] = {
            "sizes": xs,
            "wall_s": [c["wall_s"] for _, c in pts],
            "peak_rss_bytes": [c["peak_rss_bytes"] for _, c in pts],
            "time_slope": slope(xs, [c["wall_s"] for _, c in pts]),
            "work_time_slope": slope(xs, [c["work_s"] for _, c in pts]),
            "memory_slope": slope(xs, [c["peak_rss_bytes"] for _, c in pts]),
        }
    return out


# --- output ------------------------------------------------------------------------------

def _mib(b: float) -> str:
    return f"{b / 2**20:,.0f}"


def markdown(result: dict) -> str:
    info = result["machine"]
    c = info["cores"]
    v = info["versions"]
    lines = [
        f"Machine: {info['cpu']}, {c['logical']} logical cores ({c['usable']} usable), "
        + (f"{info['memory_bytes'] / 2**30:.0f} GiB RAM" if info.get("memory_bytes") else "RAM unknown")
        + f"; {info['platform']}.",
        "Versions: " + ", ".join(f"{k} {v[k]}" for k in ("python", "jukimatch", "numpy", "numba", "pyarrow",
                                                          "splink", "duckdb", "pandas", "rapidfuzz") if v.get(k)) + ".",
        f"Seeds: population {result['seeds']['population']}, Splink u sampling {result['seeds']['splink_u_sampling']}.",
        f"Warm-up (excluded): {result['method']['warm_up']}. Wall time includes interpreter start and imports "
        "for every contestant; memory is the peak resident set of the process tree.",
        "",
    ]
    for w in result.get("warnings", []):
        lines += [f"**Warning:** {w}.", ""]
    for size, s in result["sizes"].items():
        la = s.get("load_average_1min") or {}
        lines += [f"### {int(size):,} residents ({s['data']['rows']['responses']:,} response rows; "
                  f"median of {s['repeats']} run{'s' if s['repeats'] > 1 else ''}; "
                  f"1-min load average {la.get('before')} before, {la.get('after')} after)", "",
                  "| contestant | wall time (s) | peak memory (MiB) | wrong numbers | numbers to two persons "
                  "| automatic recall | review rate | unanswered pending | every run (s) |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
        for name, cs in s["contestants"].items():
            if not cs.get("ok"):
                lines.append(f"| {LABELS[name]} | failed: {str(cs.get('error', ''))[:60]} | | | | | | | |")
                continue
            lines.append(
                f"| {LABELS[name]} | {cs['wall_s']:,.1f} | {_mib(cs['peak_rss_bytes'])} | {cs['wrong_numbers']:,} "
                f"| {cs['numbers_to_two_persons']:,} | {cs['auto_recall']:.4f} | {cs['review_rate']:.4f} "
                f"| {cs['unanswered_pending']:.4f} | {', '.join(f'{w:.1f}' for w in cs['wall_s_all'])} |")
        for peer, r in s.get("ratios", {}).items():
            lines.append(f"| *jukimatch / {LABELS[peer]}* | *{r['wall_time']:.2f}×* | *{r['peak_memory']:.2f}×* "
                         "| | | | | | |")
        lines.append("")
    if result.get("scaling"):
        lines += ["### Scaling (log-log slope of cost against residents; 1.0 = linear)", "",
                  "| contestant | sizes | wall time (s) | peak memory (MiB) | time slope | memory slope |",
                  "|---|---|---|---|---:|---:|"]
        for name, sc in result["scaling"].items():
            ts = "n/a" if sc["time_slope"] is None else f"{sc['time_slope']:.2f}"
            ms = "n/a" if sc["memory_slope"] is None else f"{sc['memory_slope']:.2f}"
            lines.append(f"| {LABELS[name]} | {' → '.join(f'{n:,}' for n in sc['sizes'])} "
                         f"| {' → '.join(f'{t:,.1f}' for t in sc['wall_s'])} "
                         f"| {' → '.join(_mib(b) for b in sc['peak_rss_bytes'])} | {ts} | {ms} |")
        lines.append("")
    return "\n".join(lines)


def plot(result: dict, path: Path) -> Path | None:
    """Time and memory against size, log-log, one line per contestant (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    series = {}
    for size, s in result["sizes"].items():
        for name, cs in s["contestants"].items():
            if cs.get("ok"):
                series.setdefault(name, []).append((int(size), cs["wall_s"], cs["peak_rss_bytes"] / 2**20))
    if not series:
        return None
    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(10, 4.2), constrained_layout=True)
    markers = {"jukimatch": "o", "splink": "s", "pandas": "^"}
    for name, pts in series.items():
        pts.sort()
        xs = [p[0] for p in pts]
        ax_t.plot(xs, [p[1] for p in pts], marker=markers.get(name, "o"), label=LABELS[name])
        ax_m.plot(xs, [p[2] for p in pts], marker=markers.get(name, "o"), label=LABELS[name])
    for ax, title, unit in ((ax_t, "wall time", "seconds"), (ax_m, "peak memory (process tree RSS)", "MiB")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("residents")
        ax.set_ylabel(unit)
        ax.set_title(title)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: f"{v:g}" if str(f"{v:g}")[0] in "2345" else ""))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    info = result["machine"]
    fig.suptitle(f"jukimatch bench — {info['cpu']}, {info['cores']['usable']} cores", fontsize=10)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def save(result: dict, results_dir: Path) -> dict[str, Path]:
    results_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    base = results_dir / f"bench-{stamp}"
    paths = {"json": base.with_suffix(".json"), "markdown": base.with_suffix(".md"), "png": base.with_suffix(".png")}
    paths["json"].write_text(json.dumps(result, indent=2, default=str))
    paths["markdown"].write_text(markdown(result))
    if plot(result, paths["png"]) is None:
        del paths["png"]
    for kind, p in paths.items():
        shutil.copyfile(p, results_dir / f"latest{p.suffix}")
    return paths
