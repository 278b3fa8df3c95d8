"""The inquiry service's sub-commands: ``jukimatch serve`` and ``jukimatch audit ...``.

Bad usage raises :class:`jukimatch.engine.io.InputError`, which the CLI prints as one line
with status 2. ``serve --demo`` and ``--jukinet-file`` answer with the Juki-net stand-in
(:mod:`.standin`) over the generated register; with ``--workers N`` the stand-in is served
over loopback HTTP from the supervising process, since worker processes build their own app
from the environment (:func:`jukimatch.api.service.app.app_from_env`).
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
    p: argparse.ArgumentParser = subparsers.add_parser("serve", help="run the inquiry service (authenticity checks, information provision)",
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
    p.add_argument("--audit-key-file", help="the audit chain's key (default: $JUKIMATCH_AUDIT_KEY_FILE, else "
                                            "STORE.audit-key, created for a new store); keep it outside the store's "
                                            "folder")
    p.add_argument("--audit-anchor", metavar="FILE", help="append the chains' heads to FILE (outside the store) every "
                                                          "--anchor-every entries, every minute, and at shutdown")
    p.add_argument("--anchor-every", type=int, default=100, metavar="N", help="entries between anchors (default 100)")
    p.add_argument("--tls-cert", help="serve HTTPS with this certificate chain (PEM)")
    p.add_argument("--tls-key", help="the certificate's private key (PEM)")
    p.add_argument("--jukinet-token-file", help="file holding the bearer token sent to Juki-net")
    p.add_argument("--allow-insecure-jukinet", action="store_true",
                   help="allow a plain http:// Juki-net URL off loopback (numbers would travel in clear)")
    p.set_defaults(func=_cmd_serve)
    return p


def add_audit_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``jukimatch audit keygen|anchor|verify|migrate``."""
    p: argparse.ArgumentParser = subparsers.add_parser("audit", help="audit log tools: keygen, anchor, verify, migrate",
                              description="The keyed audit chain: its key, its anchors, its verification.")
    sub = p.add_subparsers(dest="audit_command", required=True)
    k = sub.add_parser("keygen", help="write a new audit key file (mode 0600, never overwritten)",
                       description="Keep it outside the store's folder, readable only by the service's account.")
    k.add_argument("--out", required=True, help="key file to create")
    k.set_defaults(func=_cmd_audit_keygen)
    a = sub.add_parser("anchor", help="append the chains' heads to an anchor file outside the store",
                       description="Verify the chains, then append their heads (sequence, MAC) to FILE.")
    a.add_argument("--db", required=True, help="store file")
    a.add_argument("--out", required=True, help="anchor file (appended to; created 0600)")
    v = sub.add_parser("verify", help="verify the keyed chains (and anchors); exit 1 if broken",
                       description="Check every entry's MAC and link, the provision records against their chain, "
                                   "and every head in --anchor; print the first problem and exit 1.")
    v.add_argument("--db", required=True, help="store file")
    v.add_argument("--anchor", help="anchor file: the log must reach and agree with every head in it")
    m = sub.add_parser("migrate", help="key a store written before the keyed chain (seals the old entries)",
                       description="Verify the old SHA-256 chain, then seal it and the provision records under "
                                   "the key; refuses a broken old chain.")
    m.add_argument("--db", required=True, help="store file")
    m.add_argument("--anchor", help="also anchor the heads to this file")
    for cmd, func in ((a, _cmd_audit_anchor), (v, _cmd_audit_verify), (m, _cmd_audit_migrate)):
        cmd.add_argument("--audit-key-file", help="the audit key (default: $JUKIMATCH_AUDIT_KEY_FILE, "
                                                  "else STORE.audit-key)")
        cmd.set_defaults(func=func)
    return p


def _store_path(db: str) -> Path:
    path = Path(db)
    if not path.is_file():
        raise _usage(f"{path}: no such store")
    return path


