"""``jukimatch bench``: the CLI face of ``python -m jukimatch.bench``.

Registered through the ``jukimatch.commands`` entry point group (setup.cfg), so that the CLI
in ``jukimatch.api`` never imports ``bench`` itself: imports flow upwards only.
"""
from __future__ import annotations

import argparse
from typing import Any


def _run(args: argparse.Namespace) -> int:
    from .__main__ import main

    return main(args.bench_args)


def add_bench_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``jukimatch bench`` (every argument is passed on; ``bench --help`` lists them)."""
    p = subparsers.add_parser(
        "bench", add_help=False, prefix_chars="\0",
        help="jukimatch beside Splink and pandas on the same generated data (needs the bench extra)",
    )
    p.add_argument("bench_args", nargs=argparse.REMAINDER)
    p.set_defaults(func=_run)
    return p
