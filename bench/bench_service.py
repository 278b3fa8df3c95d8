"""First speed figures of the inquiry service (never asserted in tests).

1. In-process authenticity checks: p50/p95/p99 over ``--checks`` calls of
   ``check_authenticity`` on a store of a generated population — half of them numbers
   already registered (authentic), half true numbers not yet registered (provisional
   registration, in-process Juki-net stand-in with no latency, the engine's comparison,
   confirmation). ``*_self_ms`` leaves out the time the thread waited for a CPU (other
   processes on a shared machine) and ``*_preempted`` is the share of checks that waited;
   ``--steps`` adds a per-step breakdown of the new-number checks.
2. HTTP provisions: ``jukimatch serve`` started as a subprocess on loopback, loaded by
   ``--client-procs`` processes × ``--threads`` threads, each thread with its own keep-alive
   connection (stdlib ``http.client``); bounded by ``--requests`` and ``--seconds``. Reports requests/s and latency
   percentiles.

    .venv/bin/python bench/bench_service.py [--residents 5000] [--checks 2000] [--workers 2]
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

SEED = 18
LAUNCH = """
import argparse, sys
from jukimatch.api.service.commands import add_serve_parser
p = argparse.ArgumentParser(prog="jukimatch"); sub = p.add_subparsers(dest="command", required=True)
add_serve_parser(sub); args = p.parse_args(sys.argv[1:]); sys.exit(args.func(args))
"""


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def _platform() -> str:
    return (f"{platform.platform()} | Python {platform.python_version()} | {os.cpu_count()} CPUs | "
            f"{platform.processor() or platform.machine()}")


def build_store(path: Path, residents: int) -> tuple[list[tuple[str, str]], dict]:
    """A store of a generated population: returns (person_id, true number) pairs and Juki-net's register."""
    from jukimatch.api.service import Store, add_user, load_copies, load_persons, seed_requesters
    from jukimatch.api.service.demo import copy_rows
    from jukimatch.datasets import make_population

    tables = make_population(residents, seed=SEED)
    truth = {r["person_id"]: r["true_my_number"] for r in tables["truth"].to_pylist()}
    copies = tables["copies"].to_pylist()
    subject_of = {c["person_id"]: c["subject_id"] for c in copies}
    store = Store(path)
    seed_requesters(store)
    load_persons(store, ({**p, "subject_id": subject_of.get(p["person_id"])} for p in tables["residents"].to_pylist()))
    load_copies(store, copy_rows(copies))
    add_user(store, "bench-staff", "staff")
    store.close()
    register = [r for r in tables["responses"].to_pylist() if r["status"] == "found"]
    pairs = [(p, n) for p, n in truth.items() if n]
    return pairs, {"register": register, "subjects": [c["subject_id"] for c in copies]}


PREEMPTED_S = 50e-6  # a check that waited longer than this for a CPU counts as preempted


class _RunDelay:
    """Time this thread spent runnable but waiting for a CPU (Linux schedstat), in seconds.

    On a shared machine other processes take the CPU in the middle of a check; subtracting
    that wait separates their noise from the check's own tail. 0.0 where unavailable.
    """

    def __init__(self) -> None:
        try:
            self._f = open("/proc/thread-self/schedstat", "rb", buffering=0)  # noqa: SIM115 - closed in close()
        except OSError:
            self._f = None

    def __call__(self) -> float:
        if self._f is None:
            return 0.0
        self._f.seek(0)
        return int(self._f.read().split()[1]) / 1e9

    def close(self) -> None:
        if self._f is not None:
            self._f.close()


def _stats(values: list[float]) -> dict:
    """n, p50/p95/p99 and mean in milliseconds."""
    return {"n": len(values), "p50": round(_pct(values, 0.5) * 1e3, 3), "p95": round(_pct(values, 0.95) * 1e3, 3),
            "p99": round(_pct(values, 0.99) * 1e3, 3), "mean": round(statistics.fmean(values) * 1e3, 3)}


