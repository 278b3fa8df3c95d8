"""Compile the engine's Numba kernels once, split over the machine's cores, before a first run.

Why: every kernel is compiled on first use and kept in Numba's on-disk cache (``cache=True``,
files beside the source in ``__pycache__``). On a fresh clone the first reconciliation
compiled them one after another in one process: ~30 s of a 2-core machine's first
``make demo``, with one core idle. ``make install`` runs this module instead: the kernels a
reconciliation compiles are listed with their signatures in ``data/kernels.txt``; they are
handed out, a module's kernels together, to one process per core, each compiling its share
straight into the same cache the run reads. The run then finds every kernel compiled.

Kernels that share a helper compiled for two signatures go to the same process: two processes
saving different signatures of one function at once could leave Numba's cache index naming
the other's file. A stale list (a kernel renamed or changed) costs only time: what is missing
here is compiled by the run itself, as before. ``--record`` writes the list anew from a small
reconciliation compiled from scratch (``tests/api/test_warmup.py`` says when it is due).

    python -m jukimatch.api.warmup              # compile the listed kernels (make install)
    python -m jukimatch.api.warmup --record     # rewrite data/kernels.txt (~40 s)
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

KERNELS = Path(__file__).with_name("data") / "kernels.txt"
#: residents in the reconciliation that --record and the coverage test run: enough to reach
#: every stage (the model fit falls back to the shipped model below its pair count, which
#: compiles nothing of its own)
SMALL_RUN = 2000


@dataclass(frozen=True)
class Kernel:
    """One compiled signature of a module-level kernel, as the run calls it."""

    module: str
    name: str
    signature: str  # repr of the argument types, e.g. "(Array(int64, 1, 'C', False, aligned=True), int64)"
    seconds: float = 0.0  # compile time when recorded, callees included: balances the processes
    helpers: frozenset[tuple[str, str, str]] = field(default=frozenset())  # (module, qualname, signature)


def load(path: Path = KERNELS) -> list[Kernel]:
    """The listed kernels (none when the list is missing: the run compiles them itself)."""
    if not path.exists():
        return []
    kernels = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        module, name, seconds, signature, *helpers = line.split("\t")
        kernels.append(Kernel(module, name, signature, float(seconds),
                              frozenset(tuple(h.split(" ", 2)) for h in helpers)))  # type: ignore[misc]
    return kernels


def save(kernels: list[Kernel], path: Path = KERNELS) -> None:
    lines = ["# module\tkernel\tseconds\tsignature\thelpers compiled for two signatures (module qualname signature)...",
             "# written by `python -m jukimatch.api.warmup --record`; read by `make install`"]
    for k in kernels:
        lines.append("\t".join([k.module, k.name, f"{k.seconds:.2f}", k.signature,
                                *(" ".join(h) for h in sorted(k.helpers))]))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def shares(kernels: list[Kernel], processes: int) -> list[list[int]]:
    """Indices of ``kernels`` per process: a module's kernels together, kernels tied by a
    helper of two signatures together, the groups dealt longest first to the least loaded."""
    parent = list(range(len(kernels)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[Any, int] = {}
    for i, k in enumerate(kernels):
        for tie in [("module", k.module), *(("helper", h[0], h[1]) for h in k.helpers)]:
            if tie in first:
                parent[root(i)] = root(first[tie])
            else:
                first[tie] = i
    groups: dict[int, list[int]] = {}
    for i in range(len(kernels)):
        groups.setdefault(root(i), []).append(i)
    loads = [0.0] * max(1, processes)
    out: list[list[int]] = [[] for _ in loads]
    for ids in sorted(groups.values(), key=lambda g: -sum(kernels[i].seconds for i in g)):
        j = loads.index(min(loads))
        out[j].extend(ids)
        loads[j] += sum(kernels[i].seconds for i in ids)
    return [s for s in out if s]


#: what a run and the demo import besides the kernels' modules: compiled to bytecode here too
RUN_IMPORTS = ("jukimatch.api.cli", "jukimatch.api.library", "jukimatch.engine.reconcile.local",
               "jukimatch.engine.report", "jukimatch.datasets")


def _compile(indices: list[int]) -> int:
    """In a worker process: compile the given kernels into the on-disk cache.

    Python's bytecode of every module imported here (Numba, NumPy, Arrow, the engine) is
    written too, even under PYTHONDONTWRITEBYTECODE, as an installer writes it: uv installs
    without it (compiling every installed package would cost ~10 s), and without it each
    later process compiles Numba's sources again (~0.6 s of every start)."""
    sys.dont_write_bytecode = False
    import importlib

    from numba.core import types

    names = {n: getattr(types, n) for n in dir(types) if not n.startswith("_")}
    kernels = load()
    missing = 0
    for i in indices:
        k = kernels[i]
        try:
            dispatcher = getattr(importlib.import_module(k.module), k.name)
            dispatcher.compile(eval(k.signature, {"__builtins__": {}}, names))  # noqa: S307 - our own list
        except Exception as exc:  # noqa: BLE001 - a stale entry: the run compiles it instead
            missing += 1
            print(f"warmup: {k.module}.{k.name} not compiled ({type(exc).__name__}: {exc})", file=sys.stderr)
    for module in RUN_IMPORTS:
        importlib.import_module(module)
    return 1 if missing else 0


