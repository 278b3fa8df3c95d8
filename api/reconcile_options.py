"""Options of ``jukimatch reconcile`` for scale-out, survival and protected files.

``api/cli.py`` adds them to its reconcile subparser and passes them on::

    from jukimatch.api.reconcile_options import add_reconcile_options, reconcile_kwargs
    add_reconcile_options(r)                      # in build_parser, after the existing options
    summary = reconcile(..., **reconcile_kwargs(args))   # in _cmd_reconcile
"""
from __future__ import annotations

import argparse


def add_reconcile_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--backend``, ``--scheduler``, ``--partitions``, ``--resume``, ``--chunk-rows``,
    ``--encrypt-key-file`` to the reconcile subparser."""
    g = parser.add_argument_group("scale-out, survival and protected files")
    g.add_argument("--backend", choices=("local", "dask"), default=None,
                   help="local (default) or dask: hash partitions on a dask.distributed cluster")
    g.add_argument("--scheduler", metavar="ADDRESS",
                   help="dask scheduler address (implies --backend dask; default: a LocalCluster of --workers "
                        "processes)")
    g.add_argument("--partitions", type=int, metavar="N", help="dask: hash partitions (default: 2 per worker)")
    g.add_argument("--resume", action="store_true",
                   help="continue an interrupted run in the same --out with the same inputs and options")
    g.add_argument("--chunk-rows", type=int, metavar="N", help="resident rows per saved chunk (default 500000)")
    g.add_argument("--encrypt-key-file", metavar="PATH",
                   help="write decisions, review and pending encrypted (AES-256-GCM) with this key; "
                        "see `jukimatch files keygen` and `jukimatch files decrypt`")
    parser.set_defaults(_reconcile_options_parser=parser)


def reconcile_kwargs(args: argparse.Namespace) -> dict:
    """Keyword arguments for :func:`jukimatch.api.reconcile` from the parsed options.

    Bad combinations go through the parser's ``error`` (exit 2, one line).
    """
    parser = getattr(args, "_reconcile_options_parser", None)

    def error(msg: str):
        if parser is not None:
            parser.error(msg)
        raise ValueError(msg)

    backend = args.backend or ("dask" if args.scheduler else "local")
    if args.scheduler and backend != "dask":
        error("--scheduler needs --backend dask")
    if args.partitions is not None and backend != "dask":
        error("--partitions needs --backend dask")
    if args.partitions is not None and args.partitions < 1:
        error(f"--partitions must be at least 1, got {args.partitions}")
    if args.chunk_rows is not None and args.chunk_rows < 1:
        error(f"--chunk-rows must be at least 1, got {args.chunk_rows}")
    kw = {"backend": backend, "resume": args.resume, "encrypt_key_file": args.encrypt_key_file}
    max_risk = getattr(args, "max_risk", None)
    if max_risk is not None:
        if not 0.0 < max_risk <= 1.0:
            error(f"--max-risk must be a probability in (0, 1], got {max_risk}")
        from jukimatch.engine.reconcile.decide import Thresholds

        kw["thresholds"] = Thresholds(max_risk=max_risk)
    if backend == "dask":
        kw.update(scheduler=args.scheduler, partitions=args.partitions, dask_workers=getattr(args, "workers", None))
    if args.chunk_rows is not None:
        kw["chunk_pairs"] = args.chunk_rows
    return kw


__all__ = ["add_reconcile_options", "reconcile_kwargs"]
