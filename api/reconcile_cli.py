"""`jukimatch reconcile`: parsing and printing only; the work is in :func:`jukimatch.api.reconcile`.

``--threads`` sets the Numba threads of this process; ``--dask-workers`` the worker processes
of a Dask LocalCluster. The old ``--workers`` (which meant either, by backend) is still read,
with a warning.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, NoReturn

from jukimatch.api.console import (
    Subparsers, deprecated_workers, own_process, print_summary, progress_bar, threads,
)

__all__ = ["add_reconcile_parser", "reconcile_kwargs", "start_reading"]


def _cmd_reconcile(args: argparse.Namespace) -> int:
    kw = _checked_kwargs(args)
    own_process(args, start=lambda: start_reading(args, kw), pandas=kw["backend"] != "local")
    from jukimatch.api import reconcile  # the engine and Numba: imported while the inputs are read

    kw = _with_thresholds(kw)

    out = Path(args.out)
    with threads(args.threads), progress_bar(sys.stderr.isatty() and not args.quiet) as bar:
        summary = reconcile(args.residents, args.responses, out, model=args.model, encoding=args.encoding,
                            report=not args.no_report, progress=bar, **kw)
    if not args.quiet:
        print_summary(summary, out)
    return 0


def _with_thresholds(kw: dict[str, Any]) -> dict[str, Any]:
    max_risk = kw.pop("max_risk", None)
    if max_risk is not None:
        from jukimatch.engine.reconcile.decide import Thresholds

        kw["thresholds"] = Thresholds(max_risk=max_risk)
    return kw


def start_reading(args: argparse.Namespace, kw: dict[str, Any]) -> None:
    """Start reading both inputs in the background before the engine is imported (local backend:
    the Dask backend reads partitions its own way). The run takes the tables when it reads."""
    if kw.get("backend", "local") != "local":
        return
    from jukimatch.engine.io import prefetch
    from jukimatch.engine.reconcile.checkpoint import local_partitions

    if (kw.get("partitions") or local_partitions(args.residents, args.out, resume=bool(kw.get("resume")))) > 1:
        return  # partitions taken in turn: no whole table is read

    prefetch(args.residents, "residents", encoding=args.encoding)
    prefetch(args.responses, "responses", encoding=args.encoding)


def add_reconcile_parser(subparsers: Subparsers) -> argparse.ArgumentParser:
    """Add the ``reconcile`` sub-command to ``jukimatch``'s sub-parsers; returns its parser."""
    r: argparse.ArgumentParser = subparsers.add_parser("reconcile", help="reconcile residents with Juki-net's responses")
    r.add_argument("--residents", required=True, help="residents file (.parquet or .csv)")
    r.add_argument("--responses", required=True, help="responses file (.parquet or .csv)")
    r.add_argument("--out", required=True, help="output folder")
    r.add_argument("--threads", type=int, help="CPU threads for the kernels (default: all)")
    r.add_argument("--workers", type=int, help="deprecated: --threads, or --dask-workers with --backend dask")
    r.add_argument("--model", help="reuse a saved model.json instead of fitting")
    r.add_argument("--encoding", help="force the CSV encoding (utf-8, cp932); default: detect")
    r.add_argument("--no-report", action="store_true", help="skip report.html")
    r.add_argument("--max-risk", type=float, metavar="P",
                   help="largest probability, per automatic match, that the number is someone else's "
                        "(default 1e-5); riskier ones go to review")
    r.add_argument("--quiet", action="store_true", help="print nothing on success")
    r.set_defaults(func=_cmd_reconcile)
    g = r.add_argument_group("scale-out, survival and protected files")
    g.add_argument("--backend", choices=("local", "dask"), default=None,
                   help="local (default) or dask: hash partitions on a dask.distributed cluster")
    g.add_argument("--scheduler", metavar="ADDRESS",
                   help="dask scheduler address (implies --backend dask; default: a LocalCluster of "
                        "--dask-workers processes)")
    g.add_argument("--dask-workers", type=int, metavar="N",
                   help="dask: worker processes of the LocalCluster (default: CPU count)")
    g.add_argument("--partitions", type=int, metavar="N",
                   help="hash partitions: dask, 2 per worker by default; local, taken in turn so that memory is "
                        "set by a partition, not the input (default: 1, or enough for the memory available)")
    g.add_argument("--resume", action="store_true",
                   help="continue an interrupted run in the same --out with the same inputs and options")
    g.add_argument("--chunk-rows", type=int, metavar="N", help="resident rows per saved chunk (default 500000)")
    g.add_argument("--encrypt-key-file", metavar="PATH",
                   help="write decisions, review and pending encrypted (AES-256-GCM) with this key; "
                        "see `jukimatch files keygen` and `jukimatch files decrypt`")
    r.set_defaults(_reconcile_parser=r)
    return r


def reconcile_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """Keyword arguments for :func:`jukimatch.api.reconcile` from the parsed options.

    Bad combinations go through the parser's ``error`` (exit 2, one line). The old
    ``--workers`` becomes ``--dask-workers`` on the Dask backend and ``--threads`` otherwise
    (``args.threads`` is set from it).
    """
    return _with_thresholds(_checked_kwargs(args))


def _checked_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """:func:`reconcile_kwargs` with ``--max-risk`` checked but not yet made into thresholds
    (which imports the engine)."""
    parser = getattr(args, "_reconcile_parser", None)

    def error(msg: str) -> NoReturn:
        if parser is not None:
            parser.error(msg)
        raise ValueError(msg)

    backend = args.backend or ("dask" if args.scheduler else "local")
    old = deprecated_workers(args, "--dask-workers" if backend == "dask" else "--threads")
    dask_workers = getattr(args, "dask_workers", None)
    if old is not None:
        if backend == "dask":
            dask_workers = dask_workers if dask_workers is not None else old
        elif getattr(args, "threads", None) is None:
            args.threads = old
    if args.scheduler and backend != "dask":
        error("--scheduler needs --backend dask")
    if dask_workers is not None and backend != "dask":
        error("--dask-workers needs --backend dask")
    if dask_workers is not None and dask_workers < 1:
        error(f"--dask-workers must be at least 1, got {dask_workers}")
    if args.partitions is not None and args.partitions < 1:
        error(f"--partitions must be at least 1, got {args.partitions}")
    if args.chunk_rows is not None and args.chunk_rows < 1:
        error(f"--chunk-rows must be at least 1, got {args.chunk_rows}")
    kw = {"backend": backend, "resume": args.resume, "encrypt_key_file": args.encrypt_key_file}
    max_risk = getattr(args, "max_risk", None)
    if max_risk is not None:
        if not 0.0 < max_risk <= 1.0:
            error(f"--max-risk must be a probability in (0, 1], got {max_risk}")
        kw["max_risk"] = max_risk
    if backend == "dask":
        kw.update(scheduler=args.scheduler, dask_workers=dask_workers)
    if args.partitions is not None:
        kw["partitions"] = args.partitions
    if args.chunk_rows is not None:
        kw["chunk_rows"] = args.chunk_rows
    return kw