def _instrument_steps(steps: dict[str, float]):
    """Time the steps of a check into ``steps`` (seconds, summed per check); returns an undo.

    Wraps the service's seams: each ``Store.write`` (lock + BEGIN, body, COMMIT), the audit
    append, the Juki-net lookup (in the caller) and the engine's comparison.
    """
    from contextlib import contextmanager

    from jukimatch.api.service import audit, authenticity
    from jukimatch.api.service.store import Store

    pc = time.perf_counter
    orig_write, orig_append, orig_compare = Store.write, audit.append, authenticity.compare_with_ours

    def add(key: str, dt: float) -> None:
        steps[key] = steps.get(key, 0.0) + dt

    @contextmanager
    def write(self):
        n = steps["_writes"] = steps.get("_writes", 0) + 1
        t0 = pc()
        with orig_write(self) as conn:
            t1 = pc()
            yield conn
            t2 = pc()
        add(f"txn{n}.begin", t1 - t0)
        add(f"txn{n}.body", t2 - t1)
        add(f"txn{n}.commit", pc() - t2)

    def append(*a, **k):
        t = pc()
        try:
            return orig_append(*a, **k)
        finally:
            add("audit_appends", pc() - t)

    def compare(ours, theirs):
        t = pc()
        try:
            return orig_compare(ours, theirs)
        finally:
            add("compare", pc() - t)

    Store.write, audit.append, authenticity.compare_with_ours = write, append, compare

    def undo() -> None:
        Store.write, audit.append, authenticity.compare_with_ours = orig_write, orig_append, orig_compare
    return undo


class _TimedJukinet:
    """Times the lookups of a wrapped responder into ``steps['jukinet']``."""

    def __init__(self, inner, steps: dict[str, float]) -> None:
        self.inner, self.steps = inner, steps

    def lookup(self, my_number: str):
        t = time.perf_counter()
        try:
            return self.inner.lookup(my_number)
        finally:
            self.steps["jukinet"] = self.steps.get("jukinet", 0.0) + time.perf_counter() - t


def bench_in_process(tmp: Path, residents: int, checks: int, *, steps: bool = False) -> dict:
    """Timings of ``checks`` authenticity checks, half registered numbers, half new ones.

    Per kind: wall-clock percentiles, and the same with the time spent waiting for a CPU
    taken out (``*_self_ms``). With ``steps``, a per-step breakdown of the new-number checks
    (``new_steps_ms``; ``other`` is what no step covers: Python glue, check digit, masking).
    """
    from jukimatch.api.service import Store, check_authenticity, register_bulk
    from jukimatch.api.service.standin import OnlineJukinet

    pairs, extra = build_store(tmp / "inproc.sqlite", residents)
    rng = random.Random(SEED)
    rng.shuffle(pairs)
    half = checks // 2
    registered, fresh = pairs[:half], pairs[half:half + (checks - half)]
    store = Store(tmp / "inproc.sqlite")
    register_bulk(store, registered)
    jukinet = OnlineJukinet.from_rows(extra["register"])
    check_authenticity(store, *fresh.pop(), jukinet=jukinet, staff_id="bench-staff")  # warm the engine (JIT)
    current: dict[str, float] = {}
    undo = _instrument_steps(current) if steps else None
    if steps:
        jukinet = _TimedJukinet(jukinet, current)
    per_step: dict[str, list[float]] = {}
    times: dict[str, list[float]] = {}
    own: dict[str, list[float]] = {}
    preempted: dict[str, int] = {}
    results: dict[str, int] = {}
    work = [("registered", p) for p in registered] + [("new", p) for p in fresh]
    rng.shuffle(work)
    run_delay = _RunDelay()
    try:
        for kind, (pid, number) in work:
            current.clear()
            d0 = run_delay()
            t = time.perf_counter()
            res = check_authenticity(store, pid, number, jukinet=jukinet, staff_id="bench-staff")
            dt = time.perf_counter() - t
            waited = run_delay() - d0
            times.setdefault(kind, []).append(dt)
            own.setdefault(kind, []).append(max(dt - waited, 0.0))
            preempted[kind] = preempted.get(kind, 0) + (waited > PREEMPTED_S)
            results[res.result] = results.get(res.result, 0) + 1
            if steps and kind == "new":
                current.pop("_writes", None)
                current["other"] = dt - sum(v for k, v in current.items() if k != "audit_appends")
                for k, v in current.items():
                    per_step.setdefault(k, []).append(v)
    finally:
        run_delay.close()
        if undo is not None:
            undo()
        store.close()
    allt = [x for v in times.values() for x in v]
    out = {"checks": len(allt), "results": results, "all_ms": _stats(allt)}
    for k in times:
        out[f"{k}_ms"] = _stats(times[k])
        out[f"{k}_self_ms"] = _stats(own[k])
        out[f"{k}_preempted"] = round(preempted.get(k, 0) / len(times[k]), 4)
    if steps:
        n = len(times.get("new", []))
        out["new_steps_ms"] = {k: _stats(v + [0.0] * (n - len(v))) for k, v in sorted(per_step.items())}
    return out


