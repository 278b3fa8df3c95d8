"""CLI hook of the simulator: ``jukimatch simulate load|plan|calibrate|jukinet``.

The CLI finds it through the ``jukimatch.commands`` entry point (setup.cfg); nothing of the
simulator is imported until a subcommand runs. Each handler returns an exit status; bad usage raises
:class:`jukimatch.engine.io.InputError`, which the CLI prints as one line with status 2.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any


def _usage(message: str) -> Exception:
    from jukimatch.engine.io import InputError

    return InputError(message)


def _say(msg: str) -> None:
    print(msg, file=sys.stderr)


def parse_range(text: str) -> list[int]:
    """``1..8``, ``1,2,4`` or ``3`` as a sorted list of positive integers."""
    out: set[int] = set()
    try:
        for part in text.split(","):
            if ".." in part:
                lo, hi = (int(x) for x in part.split(".."))
                if lo > hi:
                    raise ValueError
                out.update(range(lo, hi + 1))
            else:
                out.add(int(part))
    except ValueError:
        raise _usage(f"expected a count, a list (1,2,4) or a range (1..8), got {text!r}") from None
    if not out or min(out) < 1:
        raise _usage(f"counts must be positive, got {text!r}")
    return sorted(out)


def add_simulate_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``jukimatch simulate`` and its subcommands."""
    p = subparsers.add_parser("simulate", help="agency load on the inquiry service, capacity planning, Juki-net",
                              description="Load the inquiry service with Locust, plan capacity for a year, "
                                          "calibrate service times, play Juki-net for bulk inquiry files.")
    sub = p.add_subparsers(dest="simulate_command", required=True)

    ld = sub.add_parser("load", help="Locust headless against a loopback service; CSV stats and a report",
                        description="Start a service with a demo store on 127.0.0.1 (or use --host), run Locust "
                                    "headless with one user class per requester, write Locust's CSV stats, "
                                    "report.html/.png/.json, and check the store's records against Locust's counts.")
    ld.add_argument("--users", type=int, required=True, help="peak number of Locust users")
    ld.add_argument("--duration", type=float, required=True, metavar="SECONDS", help="length of the run")
    ld.add_argument("--out", required=True, help="output folder")
    ld.add_argument("--host", help="a running service on loopback (http://127.0.0.1:PORT) instead of a new one")
    ld.add_argument("--tokens", help="with --host: its tokens.json")
    ld.add_argument("--subjects", help="with --host: subject ids one a line (or --db)")
    ld.add_argument("--db", help="with --host: its store file, to read subjects and count records directly")
    ld.add_argument("--shape", choices=("day", "flat", "none"), default="day",
                    help="day: a business day compressed into the run (default); flat: the peak throughout")
    ld.add_argument("--user-rate", type=float, default=0.0,
                    help="requests/s per user (constant_throughput); 0: back to back (default)")
    ld.add_argument("--processes", type=int, default=1, help="Locust processes (default 1)")
    ld.add_argument("--residents", type=int, default=5000, help="size of the demo store (default 5000)")
    ld.add_argument("--workers", type=int, default=1, help="service worker processes (default 1)")
    ld.add_argument("--seed", type=int, default=0)
    ld.set_defaults(func=_cmd_load)

    pl = sub.add_parser("plan", help="discrete-event simulation of a year: servers needed, go-live time",
                        description="Simulate a year of provision requests from the requesters' profiles against "
                                    "1..N servers with calibrated service times; recommend the smallest count "
                                    "meeting the p99 target; estimate the go-live bulk reconciliation.")
    pl.add_argument("--residents", type=int, help="residents served (required unless --review-only)")
    pl.add_argument("--year", type=int, help="the year to simulate (required unless --review-only)")
    pl.add_argument("--servers", default="1..8", help="counts to try: 1..8, 1,2,4 (default 1..8)")
    pl.add_argument("--target-p99-ms", type=float, default=200.0)
    pl.add_argument("--out", required=True, help="output folder (plan.json, plan.md, plan.png)")
    pl.add_argument("--calibration", help="calibration file (default: OUT/calibration.json, measured if absent)")
    pl.add_argument("--golive-workers", default="1,2,4,8,16", help="K for the go-live estimate")
    pl.add_argument("--reconcile-summary", help="per-row cost from this summary.json instead of measuring it")
    pl.add_argument("--no-golive", action="store_true", help="skip the go-live estimate")
    pl.add_argument("--seed", type=int, default=0)
    pl.add_argument("--review-queue", type=int, metavar="N", help="also plan clerks for N review cases")
    pl.add_argument("--review-by", metavar="YYYY-MM-DD", help="the date the review queue must be cleared by")
    pl.add_argument("--review-db", help="workbench store: measured seconds per decision by reason (median)")
    pl.add_argument("--review-hours", type=float, default=6.0, help="hours of deciding per clerk-day (default 6)")
    pl.add_argument("--review-only", action="store_true", help="only the review queue plan (no year, no go-live)")
    pl.set_defaults(func=_cmd_plan)

    ca = sub.add_parser("calibrate", help="measure the service's service times into a reusable file",
                        description="Send the load mix one request at a time to a service (a new loopback demo "
                                    "service unless --host) and store the latencies as service-time samples.")
    ca.add_argument("--out", required=True, help="calibration file to write (JSON)")
    ca.add_argument("--requests", type=int, default=3000)
    ca.add_argument("--host")
    ca.add_argument("--tokens")
    ca.add_argument("--subjects")
    ca.add_argument("--residents", type=int, default=5000)
    ca.add_argument("--workers", type=int, default=1)
    ca.add_argument("--seed", type=int, default=0)
    ca.set_defaults(func=_cmd_calibrate)

    jb = sub.add_parser("jukinet", help="answer a bulk inquiry file as Juki-net would (with transfer faults)",
                        description="Answer an agency residents file with Juki-net's responses from a register "
                                    "made by the datasets corruption model (the responses file beside it, or "
                                    "--register), losing batches or rows and garbling fields as asked.")
    jb.add_argument("--residents", required=True, help="the inquiry file (a residents table)")
    jb.add_argument("--out", required=True, help="responses file to write (.parquet or .csv)")
    jb.add_argument("--register", help="register responses file (default: responses.* beside --residents)")
    jb.add_argument("--encoding", default="utf-8")
    jb.add_argument("--batch-size", type=int, default=10_000)
    jb.add_argument("--lost-batch-rate", type=float, default=0.0)
    jb.add_argument("--lost-row-rate", type=float, default=0.0)
    jb.add_argument("--garble-rate", type=float, default=0.0)
    jb.add_argument("--seed", type=int, default=0)
    jb.set_defaults(func=_cmd_jukinet)
    return p


