"""The local backend over hash partitions taken in turn: memory set by the partition, not the input.

Both inputs are read once, batch by batch, into the files of their partitions (:mod:`.split`,
as the Dask backend splits them): no whole table is ever held. The stages of :mod:`.parts` then run as tasks in this process, one partition
after another; every result a later stage needs is parked on disk (:mod:`.spill`) and mapped
back without copying when its turn comes. What stays in memory between stages is what the
whole run needs: a few numbers per row (pairs counted, population keys and figures, the decisions'
sort keys) and the outputs being merged.

Decisions and output files are identical to those of the whole input in one part.
"""
from __future__ import annotations

import itertools
import shutil
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

import numba

from jukimatch.engine.files.crypt import load_key
from jukimatch.engine.memory import freed_memory_line, release_above
from jukimatch.engine.reconcile.checkpoint import digests_in_background, fault_point
from jukimatch.engine.reconcile.common import Options, clear_summary, open_workdir
from jukimatch.engine.reconcile.parts import SIDE_BY_SIDE, Sealed, run_parts
from jukimatch.engine.reconcile.prepare import Prepared
from jukimatch.engine.reconcile.spill import Spilled, detached, load, readable, spill
from jukimatch.engine.reconcile.split import TurnPart, split_inputs
from jukimatch.engine.runtime import Timer

TURNS_DIR = ".jukimatch-turns"  # in the output folder: the split inputs and parked results of a run


@dataclass(frozen=True)
class _Prepared:
    """A parked :class:`Prepared` without its tables: they are the partition's split files."""

    spilled: Spilled
    part: int