def _cmd_audit_keygen(args: argparse.Namespace) -> int:
    from jukimatch.engine.files.crypt import write_key_file

    from .chain import key_id, load_key

    path = write_key_file(args.out)
    print(f"wrote audit key {path} (id {key_id(load_key(path))}, readable by its owner only)")
    return 0


def _cmd_audit_anchor(args: argparse.Namespace) -> int:
    import sqlite3

    from .chain import write_anchor
    from .store import KeyedConnection

    from .audit import verify

    path = _store_path(args.db)
    try:  # anchoring a tampered log would bless it: verify first
        res = verify(path, key_file=args.audit_key_file)
    except sqlite3.DatabaseError as exc:
        raise _usage(f"{path}: not a readable store ({exc})") from None
    if not res.ok:
        print(f"audit chain BROKEN, not anchored: first broken entry {res.first_broken}: {res.problem}")
        return 1
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None, factory=KeyedConnection)
    try:
        lines = write_anchor(conn, args.out)
    except sqlite3.DatabaseError as exc:
        raise _usage(f"{path}: not a readable store ({exc})") from None
    finally:
        conn.close()
    for a in lines:
        print(f"anchored {a['chain']} head {a['seq']} {a['hash']} to {args.out}")
    return 0


def _cmd_audit_verify(args: argparse.Namespace) -> int:
    import sqlite3

    from .audit import verify

    path = _store_path(args.db)
    try:
        res = verify(path, key_file=args.audit_key_file, anchor=args.anchor)
    except sqlite3.DatabaseError as exc:  # not a store we can read
        raise _usage(f"{path}: not a readable store ({type(exc).__name__}: {exc})") from None
    if res.ok:
        keyed = "keyed" if res.details.get("keyed") else "UNKEYED legacy chain, run `jukimatch audit migrate`"
        extra = f", {res.details.get('provision_entries', 0):,} provision entries" if res.details.get("keyed") else ""
        print(f"audit chain ok ({keyed}): {res.entries:,} entries{extra}, head {res.head_seq} {res.head_hash}"
              + (f"; {res.details['anchors_checked']} anchored heads agree" if args.anchor else ""))
        return 0
    print(f"audit chain BROKEN: first broken entry {res.first_broken}: {res.problem}")
    return 1


def _cmd_audit_migrate(args: argparse.Namespace) -> int:
    from jukimatch.engine.files.crypt import write_key_file

    from .chain import key_file_for, load_key, seal_legacy, write_anchor
    from .store import Store

    path = _store_path(args.db)
    kf = key_file_for(path, args.audit_key_file)
    if not kf.exists():
        write_key_file(kf)
        print(f"wrote audit key {kf} (readable by its owner only)")
    key = load_key(kf)
    store = Store(path, migrate=False, audit_key_file=kf)
    try:
        store.migrate()
        with store.write() as conn:
            out = seal_legacy(conn, key)
        if args.anchor:
            write_anchor(store.conn, args.anchor)
    finally:
        store.close()
    print(f"sealed {out['legacy_entries']:,} legacy audit entries and {out['provision_records']:,} provision "
          f"records under key {kf}")
    return 0


def tls_options(cert: str | None, key: str | None) -> dict[str, Any]:
    """uvicorn's ssl options for ``--tls-cert/--tls-key`` (both or neither; files must exist)."""
    if not cert and not key:
        return {}
    if not (cert and key):
        raise _usage("give --tls-cert and --tls-key together")
    for f in (cert, key):
        if not Path(f).is_file():
            raise _usage(f"{f}: no such file")
    from jukimatch.engine.files.crypt import check_secret_file

    check_secret_file(key)
    return {"ssl_certfile": str(cert), "ssl_keyfile": str(key)}


def _standin(path: str) -> Any:
    from .standin import OnlineJukinet

    p = Path(path)
    if not p.is_file():
        raise _usage(f"{p}: no such responses file for --jukinet-file")
    return OnlineJukinet.from_file(p)