def _cmd_load(args: argparse.Namespace) -> int:
    from .load import simulate_load

    if args.users < 1 or args.duration <= 0 or args.processes < 1 or args.residents < 1 or args.workers < 1:
        raise _usage("--users, --processes, --residents, --workers must be at least 1 and --duration positive")
    try:
        s = simulate_load(args.out, users=args.users, duration_s=args.duration, host=args.host, tokens=args.tokens,
                          subjects=args.subjects, db=args.db, shape=args.shape, user_rate=args.user_rate,
                          processes=args.processes, residents=args.residents, service_workers=args.workers,
                          seed=args.seed, progress=_say)
    except ValueError as exc:
        raise _usage(str(exc)) from None
    loc = s["locust"]
    print(f"{loc['requests']:,} requests in {loc['seconds']:.1f} s: {loc['requests_per_s']:.0f} requests/s, "
          f"p50 {loc['p50_ms']:.0f} ms, p95 {loc['p95_ms']:.0f} ms, p99 {loc['p99_ms']:.0f} ms, "
          f"failures {loc['failures']:,}, deliberate refusals {loc['refused_row'] + loc['refused_kind']:,}")
    run = s["locust_run"]
    print(f"  CPU seconds over {run['wall_s']:.0f} s wall: service {run.get('service_cpu_s')}, "
          f"Locust {run.get('locust_cpu_s')} ({os.cpu_count()} CPUs)")
    for name, c in s["store_check"]["checks"].items():
        print(f"  store check {name}: Locust {c['locust']:,}, store {c['store']:,} "
              f"{'ok' if c['equal'] else 'MISMATCH'}")
    print(f"  report: {s['report']}")
    return 0 if loc["failures"] == 0 and s["store_check"]["all_equal"] else 1