def _client(url: str, token: str, subjects: list[str], n: int, threads: int, deadline: float, q: mp.Queue) -> None:
    """One load process: ``threads`` keep-alive connections (stdlib http.client: a cheap client,
    so the 2-core machine's CPU goes to the server rather than to the load generator)."""
    import http.client
    from urllib.parse import urlsplit

    host = urlsplit(url)
    lat: list[float] = []
    codes: dict[int, int] = {}
    lock = threading.Lock()
    counter = iter(range(n))
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def run(seed: int) -> None:
        rng = random.Random(seed)
        local_lat, local_codes = [], {}
        conn = http.client.HTTPConnection(host.hostname, host.port, timeout=30)
        while time.time() < deadline:
            with lock:
                if next(counter, None) is None:
                    break
            body = json.dumps({"requester": "mhlw", "office_work_row": 73, "info_kinds": ["E", "C"],
                               "subject": rng.choice(subjects)})
            t = time.perf_counter()
            conn.request("POST", "/v1/provisions", body=body, headers=headers)
            r = conn.getresponse()
            r.read()
            local_lat.append(time.perf_counter() - t)
            local_codes[r.status] = local_codes.get(r.status, 0) + 1
        conn.close()
        with lock:
            lat.extend(local_lat)
            for k, v in local_codes.items():
                codes[k] = codes.get(k, 0) + v

    ts = [threading.Thread(target=run, args=(SEED + i,)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    q.put((lat, codes))


def bench_http(tmp: Path, residents: int, workers: int, client_procs: int, threads: int, requests: int,
               seconds: float) -> dict:
    from jukimatch.api.service import Store, add_user

    db = tmp / "http.sqlite"
    _, extra = build_store(db, residents)
    store = Store(db)
    token = add_user(store, "bench-gateway", "gateway", requester_code="mhlw")
    store.close()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, "-c", LAUNCH, "serve", "--db", str(db), "--port", str(port),
                             "--workers", str(workers), "--no-access-log", "--log-level", "warning",
                             "--retry-interval", "0"], start_new_session=True)
    try:
        import httpx

        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("server did not start")
        subjects = extra["subjects"]
        ctx = mp.get_context("spawn")
        q: mp.Queue = ctx.Queue()
        per = requests // client_procs
        stop_at = time.time() + seconds
        t0 = time.perf_counter()
        ps = [ctx.Process(target=_client, args=(url, token, subjects, per, threads, stop_at, q))
              for _ in range(client_procs)]
        for p in ps:
            p.start()
        lat: list[float] = []
        codes: dict[int, int] = {}
        for _ in ps:
            part_lat, part_codes = q.get(timeout=seconds + 120)
            lat += part_lat
            for k, v in part_codes.items():
                codes[k] = codes.get(k, 0) + v
        elapsed = time.perf_counter() - t0
        for p in ps:
            p.join()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the server and its workers, started above
        proc.wait(30)
    return {"requests": len(lat), "status_codes": codes, "seconds": round(elapsed, 2),
            "requests_per_s": round(len(lat) / elapsed, 1), "p50_ms": round(_pct(lat, 0.5) * 1e3, 2),
            "p99_ms": round(_pct(lat, 0.99) * 1e3, 2), "server_workers": workers, "client_procs": client_procs,
            "client_threads": threads}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--residents", type=int, default=5000)
    ap.add_argument("--checks", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=2, help="server worker processes")
    ap.add_argument("--client-procs", type=int, default=2)
    ap.add_argument("--threads", type=int, default=8, help="client threads per client process")
    ap.add_argument("--requests", type=int, default=20000)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--skip-http", action="store_true")
    ap.add_argument("--skip-inproc", action="store_true")
    ap.add_argument("--steps", action="store_true",
                    help="time each step of the new-number checks (adds a few microseconds per step)")
    args = ap.parse_args(argv)
    print(_platform())
    out = {}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        if not args.skip_inproc:
            out["in_process_authenticity"] = bench_in_process(tmp, args.residents, args.checks,
                                                                       steps=args.steps)
            print(json.dumps(out["in_process_authenticity"], indent=2))
        if not args.skip_http:
            out["http_provisions"] = bench_http(tmp, args.residents, args.workers, args.client_procs, args.threads,
                                                args.requests, args.seconds)
            print(json.dumps(out["http_provisions"], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