class InTurnRunner:
    """:class:`~jukimatch.engine.reconcile.parts.Runner` that runs each task in this process
    and parks every sealed result in ``folder`` until a later task asks for it (what the
    driver scatters, a few numbers per row, stays in memory). A task of
    :data:`~jukimatch.engine.reconcile.parts.SIDE_BY_SIDE` runs on one of two threads, with the
    Numba thread count of the thread that made the runner, unless that count is one (its
    reference is a future; tasks are started in the order given, so one that waits on an
    earlier one never waits on a task not yet started); every other task runs at once. What
    a task freed stays for the next while the process holds less than ``keep_freed_below``
    bytes (by default :func:`~jukimatch.engine.memory.freed_memory_line`), else it is handed
    back. ``parts``: where each partition's rows are (a partition's tables are mapped from
    there again rather than parked a second time)."""

    keeps_files = True  # results live in files: a partition's comparison is kept whole (:meth:`keep`)

    def __init__(self, folder: Path, key: bytes | None, parts: list[TurnPart], keep_freed_below: int | None = None):
        self.folder, self.key, self.parts = folder, key, parts
        self.keep_freed_below = freed_memory_line() if keep_freed_below is None else keep_freed_below
        self._ids = itertools.count(1)
        # the caller's kernel threads (``--threads``) hold on the runner's threads too (Numba's
        # count is per thread); with one, no two tasks run at once either
        self.threads = numba.get_num_threads()
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="jukimatch-turn",
                                        initializer=numba.set_num_threads, initargs=(self.threads,))
        self.side_by_side = SIDE_BY_SIDE if self.threads > 1 else frozenset()

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def discard(self) -> None:
        """The split inputs and parked results removed on a runner thread while the driver
        writes the outputs (at the end of a 10M run their 5 GB took 0.6 s to remove, the
        page cache they free is at hand for the outputs' files); :meth:`close` waits for it."""
        self._pool.submit(shutil.rmtree, self.folder, ignore_errors=True)

    def _open(self, ref: Any) -> Any:
        if isinstance(ref, Future):
            ref = ref.result()
        if isinstance(ref, _Prepared):
            sealed = load(ref.spilled, self.key)
            sealed.value.R, sealed.value.S = self.parts[ref.part].tables()
            return sealed
        return load(ref, self.key) if isinstance(ref, Spilled) else ref

    def _park(self, value: Any, part: int | None = None) -> Any:
        if not isinstance(value, Sealed):
            return value
        path = self.folder / f"task{next(self._ids):06d}"
        if isinstance(value.value, Prepared) and part is not None:
            return _Prepared(spill(Sealed(replace(value.value, R=None, S=None)), path, self.key), part)
        return spill(value, path, self.key)

    def _call(self, fn, args) -> Any:
        """``fn`` on the opened arguments; their mappings close when it returns."""
        result = fn(*[self._open(a) for a in args])
        release_above(self.keep_freed_below)
        return result

    def _task(self, fn, args, park: Callable[[Any], Any]) -> Any:
        """``fn`` on its arguments and its result parked by ``park``: on a runner thread (a
        future) where ``fn`` may run side by side, else at once."""
        if fn in self.side_by_side:
            return self._pool.submit(lambda: park(self._call(fn, args)))
        return park(self._call(fn, args))

    def submit(self, fn, *args, part=None):
        return self._task(fn, args, lambda result: self._park(result, part))

    def keep(self, path: Path, fn, *args, part: int):
        """``fn(*args)`` whose sealed result is parked at ``path`` durably (written whole under
        another name, flushed, renamed: a run killed at any moment leaves it whole or not at
        all), where a resumed run finds it and takes it instead of running ``fn`` again.
        Returns (its reference, whether it was found)."""
        found = Spilled(path, self.key is not None)
        if path.exists() and readable(found, self.key):
            return found, True

        def durably(result: Any) -> Spilled:
            handle = spill(result, path, self.key, durable=True)
            fault_point(f"kept:{part}")
            return handle

        return self._task(fn, args, durably), False

    def scatter(self, value):
        # what the driver scatters is its own, a few numbers per row (the population's share
        # of each partition): it stays in memory, for tasks to read, rather than written out
        return value

    def _detached(self, fn, args) -> Any:
        result = self._call(fn, args)
        return detached(result.value if isinstance(result, Sealed) else result)

    def each(self, fn, calls):
        if fn not in self.side_by_side:
            for args in calls:
                yield self._detached(fn, args)
            return
        ahead: deque[Future] = deque()  # two partitions in hand at the most
        for args in calls:
            ahead.append(self._pool.submit(self._detached, fn, args))
            if len(ahead) == 2:
                yield ahead.popleft().result()
        while ahead:
            yield ahead.popleft().result()

    def gather(self, fn, calls, into):
        def one(p: int, args: tuple) -> None:
            result = self._call(fn, args)
            into(p, result.value if isinstance(result, Sealed) else result)  # its views close after

        if fn not in self.side_by_side:
            for p, args in enumerate(calls):
                one(p, args)
            return
        jobs = [self._pool.submit(one, p, args) for p, args in enumerate(calls)]
        wait(jobs)  # every one ended before the first failure is raised: none left writing
        for job in jobs:
            job.result()


def run_inturn(residents_path: str | Path, responses_path: str | Path, out_dir: str | Path, opts: Options) -> dict:
    """The reconciliation over ``opts.partitions`` partitions taken in turn (see the module docstring)."""
    timer = Timer()
    t0 = time.perf_counter()
    out = Path(out_dir)
    key = load_key(opts.encrypt_key_file) if opts.encrypt_key_file else None
    paths = {"residents": Path(residents_path), "responses": Path(responses_path)}
    digests = digests_in_background({k: p for k, p in paths.items() if p.exists()}) if opts.checkpoint else None
    n_parts = opts.partitions or 1
    out.mkdir(parents=True, exist_ok=True)
    # one fixed place: what a killed run parked (names, numbers) is removed by the next run
    folder = out / TURNS_DIR
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(mode=0o700)
    try:
        with timer.phase("read"):
            split, r_in, s_in = split_inputs(paths["residents"], paths["responses"], n_parts, folder,
                                             opts.encoding, key)
        store = open_workdir(out, paths, digests, opts, partitions=n_parts)
        clear_summary(out)
        runner = InTurnRunner(folder, key, [piece.value for piece in split.pieces])
        try:
            return run_parts(runner, split, out=out, opts=opts, timer=timer, t0=t0, r_in=r_in,
                             s_in=s_in, store=store, key=key, run_info={"backend": "local", "in_turn": True})
        finally:
            runner.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


__all__ = ["InTurnRunner", "run_inturn"]
