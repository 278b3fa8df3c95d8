"""``jukimatch simulate plan``: how many servers for a year of requests, and how long go-live takes.

A discrete-event simulation of a whole calendar year of provision requests:

1. Arrivals, vectorised: the profiles' expected requests per hour (:func:`hourly_rates`),
   summed over requesters, give a Poisson count per hour; within its hour each request
   arrives uniformly (a non-homogeneous Poisson process with hourly steps).
2. Service times drawn from a calibration run against the real service
   (:class:`~jukimatch.sim.calibrate.Calibration`), one per request, the same draws for
   every server count (common random numbers: the comparison between counts is fair).
3. Per server count ``c``: a FIFO queue before ``c`` identical servers (one server = one
   service worker process of the calibrated kind), :func:`~jukimatch.sim.queue.fifo_waits`.
   Reported: the peak hour's load (requests/s) and utilisation, the year's utilisation, the
   p99 of waiting + service time over the year and within the peak hour. The recommendation
   is the smallest count whose p99 meets the target both over the year and in the peak hour.

The go-live estimate: the first bulk reconciliation covers every lawful mid-to-long-term and
special permanent resident; its time on K workers is ``fixed + per_row × rows / K`` with the
engine's per-row cost measured by two short reconcile runs on one thread each (or read
from a ``summary.json``), K workers each reconciling a slice on its own core.
"""
from __future__ import annotations

import datetime as dt
import json
import math
import os
import platform
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from .calibrate import Calibration
from .profiles import LoadProfile, calendar, hourly_rates, load_profiles
from .queue import fifo_waits


@dataclass
class Arrivals:
    times_s: np.ndarray  # seconds since the year's start, ascending
    per_hour: np.ndarray  # int64 counts per hour of the year
    expected_per_hour: np.ndarray  # the profiles' expected counts (summed over requesters)


def sample_arrivals(rates: np.ndarray, rng: np.random.Generator) -> Arrivals:
    """Poisson counts per hour from ``rates`` (hours × requesters, or hours), uniform times within each hour."""
    lam = rates.sum(axis=1) if rates.ndim == 2 else np.asarray(rates, dtype=np.float64)
    counts = rng.poisson(lam)
    hour = np.repeat(np.arange(len(counts), dtype=np.float64), counts)
    times = np.sort((hour + rng.random(len(hour))) * 3600.0)  # hours are disjoint: sorting keeps them apart
    return Arrivals(times, counts, lam)


def _p99(values: np.ndarray) -> float:
    if not len(values):
        return float("nan")
    k = int(np.ceil(0.99 * len(values))) - 1
    return float(np.partition(values, k)[k])


def simulate_servers(arrivals: Arrivals, service_s: np.ndarray, servers: Sequence[int], *,
                     daily_for: Sequence[int] = ()) -> list[dict[str, Any]]:
    """Queue the year's arrivals before each server count; one dict of figures per count."""
    n_hours = len(arrivals.per_hour)
    peak_hour = int(np.argmax(arrivals.per_hour))
    bounds = np.r_[0, np.cumsum(arrivals.per_hour)]
    peak = slice(int(bounds[peak_hour]), int(bounds[peak_hour + 1]))
    total_service = float(service_s.sum())
    peak_service = float(service_s[peak].sum())
    out = []
    for c in servers:
        t = time.perf_counter()
        waits = fifo_waits(arrivals.times_s, service_s, c)
        kernel_s = time.perf_counter() - t
        resp = waits + service_s
        row = {
            "servers": int(c),
            "peak_hour": peak_hour,
            "peak_hour_requests": int(arrivals.per_hour[peak_hour]),
            "peak_hour_rps": float(arrivals.per_hour[peak_hour]) / 3600.0,
            "peak_hour_utilisation": peak_service / (c * 3600.0),
            "year_utilisation": total_service / (c * n_hours * 3600.0),
            "p99_ms": _p99(resp) * 1e3,
            "peak_hour_p99_ms": _p99(resp[peak]) * 1e3,
            "mean_wait_ms": float(waits.mean()) * 1e3 if len(waits) else 0.0,
            "share_waiting": float((waits > 0).mean()) if len(waits) else 0.0,
            "max_wait_s": float(waits.max()) if len(waits) else 0.0,
            "kernel_s": round(kernel_s, 3),
        }
        if c in daily_for:
            day_bounds = bounds[::24]
            row["daily_p99_ms"] = [(_p99(resp[int(a):int(b)]) * 1e3 if b > a else 0.0)
                                   for a, b in zip(day_bounds[:-1], day_bounds[1:])]
        out.append(row)
    return out


