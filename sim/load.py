"""``jukimatch simulate load``: Locust headless against the inquiry service, then a report.

Locust runs as a child process (``python -m locust -f sim/locustfile.py --headless --csv
...``) against a :class:`~jukimatch.sim.service.LocalService` on loopback, or against
``--host``. Afterwards its CSV statistics are read back and the store is asked what it
recorded: the provision records of the run, by status, must equal Locust's counts
(permitted requests = provided + held, deliberate refusals = forbidden). The report
(``report.html`` with plots, ``report.json``) shows throughput, p50/p95/p99 over time,
failures by kind and refusals.
"""
from __future__ import annotations

import csv
import json
import os
import platform
import resource
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

from .mix import NAMES, OK, REFUSED_KIND, REFUSED_ROW
from .service import LocalService, Target

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
PREFIX = "locust"


def _machine() -> str:
    return f"{platform.platform()} | Python {platform.python_version()} | {os.cpu_count()} CPUs"


def _cpu_s(pid: int | None) -> float | None:
    """User + system CPU seconds of a live process (Linux /proc), None if unknown."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def run_locust(target: Target, out: Path, *, users: int, duration_s: float, shape: str = "day",
               user_rate: float = 0.0, processes: int = 1, seed: int = 0, stop_timeout_s: float = 10.0) -> dict:
    """Run Locust headless; returns how it ended. Bounded: the shape stops it, a timeout kills it."""
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "JUKIMATCH_TOKENS": str(target.tokens_file), "JUKIMATCH_SUBJECTS": str(target.subjects_file),
           "JUKIMATCH_SHAPE": shape, "JUKIMATCH_PEAK_USERS": str(users), "JUKIMATCH_DURATION_S": str(duration_s),
           "JUKIMATCH_USER_RATE": str(user_rate), "JUKIMATCH_SEED": str(seed), "JUKIMATCH_HOST": target.url}
    cmd = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", target.url,
           "--csv", str(out / PREFIX), "--csv-full-history", "--json-file", str(out / f"{PREFIX}_final"), "--stop-timeout", f"{int(stop_timeout_s)}s",
           "--loglevel", "WARNING", "--logfile", str(out / "locust.log"), "--exit-code-on-error", "0"]
    if shape == "none":
        cmd += ["-u", str(users), "-r", str(max(1, users // 2)), "-t", f"{int(duration_s)}s"]
    if processes > 1:
        cmd += ["--processes", str(processes)]
    t0 = time.time()
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    service_before = _cpu_s(target.pid)
    with open(out / "locust.stdout", "wb") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        try:
            code = proc.wait(timeout=duration_s + stop_timeout_s + 120)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)  # the group started just above
            proc.wait(10)
            raise RuntimeError(f"Locust did not stop within {duration_s + stop_timeout_s + 120:.0f}s") from None
    if code not in (0, 1):
        tail = (out / "locust.stdout").read_text(errors="replace")[-2000:]
        raise RuntimeError(f"Locust exited with status {code}:\n{tail}")
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    service_after = _cpu_s(target.pid)
    cpu = {"locust_cpu_s": round(children.ru_utime + children.ru_stime - children_before.ru_utime
                                 - children_before.ru_stime, 2),
           "service_cpu_s": (round(service_after - service_before, 2)
                             if service_before is not None and service_after is not None else None)}
    return {"exit_code": code, "wall_s": round(time.time() - t0, 2), "command": cmd, **cpu}


def _read_csv(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        return []
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _num(value: str | None) -> float:
    try:
        return float(value) if value not in (None, "", "N/A") else float("nan")
    except ValueError:
        return float("nan")


def _percentile(hist: dict[float, int], q: float) -> float:
    """Locust's way: the smallest recorded (rounded) time with at least ``q`` of the requests at or below it."""
    total = sum(hist.values())
    if not total:
        return float("nan")
    need, seen = q * total, 0
    for ms in sorted(hist):
        seen += hist[ms]
        if seen >= need:
            return ms
    return max(hist)


