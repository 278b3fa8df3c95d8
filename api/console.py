"""What the sub-commands of ``jukimatch`` share: the usage error, the parser, progress bars,
the thread count, warnings and the reconcile summary. Printing only; the work is elsewhere."""
from __future__ import annotations

import argparse
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, NoReturn, TypeAlias


#: what ``add_subparsers`` returns: each command module adds its parser to it
Subparsers: TypeAlias = "argparse._SubParsersAction[Any]"


class UsageError(Exception):
    """Bad usage or unusable input: exit 2 with one line."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # argparse exits 2 too; keep its one-line form
        self.print_usage(sys.stderr)
        raise UsageError(message)


@contextmanager
def progress_bar(enabled: bool) -> Iterator[Callable[[str, int, int], None] | None]:
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
def threads(n: int | None, flag: str = "--threads") -> Iterator[None]:
    """Use n Numba threads for the duration, restoring the previous count afterwards."""
    if not n:
        yield
        return
    import numba

    most = int(numba.config.NUMBA_NUM_THREADS)  # type: ignore[attr-defined]  # read from the environment
    if n < 1 or n > most:
        raise UsageError(f"{flag} must lie in 1..{most}, got {n}")
    before = numba.get_num_threads()
    numba.set_num_threads(n)
    try:
        yield
    finally:
        numba.set_num_threads(before)


def own_process(args: argparse.Namespace, start: Callable[[], None] | None = None, *,
                pandas: bool = False) -> None:
    """Settle the process of a command whose work is about to start.

    Numba need not probe SciPy's BLAS (:func:`~jukimatch.engine.runtime.numba_without_blas`);
    in a process of the command's own (``args.own_process``, set by the ``jukimatch``
    command, never by :func:`main`) and unless the work uses ``pandas``, pandas is refused
    (:func:`~jukimatch.engine.io.refuse_pandas`). ``start`` runs after pyarrow is settled and
    before Numba is imported: the inputs begin to be read there.
    """
    if getattr(args, "own_process", False) and not pandas:
        from jukimatch.engine.io import refuse_pandas

        refuse_pandas()
    if start is not None:
        start()
    from jukimatch.engine.runtime import numba_without_blas

    numba_without_blas()


def warn(message: str) -> None:
    """One line on stderr, as every other warning of the command line."""
    print(f"jukimatch: warning: {message}", file=sys.stderr)


def deprecated_workers(args: argparse.Namespace, instead: str) -> int | None:
    """``--workers`` (the old spelling): its value, with a warning naming the new option."""
    n = getattr(args, "workers", None)
    if n is not None:
        warn(f"--workers is deprecated; use {instead}")
    return n


def print_summary(summary: dict[str, Any], out: Path) -> None:
    """The few lines ``jukimatch reconcile`` prints about a finished run."""
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
    run = summary.get("run") or {}
    how = f"  ({run['partitions']} partitions in turn)" if run.get("in_turn") else ""
    print("  time: " + "  ".join(f"{k} {v:.2f}s" for k, v in t.items()) + how)
    written = summary.get("outputs") or {}  # name -> file (decisions.parquet or decisions.parquet.enc)
    names = [Path(w).name for w in written.values()]
    print(f"  outputs in {out}: " + "  ".join(names + ["summary.json"]))
    if (out / "report.html").exists():
        print(f"  report: {out / 'report.html'}")


__all__ = ["Parser", "Subparsers", "UsageError", "deprecated_workers", "print_summary", "progress_bar", "threads", "warn"]