def _serve_standin_over_http(responder: Any) -> tuple[str, Any]:
    """Serve the stand-in on a free loopback port in a daemon thread; returns (url, server)."""
    import socket

    import uvicorn

    from .standin import asgi_app

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
    from .jukinet import HttpJukinet, check_url, read_token
    from .logsafe import uvicorn_log_config
    from .store import Store

    if args.workers < 1:
        raise _usage(f"--workers must be at least 1, got {args.workers}")
    if not 0 < args.port < 65536:
        raise _usage(f"--port must lie in 1..65535, got {args.port}")
    if args.jukinet_url and args.jukinet_file:
        raise _usage("give --jukinet-url or --jukinet-file, not both")
    if args.anchor_every < 1:
        raise _usage(f"--anchor-every must be at least 1, got {args.anchor_every}")
    tls = tls_options(args.tls_cert, args.tls_key)
    token = None
    if args.jukinet_token_file:
        try:
            token = read_token(args.jukinet_token_file)
        except (OSError, ValueError) as exc:
            raise _usage(str(exc)) from None
    if args.jukinet_url:
        try:
            check_url(args.jukinet_url, allow_insecure=args.allow_insecure_jukinet)
        except ValueError as exc:
            raise _usage(str(exc)) from None
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
    store_options = dict(audit_key_file=args.audit_key_file, anchor_file=args.audit_anchor,
                         anchor_every=args.anchor_every)
    Store(db, **store_options).close()  # create, migrate and key once, before any worker starts
    if not args.audit_key_file and not os.environ.get("JUKIMATCH_AUDIT_KEY_FILE"):
        print(f"jukimatch: warning: the audit key is {db}.audit-key, beside the store: whoever can read the store "
              "can read the key; give --audit-key-file on another volume or account", file=sys.stderr)
    if not args.audit_anchor:
        print("jukimatch: warning: no --audit-anchor: deleting the newest audit entries would go unnoticed",
              file=sys.stderr)
    log_config = uvicorn_log_config(args.log_level, access_log=not args.no_access_log)
    interval = args.retry_interval or None
    if args.workers == 1:
        jukinet = (HttpJukinet(args.jukinet_url, token=token, allow_insecure=args.allow_insecure_jukinet)
                   if args.jukinet_url else _standin(jukinet_file) if jukinet_file else None)
        app = create_app(Store(db, **store_options), jukinet=jukinet, retry_interval_s=interval,
                         review_four_eyes=not args.no_four_eyes, review_idle_s=args.review_idle)
        uvicorn.run(app, host=args.host, port=args.port, log_config=log_config, access_log=not args.no_access_log,
                    **tls)
        return 0
    url = args.jukinet_url
    standin_server = None
    if jukinet_file and not url:
        url, standin_server = _serve_standin_over_http(_standin(jukinet_file))
    os.environ["JUKIMATCH_DB"] = str(db.resolve())
    os.environ["JUKIMATCH_RETRY_INTERVAL"] = str(args.retry_interval or 0)
    os.environ["JUKIMATCH_REVIEW_FOUR_EYES"] = "0" if args.no_four_eyes else "1"
    os.environ["JUKIMATCH_REVIEW_IDLE"] = str(args.review_idle)
    os.environ["JUKIMATCH_ANCHOR_EVERY"] = str(args.anchor_every)
    for name, value in (("JUKIMATCH_JUKINET_URL", url), ("JUKIMATCH_AUDIT_KEY_FILE", args.audit_key_file),
                        ("JUKIMATCH_AUDIT_ANCHOR", args.audit_anchor),
                        ("JUKIMATCH_JUKINET_TOKEN_FILE", args.jukinet_token_file)):
        if value:
            os.environ[name] = str(Path(value).resolve()) if name != "JUKIMATCH_JUKINET_URL" else value
    if args.allow_insecure_jukinet:
        os.environ["JUKIMATCH_JUKINET_INSECURE"] = "1"
    try:
        _run_workers(uvicorn.Config("jukimatch.api.service.app:app_from_env", factory=True, host=args.host,
                                    port=args.port, workers=args.workers, log_config=log_config,
                                    access_log=not args.no_access_log, **tls))
    finally:
        if standin_server is not None:
            standin_server.should_exit = True
    return 0
