"""``python -m jukimatch.bench``: jukimatch beside its peers on the same generated data.

Examples::

    python -m jukimatch.bench                                  # 100k and 1M, all contestants
    python -m jukimatch.bench --sizes 100000,1000000,10000000  # + 10M for jukimatch alone
    python -m jukimatch.bench --sizes 100000 --contestants jukimatch,pandas --repeats 5
    python -m jukimatch.bench probe [--splink]                 # reconcile beside a bare probe (bench_probe)

Micro benchmarks are separate: ``pytest bench/ --benchmark-only``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .contestants import CONTESTANTS


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(float(s.replace("_", ""))) for s in text.split(",") if s.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"--sizes must be comma-separated integers, got {text!r}") from None
    if not sizes or min(sizes) < 100:
        raise argparse.ArgumentTypeError("--sizes needs at least one size of 100 residents or more")
    return tuple(sorted(set(sizes)))


def _contestants(text: str) -> tuple[str, ...]:
    names = tuple(s.strip() for s in text.split(",") if s.strip())
    bad = [n for n in names if n not in CONTESTANTS]
    if bad or not names:
        raise argparse.ArgumentTypeError(f"--contestants: unknown {bad}; choose from {','.join(CONTESTANTS)}")
    return names


def build_parser() -> argparse.ArgumentParser:
    from .endtoend import Config

    d = Config()
    ap = argparse.ArgumentParser(
        prog="python -m jukimatch.bench",
        description="End-to-end benchmark: jukimatch reconcile beside Splink 5 (DuckDB) and a pandas + "
                    "rapidfuzz baseline on the same generated data, each in its own process; wall time, peak "
                    "memory of the process tree, and accuracy against the generator's truth. Results go to "
                    "JSON, Markdown and a PNG plot under the results folder.",
    )
    ap.add_argument("--sizes", type=_sizes, default=d.sizes,
                    help="residents per run, comma-separated (default 100000,1000000; add 10000000 for the "
                         "scaling curve)")
    ap.add_argument("--contestants", type=_contestants, default=d.contestants,
                    help=f"which to run (default {','.join(d.contestants)})")
    ap.add_argument("--peer-max-size", type=int, default=d.peer_max_size,
                    help="run the peers only up to this size; above it jukimatch runs alone (default 1000000)")
    ap.add_argument("--repeats", type=int, default=None,
                    help="runs per contestant and size, median reported (default 3 for <= 100k, 1 above)")
    ap.add_argument("--seed", type=int, default=d.seed, help=f"population seed (default {d.seed})")
    ap.add_argument("--contestant-seed", type=int, default=d.contestant_seed,
                    help=f"seed of Splink's random u sampling (default {d.contestant_seed})")
    ap.add_argument("--warmup-size", type=int, default=d.warmup_size,
                    help=f"residents in the excluded warm-up run (default {d.warmup_size}; 0 skips it)")
    ap.add_argument("--timeout", type=float, default=d.timeout_s, help="seconds before one run is stopped")
    ap.add_argument("--results-dir", type=Path, default=d.results_dir,
                    help=f"where JSON/Markdown/PNG go (default {d.results_dir})")
    ap.add_argument("--data-dir", type=Path, default=None,
                    help="where generated populations are cached (default RESULTS_DIR/data)")
    ap.add_argument("--keep-outputs", action="store_true", help="keep every run's decisions.parquet")
    return ap


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["probe"]:  # the side-by-side against the machine (issue #16)
        from .bench_probe import main as probe_main

        return probe_main(argv[1:])
    args = build_parser().parse_args(argv)
    from .machine import BENCH_EXTRA, missing_modules

    needs = {"splink": ("splink", "duckdb", "pandas"), "pandas": ("pandas", "rapidfuzz")}
    missing = missing_modules("psutil", *(m for c in args.contestants for m in needs.get(c, ())))
    if missing:
        print(f"jukimatch bench: {', '.join(missing)} not installed; {BENCH_EXTRA} or choose --contestants",
              file=sys.stderr)
        return 2
    from .endtoend import Config, markdown, run, save

    cfg = Config(sizes=args.sizes, contestants=args.contestants, peer_max_size=args.peer_max_size,
                 repeats=args.repeats, seed=args.seed, contestant_seed=args.contestant_seed,
                 warmup_size=args.warmup_size, timeout_s=args.timeout, results_dir=args.results_dir,
                 data_dir=args.data_dir, keep_outputs=args.keep_outputs)
    result = run(cfg)
    paths = save(result, cfg.results_dir)
    print()
    print(markdown(result))
    for kind, p in paths.items():
        print(f"{kind:>8}: {p}")
    failed = [(size, n) for size, s in result["sizes"].items() for n, c in s["contestants"].items() if not c.get("ok")]
    if failed:
        print("failed runs: " + ", ".join(f"{n} at {int(size):,}" for size, n in failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