def recommend(rows: Sequence[dict[str, Any]], target_p99_ms: float) -> int | None:
    """The smallest server count meeting the target over the year and in the peak hour."""
    ok = [r["servers"] for r in rows if r["p99_ms"] <= target_p99_ms and r["peak_hour_p99_ms"] <= target_p99_ms
          and r["peak_hour_utilisation"] < 1.0]
    return min(ok) if ok else None


# --- go-live bulk reconciliation ------------------------------------------------------

def golive_rows(residents: int) -> int:
    """Rows of the go-live bulk inquiry: the lawful mid-to-long-term and special permanent residents."""
    from jukimatch.datasets import load_profile

    pop = load_profile().population
    return int(round(residents * (pop["mid_long_term"] + pop["special_permanent"])))


def measure_reconcile_cost(sizes: Sequence[int] = (4000, 20000), *, seed: int = 7,
                           progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Per-row and fixed cost of ``jukimatch.api.reconcile`` on one thread, from runs at two sizes."""
    import numba

    from jukimatch.api import generate, reconcile

    say = progress or (lambda msg: None)
    if len(sizes) != 2 or not 0 < sizes[0] < sizes[1]:
        raise ValueError(f"give two increasing sizes, got {sizes}")
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        with tempfile.TemporaryDirectory(prefix="jukimatch-golive-") as tmp:
            runs = []
            for i, n in enumerate((min(500, sizes[0]),) + tuple(sizes)):  # the first run compiles and is dropped
                data = Path(tmp) / f"data{i}"
                made = generate(n, data, seed=seed + i)
                paths = {k: Path(v) for k, v in (made.get("paths") or {}).items()}
                say(f"reconciling {n:,} rows on one thread")
                summary = reconcile(paths.get("residents", data / "residents.parquet"),
                                    paths.get("responses", data / "responses.parquet"), Path(tmp) / f"out{i}",
                                    report=False)
                runs.append((n, float(summary["timings_s"]["total"]), summary["timings_s"]))
    finally:
        numba.set_num_threads(before)
    (n1, t1, _), (n2, t2, phases) = runs[1], runs[2]
    per_row = max((t2 - t1) / (n2 - n1), 1e-9)
    return {"source": "measured", "per_row_s": per_row, "fixed_s": max(0.0, t1 - per_row * n1),
            "runs": [{"rows": n, "total_s": t} for n, t, _ in runs[1:]], "phases_s_largest": phases}


def reconcile_cost_from_summary(path: str | Path) -> dict[str, Any]:
    """Per-row cost from a reconcile ``summary.json`` (total time over rows; no fixed part)."""
    p = Path(path)
    try:
        s = json.loads(p.read_text(encoding="utf-8"))
        rows, total = int(s["rows"]["residents_in"]), float(s["timings_s"]["total"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{p}: not a reconcile summary.json with rows and timings_s ({exc})") from None
    if rows < 1:
        raise ValueError(f"{p}: no rows")
    return {"source": str(p), "per_row_s": total / rows, "fixed_s": 0.0, "runs": [{"rows": rows, "total_s": total}],
            "phases_s_largest": s["timings_s"]}


def golive_estimate(rows: int, cost: dict[str, Any], workers: Sequence[int]) -> list[dict[str, Any]]:
    return [{"workers": int(k), "rows": rows, "minutes": (cost["fixed_s"] + cost["per_row_s"] * rows / k) / 60.0}
            for k in workers]


# --- the review queue: clerk-days ------------------------------------------------------

REVIEW_SECONDS_ASSUMED = 120.0  # per decision, when the store has measured none yet
CLERK_HOURS_PER_DAY = 6.0  # hours of a clerk's day spent deciding cases


def review_seconds(db: str | Path) -> dict[str, Any]:
    """Measured seconds per decision (median, by the case's first reason, and ``all``) from a
    workbench store, and the mix of reasons still open, to weight them."""
    from jukimatch.api.review import decision_seconds, queue_counts
    from jukimatch.api.service.store import Store

    if not Path(db).is_file():
        raise ValueError(f"{db}: no such store")
    with Store(db) as store:
        seconds = decision_seconds(store)
        mix = queue_counts(store)["by_reason"]
    return {"median_s": seconds, "open_by_reason": mix, "source": str(db)}


def review_plan(queue: int, by: dt.date, *, seconds: dict[str, Any] | None = None, start: dt.date | None = None,
                hours_per_day: float = CLERK_HOURS_PER_DAY) -> dict[str, Any]:
    """Clerk-days to clear ``queue`` review cases, and clerks needed to finish by ``by``.

    Seconds per decision: the measured medians by reason weighted by the open cases' reason
    mix (a reason never measured takes the overall median); ``REVIEW_SECONDS_ASSUMED`` when
    nothing was measured. Business days are Japanese business days from ``start`` (today).
    """
    if queue < 0:
        raise ValueError(f"the queue must not be negative, got {queue}")
    if hours_per_day <= 0:
        raise ValueError("hours per day must be positive")
    start = start or dt.date.today()
    if by <= start:
        raise ValueError(f"the date {by} must lie after {start}")
    med = (seconds or {}).get("median_s") or {}
    overall = med.get("all", REVIEW_SECONDS_ASSUMED)
    mix = {r: n for r, n in ((seconds or {}).get("open_by_reason") or {}).items() if n}
    per = (sum(n * med.get(r, overall) for r, n in mix.items()) / sum(mix.values())) if mix else overall
    business = 0
    for year in range(start.year, by.year + 1):
        days, is_business, _ = calendar(year)
        business += sum(1 for d, b in zip(days, is_business) if b and start <= d < by)
    clerk_days = queue * per / (hours_per_day * 3600.0)
    return {"queue": queue, "by": by.isoformat(), "start": start.isoformat(), "seconds_per_decision": round(per, 2),
            "measured": bool(med), "hours_per_day": hours_per_day, "clerk_days": round(clerk_days, 1),
            "business_days": business, "clerks_needed": math.ceil(clerk_days / business) if business else None}


def review_lines(r: dict[str, Any]) -> list[str]:
    return ["", f"## Review queue: {r['queue']:,} cases by {r['by']}",
            f"{r['seconds_per_decision']:.1f} s per decision ({'measured' if r['measured'] else 'assumed'}),"
            f" {r['hours_per_day']:g} h of deciding per clerk-day: **{r['clerk_days']:,} clerk-days**;"
            f" {r['business_days']} business days from {r['start']}: **{r['clerks_needed']} clerk(s)**."]


# --- the whole plan -------------------------------------------------------------------

def plan(*, residents: int, year: int, servers: Sequence[int], target_p99_ms: float, calibration: Calibration,
         seed: int = 0, profiles: Sequence[LoadProfile] | None = None) -> dict[str, Any]:
    """Simulate the year and return every figure (no files written)."""
    if residents < 1:
        raise ValueError(f"residents must be at least 1, got {residents}")
    if not servers or min(servers) < 1:
        raise ValueError("servers must be positive counts")
    profs = list(profiles if profiles is not None else load_profiles())
    rng = np.random.default_rng(seed)
    timings: dict[str, float] = {}
    t = time.perf_counter()
    rates = hourly_rates(profs, year, residents)
    arrivals = sample_arrivals(rates, rng)
    timings["arrivals_s"] = time.perf_counter() - t
    t = time.perf_counter()
    service = calibration.sample(rng, len(arrivals.times_s))
    timings["service_times_s"] = time.perf_counter() - t
    t = time.perf_counter()
    rows = simulate_servers(arrivals, service, sorted(set(int(s) for s in servers)), daily_for=())
    timings["queues_s"] = time.perf_counter() - t
    best = recommend(rows, target_p99_ms)
    t = time.perf_counter()
    shown = best if best is not None else max(servers)
    daily = simulate_servers(arrivals, service, [shown], daily_for=[shown])[0]["daily_p99_ms"]
    timings["daily_s"] = time.perf_counter() - t
    days, business, _ = calendar(year)
    per_day = arrivals.per_hour.reshape(len(days), 24)
    return {
        "residents": residents, "year": year, "target_p99_ms": target_p99_ms, "seed": seed,
        "requests": int(len(arrivals.times_s)), "expected_requests": float(rates.sum()),
        "business_days": int(business.sum()),
        "per_requester": [{"number": p.number, "requester": p.requester.requester_code,
                           "row": p.requester.ordinance_row, "yearly": float(rates[:, j].sum())}
                          for j, p in enumerate(profs)],
        "service_ms": {"mean": float(service.mean()) * 1e3, "p50": float(np.quantile(service, 0.5)) * 1e3,
                       "p99": float(np.quantile(service, 0.99)) * 1e3},
        "calibration": calibration.meta, "servers": rows, "recommended_servers": best,
        "daily": {"servers": shown, "p99_ms": daily, "requests": per_day.sum(axis=1).tolist(),
                  "peak_hour_rps": (per_day.max(axis=1) / 3600.0).tolist()},
        "timings_s": {k: round(v, 3) for k, v in timings.items()},
    }


def plot_plan(result: dict[str, Any], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = result["servers"]
    c = [r["servers"] for r in rows]
    fig, axes = plt.subplots(2, 2, figsize=(12, 8))
    ax = axes[0][0]
    ax.plot(result["daily"]["peak_hour_rps"], lw=0.8)
    ax.set_title(f"busiest hour of each day, {result['year']} ({result['residents']:,} residents)")
    ax.set_xlabel("day of year")
    ax.set_ylabel("requests/s")
    ax = axes[0][1]
    ax.semilogy(c, [max(r["p99_ms"], 1e-3) for r in rows], "o-", label="p99 over the year")
    ax.semilogy(c, [max(r["peak_hour_p99_ms"], 1e-3) for r in rows], "s-", label="p99 in the peak hour")
    ax.axhline(result["target_p99_ms"], color="red", ls="--", label="target")
    ax.set_xlabel("servers")
    ax.set_ylabel("wait + service, ms")
    ax.set_title(f"recommended: {result['recommended_servers']}")
    ax.legend()
    ax = axes[1][0]
    ax.plot(c, [r["peak_hour_utilisation"] for r in rows], "o-", label="peak hour")
    ax.plot(c, [r["year_utilisation"] for r in rows], "s-", label="year")
    ax.set_xlabel("servers")
    ax.set_ylabel("utilisation")
    ax.set_yscale("log")
    ax.legend()
    ax = axes[1][1]
    ax.plot(result["daily"]["p99_ms"], lw=0.8)
    ax.axhline(result["target_p99_ms"], color="red", ls="--")
    ax.set_title(f"daily p99 at {result['daily']['servers']} server(s)")
    ax.set_xlabel("day of year")
    ax.set_ylabel("ms")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def write_plan(result: dict[str, Any], out: Path) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "plan.json", "markdown": out / "plan.md", "plot": out / "plan.png"}
    paths["json"].write_text(json.dumps(result, indent=1, default=float), encoding="utf-8")
    plot_plan(result, paths["plot"])
    lines = [f"# Capacity plan {result['year']}, {result['residents']:,} residents",
             "", f"{platform.platform()} | {os.cpu_count()} CPUs",
             f"{result['requests']:,} requests simulated ({result['expected_requests']:,.0f} expected),"
             f" {result['business_days']} business days; service time mean {result['service_ms']['mean']:.3f} ms,"
             f" p99 {result['service_ms']['p99']:.3f} ms (calibration {result['calibration'].get('created', '?')}).",
             "", "| servers | peak hour req/s | peak-hour utilisation | year utilisation | p99 year ms |"
             " p99 peak hour ms | waiting |", "|---|---|---|---|---|---|---|"]
    for r in result["servers"]:
        lines.append(f"| {r['servers']} | {r['peak_hour_rps']:.2f} | {r['peak_hour_utilisation']:.2%} |"
                     f" {r['year_utilisation']:.3%} | {r['p99_ms']:.3f} | {r['peak_hour_p99_ms']:.3f} |"
                     f" {r['share_waiting']:.2%} |")
    best = result["recommended_servers"]
    one = result["servers"][0]
    if one["peak_hour_utilisation"] > 0:
        lines += ["", f"At {one['servers']} server(s) the peak hour uses {one['peak_hour_utilisation']:.2%} of capacity:"
                  f" the load could grow about {1 / one['peak_hour_utilisation']:,.0f}x before"
                  f" {one['servers']} server(s) saturate in that hour (hourly averages; sub-hour bursts not modelled)."]
    lines += ["", f"**Recommended: {best} server(s)** (smallest count with p99 <= {result['target_p99_ms']} ms over"
              " the year and in the peak hour)." if best else
              f"**No count tried meets p99 <= {result['target_p99_ms']} ms.**"]
    if "golive" in result:
        g = result["golive"]
        lines += ["", f"## Go-live bulk reconciliation: {g['rows']:,} rows",
                  f"per-row cost {g['cost']['per_row_s'] * 1e6:.1f} µs, fixed {g['cost']['fixed_s']:.1f} s"
                  f" ({g['cost']['source']}; one thread per worker)", "", "| workers | minutes |", "|---|---|"]
        lines += [f"| {e['workers']} | {e['minutes']:.1f} |" for e in g["estimates"]]
    if "review" in result:
        lines += review_lines(result["review"])
    lines += ["", f"timings: {json.dumps(result['timings_s'])}"]
    paths["markdown"].write_text("\n".join(lines) + "\n", encoding="utf-8")
    return paths
