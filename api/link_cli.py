"""`jukimatch link`: parsing and printing only; the work is in :func:`jukimatch.api.link.link`."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from jukimatch.api.console import Subparsers, UsageError, deprecated_workers, own_process, progress_bar, threads

if TYPE_CHECKING:  # pragma: no cover - the linker loads when `link` runs, not when the CLI starts
    from jukimatch.engine.link.blocking import RuleCount

__all__ = ["add_link_parser"]


def _print_counts(counts: list[RuleCount]) -> None:
    width = max((len(c.name) for c in counts), default=10)
    print("blocking (pairs per rule, counted before comparing):", file=sys.stderr)
    for c in counts:
        print(f"  {c.name:<{width}}  {c.pairs:>14,}", file=sys.stderr)


def _cmd_link(args: argparse.Namespace) -> int:
    own_process(args)
    from jukimatch.api.link import link
    from jukimatch.engine.link.blocking import BlockingLimitError

    for flag, v in (("--threshold", args.threshold), ("--review-threshold", args.review_threshold)):
        if v is not None and not 0.0 < v < 1.0:
            raise UsageError(f"{flag} must lie strictly between 0 and 1, got {v}")
    out = Path(args.out)
    n_threads = args.threads if args.threads is not None else deprecated_workers(args, "--threads")
    with threads(n_threads), progress_bar(sys.stderr.isatty() and not args.quiet) as bar:
        try:
            summary = link(args.left, args.right, out=out, config=args.config, threshold=args.threshold,
                           review_threshold=args.review_threshold, encoding=args.encoding,
                           report=not args.no_report, progress=bar,
                           on_blocking=None if args.quiet else _print_counts,
                           encrypt_key_file=args.encrypt_key_file)
        except BlockingLimitError as exc:
            raise UsageError(str(exc)) from None
    if not args.quiet:
        p, th, rv = summary["pairs"], summary["threshold"], summary["review"]
        print(f"{summary['mode']}: {summary['blocking']['candidate_pairs']:,} candidate pairs compared, "
              f"{p['above_threshold']:,} at or above p={th['match_probability']}: {p['accepted']:,} automatic "
              f"matches, {p['refused']:,} refused")
        print(f"  review: {rv['pairs']:,} pairs ({rv['records']:,} records) for a person to look at"
              + (f"; band p={th['review_probability']}..{th['match_probability']}: {p['review_band']:,} pairs"
                 if th["review_probability"] < th["match_probability"] else ""))
        if "clusters" in summary:
            c = summary["clusters"]
            print(f"  clusters: {c['clusters']:,} holding {c['records_in_clusters']:,} records; sizes {c['by_size']}")
        for w in summary["warnings"]:
            print(f"  warning: {w}")
        print("  time: " + "  ".join(f"{k} {v:.2f}s" for k, v in summary["timings_s"].items()))
        files = summary.get("encrypted") or ["links.parquet"] + (["clusters.parquet"] if "clusters" in summary else [])
        files = [*files, "summary.json"]
        print(f"  outputs: {out}/" + "  ".join(files) + ("  report.html" if not args.no_report else ""))
    return 0


def add_link_parser(subparsers: Subparsers) -> argparse.ArgumentParser:
    """Add the ``link`` sub-command to ``jukimatch``'s sub-parsers; returns its parser."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "link", help="link two files, or find duplicates in one, without inquiry ids",
        description="Link --left with --right (one-to-one), or without --right find duplicate records "
                    "in --left (clusters). Columns, comparisons, blocking rules and thresholds come from "
                    "--config (TOML); the default compares the contract's person columns.")
    p.add_argument("--left", required=True, help="left file (.parquet or .csv)")
    p.add_argument("--right", help="right file (.parquet or .csv); omit to deduplicate --left")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--config", help="link configuration (TOML); default: the contract's person columns")
    p.add_argument("--threshold", type=float, help="match probability for an automatic match (overrides the config)")
    p.add_argument("--review-threshold", type=float,
                   help="match probability from which a pair goes to review (overrides the config)")
    p.add_argument("--threads", type=int, help="CPU threads for the kernels (default: all)")
    p.add_argument("--workers", type=int, help="deprecated: --threads")
    p.add_argument("--encoding", help="force the CSV encoding (utf-8, cp932); default: detect")
    p.add_argument("--encrypt-key-file", metavar="PATH",
                   help="write links and clusters encrypted (AES-256-GCM) with this key; "
                        "see `jukimatch files keygen` and `jukimatch files decrypt`")
    p.add_argument("--no-report", action="store_true", help="skip report.html")
    p.add_argument("--quiet", action="store_true", help="print nothing on success")
    p.set_defaults(func=_cmd_link)
    return p