def warm(processes: int | None = None, quiet: bool = False) -> float:
    """Compile every listed kernel, in ``processes`` processes (default: the usable cores);
    returns the wall seconds. Already cached kernels only load, so a second call is quick."""
    t = time.perf_counter()
    kernels = load()
    n = processes or len(os.sched_getaffinity(0))
    procs = [subprocess.Popen([sys.executable, "-m", "jukimatch.api.warmup", "--compile", ",".join(map(str, ids))])
             for ids in shares(kernels, n)]
    for p in procs:
        p.wait()
    seconds = time.perf_counter() - t
    if not quiet:
        print(f"warmup: {len(kernels)} kernel signatures compiled or loaded in {seconds:.1f}s "
              f"({len(procs)} processes)")
    return seconds


def compiled_by_small_run(work: Path) -> None:
    """Generate and reconcile ``SMALL_RUN`` residents under ``work``: what a run compiles."""
    from jukimatch.api import generate, reconcile

    made = generate(SMALL_RUN, work / "data", seed=1)
    paths = made.get("paths", {})
    reconcile(paths.get("residents", work / "data" / "residents.parquet"),
              paths.get("responses", work / "data" / "responses.parquet"), work / "out")


def called_kernels() -> set[tuple[str, str, str]]:
    """(module, name, signature) of every module-level kernel of the package with a compiled or
    cache-loaded signature in this process: those the run called from Python."""
    from numba.core.registry import CPUDispatcher

    found: set[tuple[str, str, str]] = set()
    for modname, module in list(sys.modules.items()):
        if not modname.startswith("jukimatch.") or module is None:
            continue
        for name, obj in vars(module).items():
            if isinstance(obj, CPUDispatcher) and obj.py_func.__module__ == modname:
                found.update((modname, name, repr(sig)) for sig in obj.signatures)
    return found


def record(path: Path = KERNELS) -> list[Kernel]:
    """Compile a small reconciliation from scratch, in a process with a Numba cache of its own,
    and list what it compiled from Python, with each signature's compile time and its
    helpers of two signatures."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "NUMBA_CACHE_DIR": str(Path(tmp) / "numba")}
        subprocess.run([sys.executable, "-m", "jukimatch.api.warmup", "--record-in", tmp, "--to", str(path)],
                       env=env, check=True)
    return load(path)


def _record(work: Path, path: Path) -> None:
    """In the recording process (its own empty cache): the small run, each compile timed."""
    from numba.core import event

    stack: list[dict[str, Any]] = []
    top: list[tuple[tuple[str, str, str], float, set[tuple[str, str, str]]]] = []

    class Listener(event.Listener):
        def on_start(self, ev: Any) -> None:
            stack.append({"t": time.perf_counter(), "callees": set()})

        def on_end(self, ev: Any) -> None:
            frame = stack.pop()
            func = ev.data["dispatcher"].py_func
            key = (func.__module__, func.__qualname__, repr(ev.data["args"]))
            if stack:
                stack[-1]["callees"] |= frame["callees"] | {key}
            else:
                top.append((key, time.perf_counter() - frame["t"], frame["callees"]))

    event.register("numba:compile", Listener())  # type: ignore[no-untyped-call]
    compiled_by_small_run(work)
    called = called_kernels()
    signatures: dict[tuple[str, str], set[str]] = {}
    for key, _, callees in top:
        for m, q, s in callees | {key}:
            signatures.setdefault((m, q), set()).add(s)
    save([Kernel(m, q, s, round(t, 2),
                 frozenset(h for h in callees if h[0].startswith("jukimatch.") and len(signatures[h[:2]]) > 1))
          for (m, q, s), t, callees in top if (m, q, s) in called], path)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m jukimatch.api.warmup", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--record", action="store_true", help=f"rewrite {KERNELS.name} from a small run")
    p.add_argument("--processes", type=int, help="compiling processes (default: usable cores)")
    p.add_argument("--compile", metavar="I,J,...", help=argparse.SUPPRESS)  # a worker's share
    p.add_argument("--record-in", metavar="DIR", help=argparse.SUPPRESS)  # the recording process
    p.add_argument("--to", default=str(KERNELS), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.record_in is not None:
        _record(Path(args.record_in), Path(args.to))
        return 0
    if args.compile is not None:
        return _compile([int(i) for i in args.compile.split(",") if i])
    if args.record:
        kernels = record()
        print(f"warmup: {len(kernels)} kernel signatures, {sum(k.seconds for k in kernels):.1f}s of compiling, "
              f"written to {KERNELS}")
        return 0
    warm(args.processes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
