"""The review workbench at scale: 100,000 cases loaded, page render p95, a scripted clerk in a browser.

Targets (issue 13): queue and case pages render in <= 100 ms at p95; a scripted clerk in a
real browser decides a plain case in <= 5 s including page loads. The queue is a real
reconcile run's review queue, replicated with fresh person ids and fresh valid numbers until
it holds ``--cases`` cases, then loaded with ``review load`` like any run.

    python -m jukimatch.bench.bench_review [--cases 100000] [--out DIR] [--screenshots docs/]
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from jukimatch.api import generate, reconcile
from jukimatch.api.review import load_run
from jukimatch.api.service import Store, add_user, create_app
from jukimatch.bench.machine import banner
from jukimatch.engine.validate.checkdigit import numbers_from_bodies

SEED = 18


def _base_run(tmp: Path, residents: int) -> Path:
    generate(residents, tmp / "data", seed=SEED)
    reconcile(tmp / "data" / "residents.parquet", tmp / "data" / "responses.parquet", tmp / "run", report=False)
    return tmp / "run"


def replicate(run: Path, out: Path, cases: int) -> Path:
    """A run folder whose review queue is ``run``'s, copied with new person ids and numbers up to ``cases``."""
    rng = np.random.default_rng(SEED)
    review = pq.read_table(run / "review.parquet")
    summary = json.loads((run / "summary.json").read_text())
    residents = pq.read_table(summary["inputs"]["residents"])
    responses = pq.read_table(summary["inputs"]["responses"])
    persons = pc.unique(review.column("person_id"))
    residents = residents.filter(pc.is_in(residents.column("person_id"), persons))
    rows = review.column("response_row").to_numpy(zero_copy_only=False)
    has = ~np.isnan(rows.astype(float))
    used = responses.take(pa.array(rows[has].astype(np.int64) - 1))
    copies = -(-cases // len(persons))
    out.mkdir(parents=True, exist_ok=True)
    rev_parts, res_parts, resp_parts = [], [], []
    for k in range(copies):
        suffix = f"-{k:04d}"
        numbers = numbers_from_bodies(rng.integers(10**10, 10**11, size=used.num_rows)).astype(str)
        new_rows = np.full(len(rows), None, dtype=object)
        new_rows[has] = np.arange(1, used.num_rows + 1) + k * used.num_rows
        masked = np.array(["*" * 8 + n[-4:] for n in numbers], dtype=object)
        mask_col = np.full(len(rows), None, dtype=object)
        mask_col[has] = masked
        r = review.set_column(review.column_names.index("person_id"), "person_id",
                              pc.binary_join_element_wise(review.column("person_id"), suffix, ""))
        r = r.set_column(r.column_names.index("response_row"), "response_row", pa.array(new_rows, pa.int64()))
        r = r.set_column(r.column_names.index("my_number_masked"), "my_number_masked", pa.array(mask_col, pa.string()))
        if "related_person_ids" in r.column_names:  # the other rows of a duplicate group, in the same copy
            related = [[p + suffix for p in (ids or [])] for ids in review.column("related_person_ids").to_pylist()]
            r = r.set_column(r.column_names.index("related_person_ids"), "related_person_ids",
                             pa.array(related, pa.list_(pa.string())))
        rev_parts.append(r)
        res_parts.append(residents.set_column(residents.column_names.index("person_id"), "person_id",
                                              pc.binary_join_element_wise(residents.column("person_id"), suffix, "")))
        s = used.set_column(used.column_names.index("person_id"), "person_id",
                            pc.binary_join_element_wise(used.column("person_id"), suffix, ""))
        resp_parts.append(s.set_column(s.column_names.index("my_number"), "my_number", pa.array(numbers, pa.string())))
    review_all = pa.concat_tables(rev_parts)
    keep = pc.is_in(review_all.column("person_id"), pc.unique(review_all.column("person_id")).slice(0, cases))
    pq.write_table(review_all.filter(keep), out / "review.parquet")
    pq.write_table(pa.concat_tables(res_parts), out / "residents.parquet")
    pq.write_table(pa.concat_tables(resp_parts), out / "responses.parquet")
    summary["inputs"] = {"residents": str(out / "residents.parquet"), "responses": str(out / "responses.parquet")}
    (out / "summary.json").write_text(json.dumps(summary))
    return out


class Server:
    """uvicorn on a free loopback port in a thread."""

    def __init__(self, app) -> None:
        import uvicorn

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False, lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> "Server":
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def page_client(url: str, token: str) -> httpx.Client:
    """An httpx client logged in to the pages (the login form's CSRF token included)."""
    c = httpx.Client(base_url=url, timeout=30)
    form = c.get("/review/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
    r = c.post("/review/login", data={"csrf": csrf, "token": token, "next": "/review"})
    if r.status_code != 303:
        raise RuntimeError(f"login failed: {r.status_code}")
    return c


def _p(values: list[float], q: float) -> float:
    return float(np.quantile(np.asarray(values), q)) * 1e3


def timed(fn, n: int) -> dict:
    times = []
    for i in range(n):
        t = time.perf_counter()
        r = fn(i)
        times.append(time.perf_counter() - t)
        if r.status_code != 200:
            raise RuntimeError(f"{r.request.url}: {r.status_code}")
    return {"n": n, "p50_ms": round(_p(times, 0.5), 1), "p95_ms": round(_p(times, 0.95), 1),
            "max_ms": round(max(times) * 1e3, 1)}


def browser_clerk(url: str, token: str, rounds: int, screenshots: Path | None, showcase: str | None) -> dict:
    """A scripted clerk: queue → next case → key 1 → Enter, timed from the queue's load to the next case's."""
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = b.new_context(base_url=url, viewport={"width": 1400, "height": 900}).new_page()
        page.goto("/review/login")
        page.fill("input[name=token]", token)
        page.press("input[name=token]", "Enter")
        page.wait_for_url(re.compile(r"/review$"))
        if screenshots is not None:
            screenshots.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(screenshots / "review-queue.png"), full_page=False)
            if showcase:
                page.goto(f"/review/cases/{showcase}")
                page.screenshot(path=str(screenshots / "review-case.png"), full_page=True)
        times = []
        for _ in range(rounds):
            t = time.perf_counter()
            page.goto("/review?reason=uncertain")
            page.click("#next-case")
            page.wait_for_selector("#decision")
            page.keyboard.press("1")
            page.keyboard.press("Enter")
            page.wait_for_url(re.compile(r"saved="))
            page.wait_for_load_state("load")
            times.append(time.perf_counter() - t)
        b.close()
    return {"rounds": rounds, "median_s": round(statistics.median(times), 3), "max_s": round(max(times), 3)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--residents", type=int, default=20_000, help="size of the real run replicated")
    ap.add_argument("--requests", type=int, default=200, help="page requests timed per kind")
    ap.add_argument("--rounds", type=int, default=5, help="browser decisions timed")
    ap.add_argument("--out", help="work folder (default: a temporary one)")
    ap.add_argument("--screenshots", help="save review-queue.png and review-case.png here")
    args = ap.parse_args(argv)
    print(banner())
    tmp = Path(args.out or tempfile.mkdtemp(prefix="bench-review-"))
    t = time.perf_counter()
    run = replicate(_base_run(tmp / "base", args.residents), tmp / "run", args.cases)
    made_s = time.perf_counter() - t
    db = tmp / "store.sqlite"
    if db.exists():
        db.unlink()
    store = Store(db)
    t = time.perf_counter()
    loaded = load_run(store, run)
    load_s = time.perf_counter() - t
    print(f"queue: {loaded.cases:,} cases, {loaded.candidates:,} candidates; made in {made_s:.1f} s, "
          f"review load {load_s:.1f} s")
    clerk = add_user(store, "bench-clerk", "clerk")
    other = add_user(store, "bench-clerk2", "clerk")
    persons = [r[0] for r in store.conn.execute(
        "SELECT person_id FROM review_cases WHERE status = 'open' ORDER BY case_id DESC LIMIT ?", (args.requests,))]
    showcase = store.conn.execute(  # for the screenshot: two candidates, differences, a related row if any
        "SELECT c.person_id FROM review_cases c JOIN review_candidates k ON k.case_id = c.case_id"
        " WHERE c.reasons LIKE '%address_elsewhere%' AND k.rank = 2 ORDER BY c.related != '[]' DESC, c.case_id"
        " LIMIT 1").fetchone()
    results: dict = {"cases": loaded.cases, "load_s": round(load_s, 2)}
    with Server(create_app(store, retry_interval_s=None)) as srv:
        c = page_client(srv.url, clerk)
        try:
            c.get("/review")  # warm
            results["queue_page"] = timed(lambda i: c.get("/review"), args.requests)
            results["queue_page_filtered"] = timed(lambda i: c.get("/review", params={"reason": "gaiji"}),
                                                   args.requests)
            results["case_page"] = timed(lambda i: c.get(f"/review/cases/{persons[i]}"), args.requests)
        finally:
            c.close()
        with httpx.Client(base_url=srv.url, timeout=30, headers={"Authorization": f"Bearer {other}"}) as api:
            results["api_cases"] = timed(lambda i: api.get("/v1/review/cases", params={"limit": 50}), args.requests)
        results["browser_clerk"] = browser_clerk(srv.url, clerk, args.rounds,
                                                 Path(args.screenshots) if args.screenshots else None,
                                                 showcase[0] if showcase else None)
    store.close()
    print(json.dumps(results, indent=1))
    ok = all(results[k]["p95_ms"] <= 100 for k in ("queue_page", "case_page")) \
        and results["browser_clerk"]["max_s"] <= 5
    print(f"targets (pages p95 <= 100 ms, browser decision <= 5 s): {'met' if ok else 'NOT met'}")
    if not args.out:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
