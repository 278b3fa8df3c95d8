"""CLI hooks of the inquiry service: ``jukimatch serve`` and ``jukimatch audit verify``.

``api/cli.py`` registers them with ``add_serve_parser(sub)`` and ``add_audit_parser(sub)``;
each sets ``func`` and returns an exit status like the other commands. Bad usage raises
:class:`jukimatch.engine.io.InputError`, which the CLI prints as one line with status 2.

``serve --demo`` is the one place that reaches into ``jukimatch.sim`` (lazily): it plays
Juki-net with the in-process stand-in over the generated register. With ``--workers N`` the
stand-in is served over loopback HTTP from the supervising process, since worker processes
build their own app from the environment (:func:`jukimatch.api.service.app.app_from_env`).
"""
from __future__ import annotations

import argparse
import os
import sys
import threading
from pathlib import Path
from typing import Any


def _usage(message: str) -> Exception:
    from jukimatch.engine.io import InputError

    return InputError(message)


def add_serve_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``jukimatch serve``."""
    p = subparsers.add_parser("serve", help="run the inquiry service (authenticity checks, information provision)",
                              description="Run the HTTP inquiry service over a SQLite store; OpenAPI at /openapi.json.")
    p.add_argument("--db", default="jukimatch.sqlite", help="store file (created and migrated if new)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    p.add_argument("--demo", type=int, metavar="N",
                   help="first fill a NEW store from a generated population of N and write tokens.json beside it")
    p.add_argument("--seed", type=int, default=1, help="seed of the demo population")
    p.add_argument("--jukinet-url", help="Juki-net responder base URL (default: none, checks stay provisional)")
    p.add_argument("--jukinet-file", help="serve Juki-net from this responses file with the in-process stand-in")
    p.add_argument("--retry-interval", type=float, default=60.0,
                   help="seconds between background retries of provisional registrations (0: off)")
    p.add_argument("--no-four-eyes", action="store_true",
                   help="review workbench: a confirm registers at once (default: a second person approves)")
    p.add_argument("--review-idle", type=float, default=900.0, help="review page session idle expiry, seconds")
    p.add_argument("--log-level", default="info", choices=("critical", "error", "warning", "info", "debug"))
    p.add_argument("--no-access-log", action="store_true", help="do not log each request")
    p.set_defaults(func=_cmd_serve)
    return p


def add_audit_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``jukimatch audit verify``."""
    p = subparsers.add_parser("audit", help="audit log tools", description="Audit log tools.")
    sub = p.add_subparsers(dest="audit_command", required=True)
    v = sub.add_parser("verify", help="verify the audit log's hash chain; exit 1 if broken",
                       description="Check every entry's hash and link; print the first broken entry and exit 1.")
    v.add_argument("--db", required=True, help="store file")
    v.set_defaults(func=_cmd_audit_verify)
    return p


def _cmd_audit_verify(args: argparse.Namespace) -> int:
    from .audit import verify

    path = Path(args.db)
    if not path.is_file():
        raise _usage(f"{path}: no such store")
    try:
        res = verify(path)
    except Exception as exc:  # sqlite3.DatabaseError and kin: not a store we can read
        raise _usage(f"{path}: not a readable store ({type(exc).__name__}: {exc})") from None
    if res.ok:
        print(f"audit chain ok: {res.entries:,} entries, head {res.head_seq} {res.head_hash}")
        return 0
    print(f"audit chain BROKEN: first broken entry {res.first_broken}: {res.problem}")
    return 1


def _standin(path: str) -> Any:
    from jukimatch.sim.jukinet_online import OnlineJukinet  # the sanctioned reach into sim/

    p = Path(path)
    if not p.is_file():
        raise _usage(f"{p}: no such responses file for --jukinet-file")
    return OnlineJukinet.from_file(p)