def locust_counts(out: Path) -> dict[str, Any]:
    """Requests, failures and percentiles per name and overall, from Locust's final ``--json-file``.

    Locust's CSV writer samples once a second and is not rewritten after the users' last
    requests finish; the JSON file is written after the runner has stopped, so its counts
    are final (the CSV history still feeds the time series).
    """
    entries = json.loads((out / f"{PREFIX}_final.json").read_text(encoding="utf-8"))
    by_name = {e["name"]: e for e in entries}
    hist: dict[float, int] = {}
    for e in entries:
        for ms, n in e["response_times"].items():
            hist[float(ms)] = hist.get(float(ms), 0) + n
    n_req = sum(e["num_requests"] for e in entries)
    start = min((e["start_time"] for e in entries), default=0.0)
    last = max((e["last_request_timestamp"] or 0.0 for e in entries), default=0.0)

    def count(key: str, col: str) -> int:
        return int(by_name.get(NAMES[key], {}).get(col, 0))

    return {
        "requests": n_req, "failures": sum(e["num_failures"] for e in entries),
        "permitted": count(OK, "num_requests"), "permitted_failures": count(OK, "num_failures"),
        "refused_row": count(REFUSED_ROW, "num_requests"), "refused_kind": count(REFUSED_KIND, "num_requests"),
        "refusal_failures": count(REFUSED_ROW, "num_failures") + count(REFUSED_KIND, "num_failures"),
        "seconds": round(last - start, 2), "requests_per_s": n_req / (last - start) if last > start else float("nan"),
        "p50_ms": _percentile(hist, 0.50), "p95_ms": _percentile(hist, 0.95), "p99_ms": _percentile(hist, 0.99),
        "max_ms": max((e["max_response_time"] for e in entries), default=float("nan")),
        "mean_ms": sum(e["total_response_time"] for e in entries) / n_req if n_req else float("nan"),
    }


