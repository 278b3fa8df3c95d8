"""`jukimatch ...`: parsing and printing only; the work is in jukimatch.api and the engine.

Exit status: 0 success, 2 bad usage or unusable input (one line naming file, row and
field), 1 internal failure.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from pathlib import Path

from typing import Any

from jukimatch.api.console import Parser, Subparsers, UsageError
from jukimatch.api.reconcile_cli import add_reconcile_parser


def _cmd_generate(args: argparse.Namespace) -> int:
    from jukimatch.api import generate

    from jukimatch.datasets import load_profile

    if args.residents < 1:
        raise UsageError(f"--residents must be at least 1, got {args.residents}")
    try:
        profile = load_profile(args.profile)
    except ValueError as exc:  # unknown name, missing file, bad TOML, a rate out of range
        raise UsageError(f"--profile: {exc}") from exc
    result = generate(args.residents, args.out, seed=args.seed, fmt=args.format, encoding=args.encoding,
                      profile=profile)
    print(json.dumps(result, indent=2, ensure_ascii=False, default=str))
    return 0


def _numbers_from_file(path: Path) -> list[str | None]:
    from jukimatch.engine.io import InputError

    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.suffix.lower() in (".parquet", ".csv"):
        import pyarrow.csv as pcsv
        import pyarrow.parquet as pq

        if path.suffix.lower() == ".parquet":
            table = pq.read_table(path)
        else:
            table = pcsv.read_csv(path, convert_options=pcsv.ConvertOptions(
                column_types={"my_number": "string"}, include_columns=["my_number"]))
        if "my_number" not in table.column_names:
            raise InputError(f"{path}: column my_number: required column missing")
        values: list[str | None] = table.column("my_number").cast("string").to_pylist()
        return values
    return [line.strip() or None for line in path.read_text(encoding="utf-8-sig").splitlines()]


def _cmd_check_number(args: argparse.Namespace) -> int:
    from jukimatch.api import check_numbers

    if bool(args.numbers) == bool(args.file):
        raise UsageError("give numbers as arguments or --file PATH, not both and not neither")
    values = args.numbers if args.numbers else _numbers_from_file(Path(args.file))
    results = check_numbers(values)
    bad = 0
    for i, r in enumerate(results, start=1):
        where = f"row {i}: " if args.file else ""
        if not r["valid"]:
            bad += 1
        if not r["valid"] or not args.invalid_only:
            print(f"{where}{r['masked'] or '(empty)'}\t{'valid' if r['valid'] else 'invalid: ' + r['error']}")
    print(f"{len(results) - bad} valid, {bad} invalid", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="jukimatch", description="Bulk My Number reconciliation against Juki-net.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)

    g = sub.add_parser("generate", help="synthetic residents, Juki-net responses and ground truth")
    g.add_argument("--residents", type=int, required=True, help="number of residents")
    g.add_argument("--out", required=True, help="output folder")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    g.add_argument("--encoding", choices=("utf-8", "cp932"), default="utf-8", help="CSV encoding")
    g.add_argument("--profile", help="population profile: a shipped name (default, clustered, dormitories, "
                   "heavy_head, absent_namesakes, double_entries, mixed) or a TOML file overriding the default")
    g.set_defaults(func=_cmd_generate)

    add_reconcile_parser(sub)

    c = sub.add_parser("check-number", help="validate My Number check digits (printed masked)")
    c.add_argument("numbers", nargs="*", help="12-digit numbers")
    c.add_argument("--file", help="one number per line, or a .csv/.parquet with a my_number column")
    c.add_argument("--invalid-only", action="store_true", help="print only the invalid ones")
    c.set_defaults(func=_cmd_check_number)

    from jukimatch.api.service.commands import add_audit_parser, add_serve_parser

    add_serve_parser(sub)
    add_audit_parser(sub)

    from jukimatch.api.review.commands import add_review_parser, add_users_parser

    add_review_parser(sub)
    add_users_parser(sub)

    from jukimatch.api.files_cli import add_files_parser
    from jukimatch.api.link_cli import add_link_parser

    add_link_parser(sub)
    add_files_parser(sub)
    _add_plugin_commands(sub)
    return p


def _add_plugin_commands(sub: Subparsers) -> None:
    """Commands of the rooms above api (simulate, bench), found through entry points.

    The CLI lives in api and api never imports sim or bench; they register themselves in
    setup.cfg's ``jukimatch.commands`` group and are loaded here by name.
    """
    from importlib.metadata import entry_points

    for ep in sorted(entry_points(group="jukimatch.commands"), key=lambda e: e.name):
        try:
            ep.load()(sub)
        except ImportError as exc:  # a room not installed: say so only when asked for
            missing = sub.add_parser(ep.name, help=f"(unavailable: {exc})")
            missing.set_defaults(func=lambda _a, _e=exc, _n=ep.name: _unavailable(_n, _e))


def _unavailable(name: str, exc: Exception) -> int:
    raise UsageError(f"jukimatch {name} is unavailable here: {exc}")


def main(argv: list[str] | None = None, *, own_process: bool = False) -> int:
    """Run one ``jukimatch`` command; its exit code. ``own_process``: the process is the
    command's own and ends with it (:func:`entry`), so a command may settle it for its
    work (see :func:`jukimatch.api.console.own_process`)."""
    from jukimatch.engine.io import InputError

    import warnings

    from jukimatch.engine.files.crypt import KeyFileWarning

    def one_line(message: Warning | str, category: type[Warning], *rest: Any, **kw: Any) -> None:
        print(f"jukimatch: warning: {message}", file=sys.stderr)

    warnings.showwarning = one_line
    warnings.simplefilter("always", KeyFileWarning)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        args.own_process = own_process
        return int(args.func(args))
    except (UsageError, InputError) as exc:
        print(f"jukimatch: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("jukimatch: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - one line for users, the trace for developers
        print(f"jukimatch: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        if os.environ.get("JUKIMATCH_DEBUG"):
            traceback.print_exc()
        return 1


def entry() -> None:
    """The ``jukimatch`` command: :func:`main` in a process of its own.

    Freed memory is kept for reuse (:func:`~jukimatch.engine.memory.keep_freed_memory`). What
    is alive when the command ends (the modules, Numba's typing tables and loaded
    kernels: hundreds of thousands of objects) is frozen out of the cyclic GC first, so the
    interpreter does not walk it all again on its way out (~0.3 s after a run). Only here,
    never in ``main``, which tests and other programs call in their own process.
    """
    import gc

    from jukimatch.engine.memory import keep_freed_memory

    keep_freed_memory()
    code = main(own_process=True)
    sys.stdout.flush()
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    entry()