def _serve_standin_over_http(responder: Any) -> tuple[str, Any]:
    """Serve the stand-in on a free loopback port in a daemon thread; returns (url, server)."""
    import socket

    import uvicorn

    from jukimatch.sim.jukinet_online import asgi_app

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # else ~40 ms delayed-ACK stalls
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(asgi_app(responder), log_config=None, access_log=False))
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    return f"http://127.0.0.1:{port}", server


def _run_workers(config: Any) -> None:
    """``uvicorn.run`` for several workers, with TCP_NODELAY on the shared listening socket.

    uvicorn binds that socket with protocol 0, so asyncio does not set TCP_NODELAY on the
    connections it accepts; each small response then waits ~40 ms for a delayed ACK.
    Accepted sockets inherit the option from the listening one, hence setting it here.
    """
    import socket

    from uvicorn.supervisors import Multiprocess

    sock = config.bind_socket()
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        Multiprocess(config, sockets=[sock]).run()
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()


def _cmd_serve(args: argparse.Namespace) -> int:
    try:
        import uvicorn
    except ImportError:
        raise _usage("serve needs the 'service' extra: pip install 'jukimatch[service]'") from None
    from .app import create_app
    from .jukinet import HttpJukinet
    from .logsafe import uvicorn_log_config
    from .store import Store

    if args.workers < 1:
        raise _usage(f"--workers must be at least 1, got {args.workers}")
    if not 0 < args.port < 65536:
        raise _usage(f"--port must lie in 1..65535, got {args.port}")
    if args.jukinet_url and args.jukinet_file:
        raise _usage("give --jukinet-url or --jukinet-file, not both")
    db = Path(args.db)
    jukinet_file = args.jukinet_file
    if args.demo is not None:
        if args.demo < 1:
            raise _usage(f"--demo must be at least 1, got {args.demo}")
        if db.exists():
            raise _usage(f"{db}: exists; --demo fills a new store (drop --demo to serve this one)")
        from .demo import fill_demo

        summary = fill_demo(db, args.demo, seed=args.seed, progress=lambda msg: print(msg, file=sys.stderr))
        jukinet_file = jukinet_file or summary["jukinet_file"]
        print(f"demo store {db}: {summary['counts']['persons']:,} persons, "
              f"{summary['counts']['registrations']:,} registered numbers, {summary['counts']['copies']:,} copies; "
              f"tokens in {summary['tokens_file']}", file=sys.stderr)
    Store(db).close()  # create and migrate once, before any worker starts
    log_config = uvicorn_log_config(args.log_level, access_log=not args.no_access_log)
    interval = args.retry_interval or None
    if args.workers == 1:
        jukinet = (HttpJukinet(args.jukinet_url) if args.jukinet_url
                   else _standin(jukinet_file) if jukinet_file else None)
        app = create_app(db, jukinet=jukinet, retry_interval_s=interval, review_four_eyes=not args.no_four_eyes,
                         review_idle_s=args.review_idle)
        uvicorn.run(app, host=args.host, port=args.port, log_config=log_config, access_log=not args.no_access_log)
        return 0
    url = args.jukinet_url
    standin_server = None
    if jukinet_file and not url:
        url, standin_server = _serve_standin_over_http(_standin(jukinet_file))
    os.environ["JUKIMATCH_DB"] = str(db.resolve())
    os.environ["JUKIMATCH_RETRY_INTERVAL"] = str(args.retry_interval or 0)
    os.environ["JUKIMATCH_REVIEW_FOUR_EYES"] = "0" if args.no_four_eyes else "1"
    os.environ["JUKIMATCH_REVIEW_IDLE"] = str(args.review_idle)
    if url:
        os.environ["JUKIMATCH_JUKINET_URL"] = url
    try:
        _run_workers(uvicorn.Config("jukimatch.api.service.app:app_from_env", factory=True, host=args.host,
                                    port=args.port, workers=args.workers, log_config=log_config,
                                    access_log=not args.no_access_log))
    finally:
        if standin_server is not None:
            standin_server.should_exit = True
    return 0
