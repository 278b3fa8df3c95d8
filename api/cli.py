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
from contextlib import contextmanager
from pathlib import Path


class UsageError(Exception):
    """Bad usage or unusable input: exit 2 with one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse exits 2 too; keep its one-line form
        self.print_usage(sys.stderr)
        raise UsageError(message)


@contextmanager
def _progress_bar(enabled: bool):
    """A tqdm bar per phase on a terminal; nothing otherwise."""
    if not enabled:
        yield None
        return
    from tqdm import tqdm

    bars: dict[str, tqdm] = {}

    def update(phase: str, done: int, total: int) -> None:
        bar = bars.get(phase)
        if bar is None:
            bar = bars[phase] = tqdm(total=total, desc=phase, unit="pair", leave=False, file=sys.stderr)
        bar.update(done - bar.n)

    try:
        yield update
    finally:
        for bar in bars.values():
            bar.close()


@contextmanager
def _threads(n: int | None):
    """Use n Numba threads for the duration, restoring the previous count afterwards."""
    if not n:
        yield
        return
    import numba

    if n < 1 or n > numba.config.NUMBA_NUM_THREADS:
        raise UsageError(f"--workers must lie in 1..{numba.config.NUMBA_NUM_THREADS}, got {n}")
    before = numba.get_num_threads()
    numba.set_num_threads(n)
    try:
        yield
    finally:
        numba.set_num_threads(before)


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


def _print_summary(summary: dict, out: Path) -> None:
    d = summary["decisions"]
    rows = summary["rows"]
    print(f"residents in {rows['residents_in']:,}  decisions out {rows['decisions_out']:,}  "
          f"conserved: {'yes' if rows['conserved'] else 'NO'}")
    print("  " + "  ".join(f"{k} {v:,}" for k, v in d.items()))
    top = sorted(summary["reasons"].items(), key=lambda kv: -kv[1])[:8]
    print("  reasons: " + ", ".join(f"{k} {v:,}" for k, v in top))
    e = summary.get("expected_wrong_numbers")
    if e:
        print(f"  expected wrong numbers among the matches: {e['mean']:.3g} (95 % interval {e['low']:g}-{e['high']:g}),"
              f" each match at most {e['max_risk']:.0e} (--max-risk)")
    t = summary["timings_s"]
    print("  time: " + "  ".join(f"{k} {v:.2f}s" for k, v in t.items()))
    written = summary.get("outputs") or {}  # name -> file (decisions.parquet or decisions.parquet.enc)
    names = [Path(w).name for w in written.values()]
    print(f"  outputs in {out}: " + "  ".join(names + ["summary.json"]))
    if (out / "report.html").exists():
        print(f"  report: {out / 'report.html'}")


def _cmd_reconcile(args: argparse.Namespace) -> int:
    from jukimatch.api import reconcile

    from jukimatch.api.reconcile_options import reconcile_kwargs

    out = Path(args.out)
    kw = reconcile_kwargs(args)  # --workers means Dask worker processes with --backend dask
    threads = args.workers if kw["backend"] == "local" else None
    with _threads(threads), _progress_bar(sys.stderr.isatty() and not args.quiet) as bar:
        summary = reconcile(args.residents, args.responses, out, model=args.model, encoding=args.encoding,
                            report=not args.no_report, progress=bar, **kw)
    if not args.quiet:
        _print_summary(summary, out)
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
        return table.column("my_number").cast("string").to_pylist()
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
    p = _Parser(prog="jukimatch", description="Bulk My Number reconciliation against Juki-net.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    g = sub.add_parser("generate", help="synthetic residents, Juki-net responses and ground truth")
    g.add_argument("--residents", type=int, required=True, help="number of residents")
    g.add_argument("--out", required=True, help="output folder")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    g.add_argument("--encoding", choices=("utf-8", "cp932"), default="utf-8", help="CSV encoding")
    g.add_argument("--profile", help="population profile: a shipped name (default, clustered, dormitories, "
                   "heavy_head, absent_namesakes, double_entries, mixed) or a TOML file overriding the default")
    g.set_defaults(func=_cmd_generate)

    r = sub.add_parser("reconcile", help="reconcile residents with Juki-net's responses")
    r.add_argument("--residents", required=True, help="residents file (.parquet or .csv)")
    r.add_argument("--responses", required=True, help="responses file (.parquet or .csv)")
    r.add_argument("--out", required=True, help="output folder")
    r.add_argument("--workers", type=int, help="CPU threads for the kernels (default: all); with --backend dask: worker processes")
    r.add_argument("--model", help="reuse a saved model.json instead of fitting")
    r.add_argument("--encoding", help="force the CSV encoding (utf-8, cp932); default: detect")
    r.add_argument("--no-report", action="store_true", help="skip report.html")
    r.add_argument("--max-risk", type=float, metavar="P",
                   help="largest probability, per automatic match, that the number is someone else's "
                        "(default 1e-5); riskier ones go to review")
    r.add_argument("--quiet", action="store_true", help="print nothing on success")
    r.set_defaults(func=_cmd_reconcile)
    from jukimatch.api.reconcile_options import add_reconcile_options

    add_reconcile_options(r)  # --backend --scheduler --partitions --resume --chunk-rows --encrypt-key-file

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


def _add_plugin_commands(sub) -> None:
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


def main(argv: list[str] | None = None) -> int:
    from jukimatch.engine.io import InputError

    import warnings

    from jukimatch.engine.files.crypt import KeyFileWarning

    def one_line(message, category, *rest, **kw) -> None:
        print(f"jukimatch: warning: {message}", file=sys.stderr)

    warnings.showwarning = one_line
    warnings.simplefilter("always", KeyFileWarning)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        return args.func(args)
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


if __name__ == "__main__":
    sys.exit(main())