def store_counts(db: Path, after_id: int = 0) -> dict[str, int]:
    """Provision records after ``after_id`` by status, read from the store file (read-only)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT status, count(*) FROM provision_records WHERE id > ? GROUP BY status",
                            (after_id,)).fetchall()
    finally:
        conn.close()
    return {s: int(n) for s, n in rows}


def store_counts_http(target: Target, after_id: int = 0) -> dict[str, int]:
    """The same through the auditor's API, for a service whose store is not readable here."""
    import httpx

    token = target.tokens().get("auditor")
    if not token:
        raise RuntimeError(f"{target.tokens_file}: no auditor token to read the provision records with")
    counts: dict[str, int] = {}
    with httpx.Client(base_url=target.url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
        while True:
            r = client.get("/v1/provision-records", params={"after": after_id, "limit": 1000})
            r.raise_for_status()
            page = r.json()["records"]
            if not page:
                return counts
            for rec in page:
                counts[rec["status"]] = counts.get(rec["status"], 0) + 1
            after_id = page[-1]["id"]


def last_record_id(target: Target) -> int:
    if target.db is not None:
        conn = sqlite3.connect(f"file:{target.db}?mode=ro", uri=True)
        try:
            return int(conn.execute("SELECT coalesce(max(id), 0) FROM provision_records").fetchone()[0])
        finally:
            conn.close()
    import httpx

    token = target.tokens().get("auditor")
    last = 0
    with httpx.Client(base_url=target.url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
        while True:
            page = client.get("/v1/provision-records", params={"after": last, "limit": 1000}).json()["records"]
            if not page:
                return last
            last = page[-1]["id"]


def reconcile_counts(loc: dict[str, Any], store: dict[str, int]) -> dict[str, Any]:
    """Do the store's records equal Locust's requests? Each comparison with both sides."""
    refusals = loc["refused_row"] + loc["refused_kind"]
    checks = {
        "permitted = provided + held": (loc["permitted"], store.get("provided", 0) + store.get("held", 0)),
        "refusals = forbidden": (refusals, store.get("forbidden", 0)),
        "requests = records": (loc["requests"], sum(store.values())),
    }
    return {"checks": {k: {"locust": a, "store": b, "equal": a == b} for k, (a, b) in checks.items()},
            "all_equal": all(a == b for a, b in checks.values())}


def _history(out: Path) -> dict[str, dict[str, list[float]]]:
    """Per name (and "Aggregated") time series from ``locust_stats_history.csv``."""
    series: dict[str, dict[str, list[float]]] = {}
    for r in _read_csv(out / f"{PREFIX}_stats_history.csv"):
        s = series.setdefault(r["Name"], {k: [] for k in ("t", "users", "rps", "fps", "p50", "p95", "p99", "total")})
        s["t"].append(_num(r["Timestamp"]))
        s["users"].append(_num(r["User Count"]))
        s["rps"].append(_num(r["Requests/s"]))
        s["fps"].append(_num(r["Failures/s"]))
        s["p50"].append(_num(r["50%"]))
        s["p95"].append(_num(r["95%"]))
        s["p99"].append(_num(r["99%"]))
        s["total"].append(_num(r["Total Request Count"]))
    return series


def _failures(out: Path) -> list[dict[str, Any]]:
    return [{"name": r["Name"], "error": r["Error"], "occurrences": int(_num(r["Occurrences"]))}
            for r in _read_csv(out / f"{PREFIX}_failures.csv")]


def plot_report(out: Path, loc: dict[str, Any], failures: list[dict[str, Any]]) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    hist = _history(out)
    agg = hist.get("Aggregated", {"t": []})
    fig, axes = plt.subplots(2, 2, figsize=(12, 8))
    ax = axes[0][0]
    if agg["t"]:
        t0 = agg["t"][0]
        t = [x - t0 for x in agg["t"]]
        ax.plot(t, agg["rps"], label="requests/s")
        ax.plot(t, agg["fps"], label="failures/s", color="red")
        ax2 = ax.twinx()
        ax2.plot(t, agg["users"], color="grey", linestyle=":", label="users")
        ax2.set_ylabel("users")
        ax.set_xlabel("s")
        ax.set_title("throughput (users dotted)")
        ax.legend(loc="upper left")
        axl = axes[0][1]
        for q in ("p50", "p95", "p99"):
            axl.plot(t, agg[q], label=q)
        axl.set_xlabel("s")
        axl.set_ylabel("ms")
        axl.set_title("response time percentiles (Locust's 10 s window)")
        axl.legend()
    ax = axes[1][0]
    kinds: dict[str, int] = {}
    for f in failures:
        kinds[f["error"][:60]] = kinds.get(f["error"][:60], 0) + f["occurrences"]
    if kinds:
        ax.barh(list(kinds), list(kinds.values()), color="red")
    else:
        ax.text(0.5, 0.5, "no failures", ha="center", va="center", fontsize=14)
    ax.set_title("failures by kind")
    ax = axes[1][1]
    for key, label in ((REFUSED_ROW, "refused: wrong row"), (REFUSED_KIND, "refused: wrong kind")):
        s = hist.get(NAMES[key])
        if s and s["t"]:
            ax.plot([x - s["t"][0] for x in s["t"]], s["total"], label=f"{label} (cumulative)")
    ax.set_title(f"deliberate refusals: {loc['refused_row']:,} row, {loc['refused_kind']:,} kind")
    ax.set_xlabel("s")
    ax.legend()
    fig.tight_layout()
    path = out / "report.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def write_report(out: Path, summary: dict[str, Any], plot: Path) -> Path:
    import base64
    import html

    loc, rec = summary["locust"], summary["store_check"]
    rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{v['locust']:,}</td><td>{v['store']:,}</td>"
                   f"<td>{'yes' if v['equal'] else 'NO'}</td></tr>" for k, v in rec["checks"].items())
    fails = "".join(f"<tr><td>{html.escape(f['name'])}</td><td>{html.escape(f['error'])}</td>"
                    f"<td>{f['occurrences']:,}</td></tr>" for f in summary["failures"]) or \
        "<tr><td colspan=3>none</td></tr>"
    img = base64.b64encode(plot.read_bytes()).decode()
    doc = f"""<!doctype html><meta charset="utf-8"><title>jukimatch load run</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto}}td,th{{padding:2px 10px;text-align:right}}
td:first-child{{text-align:left}}</style>
<h1>Load run against {html.escape(summary['target'])}</h1>
<p>{html.escape(summary['machine'])}<br>shape {summary['shape']}, peak {summary['users']} users,
{summary['duration_s']} s, {summary['processes']} Locust process(es), service workers: {summary['service_workers']}</p>
<h2>Result</h2><table>
<tr><th>requests</th><td>{loc['requests']:,}</td></tr><tr><th>requests/s</th><td>{loc['requests_per_s']:.1f}</td></tr>
<tr><th>p50 / p95 / p99 ms</th><td>{loc['p50_ms']:.0f} / {loc['p95_ms']:.0f} / {loc['p99_ms']:.0f}</td></tr>
<tr><th>failures</th><td>{loc['failures']:,}</td></tr>
<tr><th>CPU s: service / Locust (wall)</th><td>{summary['locust_run'].get('service_cpu_s')} /
{summary['locust_run'].get('locust_cpu_s')} ({summary['locust_run'].get('wall_s')})</td></tr>
<tr><th>deliberate refusals (row / kind)</th><td>{loc['refused_row']:,} / {loc['refused_kind']:,}</td></tr></table>
<h2>Store against Locust</h2><table><tr><th></th><th>Locust</th><th>store</th><th>equal</th></tr>{rows}</table>
<p>store records by status: {html.escape(json.dumps(summary['store']))}</p>
<h2>Failures</h2><table><tr><th>name</th><th>error</th><th>count</th></tr>{fails}</table>
<img src="data:image/png;base64,{img}" style="max-width:100%">
"""
    path = out / "report.html"
    path.write_text(doc, encoding="utf-8")
    return path


def simulate_load(out: str | Path, *, users: int, duration_s: float, host: str | None = None,
                  tokens: str | Path | None = None, subjects: str | Path | None = None, db: str | Path | None = None,
                  shape: str = "day", user_rate: float = 0.0, processes: int = 1, residents: int = 5000,
                  service_workers: int = 1, seed: int = 0, progress: Callable[[str], None] | None = None) -> dict:
    """Run a load test and write Locust's CSVs, ``report.html``, ``report.png`` and ``report.json`` in ``out``."""
    say = progress or (lambda msg: None)
    if users < 1 or duration_s <= 0:
        raise ValueError("users must be at least 1 and the duration positive")
    if shape not in ("day", "flat", "none"):
        raise ValueError(f"shape must be day, flat or none, got {shape!r}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)

    def run(target: Target) -> dict:
        before = last_record_id(target)
        say(f"Locust: peak {users} users, {duration_s:g} s, shape {shape}, against {target.url}")
        how = run_locust(target, out, users=users, duration_s=duration_s, shape=shape, user_rate=user_rate,
                         processes=processes, seed=seed)
        store = store_counts(target.db, before) if target.db is not None else store_counts_http(target, before)
        loc = locust_counts(out)
        failures = _failures(out)
        summary = {"target": target.url, "machine": _machine(), "users": users, "duration_s": duration_s,
                   "shape": shape, "user_rate": user_rate, "processes": processes,
                   "service_workers": service_workers if host is None else "external", "locust": loc,
                   "store": store, "store_check": reconcile_counts(loc, store), "failures": failures,
                   "locust_run": {k: v for k, v in how.items() if k != "command"},
                   "locust_command": " ".join(how["command"])}
        plot = plot_report(out, loc, failures)
        summary["report"] = str(write_report(out, summary, plot))
        (out / "report.json").write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
        return summary

    if host is None:
        with LocalService(out / "service", residents=residents, seed=seed + 1, workers=service_workers,
                          progress=say) as target:
            return run(target)
    if not host.startswith(("http://127.0.0.1", "http://localhost", "http://[::1]")):
        raise ValueError(f"--host must be a loopback URL (http://127.0.0.1:PORT), got {host!r}")
    if tokens is None:
        raise ValueError("--host needs --tokens (the service's tokens.json)")
    target = Target(host.rstrip("/"), Path(tokens), Path(subjects) if subjects else out / "subjects.txt",
                    Path(db) if db else None)
    if subjects is None:
        if target.db is None:
            raise ValueError("--host needs --subjects FILE or --db STORE to know whom to ask about")
        from .service import write_subjects

        write_subjects(target.db, target.subjects_file)
    return run(target)