def _calibration_for(args: argparse.Namespace, out: Path) -> Any:
    from .calibrate import Calibration, calibrate

    if args.calibration:
        try:
            return Calibration.load(args.calibration)
        except ValueError as exc:
            raise _usage(str(exc)) from None
    path = out / "calibration.json"
    if path.is_file():
        _say(f"reusing {path}")
        return Calibration.load(path)
    _say(f"no calibration given: measuring one into {path}")
    return calibrate(path, progress=_say)


def _cmd_plan(args: argparse.Namespace) -> int:
    from .planner import golive_estimate, golive_rows, measure_reconcile_cost, plan, reconcile_cost_from_summary, \
        write_plan

    review = _review_plan(args)
    if args.review_only:
        if review is None:
            raise _usage("--review-only needs --review-queue and --review-by")
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "review_plan.json").write_text(json.dumps(review, indent=1), encoding="utf-8")
        from .planner import review_lines

        print("\n".join(review_lines(review)).strip())
        return 0
    if args.residents is None or args.year is None:
        raise _usage("--residents and --year are required (or --review-only)")
    servers = parse_range(args.servers)
    workers = parse_range(args.golive_workers)
    if args.residents < 1:
        raise _usage(f"--residents must be at least 1, got {args.residents}")
    if args.target_p99_ms <= 0:
        raise _usage("--target-p99-ms must be positive")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cal = _calibration_for(args, out)
    try:
        result = plan(residents=args.residents, year=args.year, servers=servers, target_p99_ms=args.target_p99_ms,
                      calibration=cal, seed=args.seed)
    except ValueError as exc:
        raise _usage(str(exc)) from None
    if not args.no_golive:
        try:
            cost = (reconcile_cost_from_summary(args.reconcile_summary) if args.reconcile_summary
                    else measure_reconcile_cost(progress=_say))
        except ValueError as exc:
            raise _usage(str(exc)) from None
        rows = golive_rows(args.residents)
        result["golive"] = {"rows": rows, "cost": cost, "estimates": golive_estimate(rows, cost, workers)}
    if review is not None:
        result["review"] = review
    paths = write_plan(result, out)
    print(paths["markdown"].read_text(encoding="utf-8"))
    print(f"plan: {paths['json']}  {paths['plot']}")
    return 0


def _review_plan(args: argparse.Namespace) -> dict | None:
    """The review queue's clerk plan, when asked for (``--review-queue`` and ``--review-by``)."""
    import datetime as dt

    from .planner import review_plan, review_seconds

    if args.review_queue is None and args.review_by is None:
        return None
    if args.review_queue is None or args.review_by is None:
        raise _usage("give --review-queue and --review-by together")
    try:
        by = dt.date.fromisoformat(args.review_by)
    except ValueError:
        raise _usage(f"--review-by must be a date YYYY-MM-DD, got {args.review_by!r}") from None
    try:
        seconds = review_seconds(args.review_db) if args.review_db else None
        return review_plan(args.review_queue, by, seconds=seconds, hours_per_day=args.review_hours)
    except ValueError as exc:
        raise _usage(str(exc)) from None


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from .calibrate import calibrate

    try:
        cal = calibrate(args.out, requests=args.requests, host=args.host, tokens=args.tokens, subjects=args.subjects,
                        residents=args.residents, workers=args.workers, seed=args.seed, progress=_say)
    except ValueError as exc:
        raise _usage(str(exc)) from None
    print(json.dumps({"file": args.out, "summary": cal.summary(), "saturation": cal.meta.get("saturation")}, indent=2))
    return 0


def _cmd_jukinet(args: argparse.Namespace) -> int:
    from .jukinet_bulk import answer_file

    if not Path(args.residents).is_file():
        raise _usage(f"{args.residents}: no such residents file")
    try:
        report = answer_file(args.residents, args.out, register=args.register, encoding=args.encoding,
                             batch_size=args.batch_size, lost_batch_rate=args.lost_batch_rate,
                             lost_row_rate=args.lost_row_rate, garble_rate=args.garble_rate, seed=args.seed)
    except ValueError as exc:
        raise _usage(str(exc)) from None
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0
