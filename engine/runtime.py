"""How engine code runs: the Numba options of every kernel, threads, and the phase timer.

Every kernel is compiled with ``cache=True`` (compiled once per machine, reused across
runs) and ``nogil=True`` (callers may run kernels from threads); pair loops that pay for
thread start-up add ``parallel=True`` and use ``prange``.

``FASTMATH`` is the only fast-math flag set allowed here. It leaves out ``nnan`` and
``ninf``: missing values are everywhere in this data and a blanket ``fastmath=True`` lets
LLVM assume NaN never occurs, which silently breaks NaN checks. The comparison kernels do
not use it at all: their scores are cut at decimal thresholds (0.80, 0.92, ...) and must
land on the same side of a threshold as the plain-Python twins in ``tests/``, so their
floating-point operations are kept in source order.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Iterable, Iterator, TypeVar

import numba

FASTMATH = frozenset({"nsz", "arcp", "contract", "afn", "reassoc"})

#: serial kernels and helpers called from kernels
JIT = {"cache": True, "nogil": True}
#: kernels with a ``prange`` loop over pairs or rows
JIT_PARALLEL = {"cache": True, "nogil": True, "parallel": True}
#: numerical kernels that may reassociate sums (never nnan/ninf)
JIT_FASTMATH = {"cache": True, "nogil": True, "fastmath": set(FASTMATH)}

#: pairs handled by one task of a parallel pair loop; each task allocates its scratch once
PAIR_BLOCK = 4096


def numba_without_blas() -> None:
    """Load Numba's array lowering without its probe for a BLAS, which imports ``scipy.linalg``
    (0.2 s of every cold process, before the first kernel can load). No kernel here uses
    linear algebra. It changes the whole process (Numba then lowers no ``np.dot``), so only
    the ``jukimatch`` command calls it, never a library import. Without effect when Numba's
    array lowering or SciPy's BLAS is already loaded."""
    import sys

    blas = "scipy.linalg.cython_blas"
    if "numba.np.arraymath" in sys.modules or blas in sys.modules:
        return
    sys.modules[blas] = None  # type: ignore[assignment]  # the import fails: Numba records no BLAS
    try:
        import numba.np.arraymath  # noqa: F401
    finally:
        if sys.modules.get(blas, 0) is None:
            del sys.modules[blas]



def parallel_kernels_threadsafe() -> bool:
    """Whether two threads may run parallel kernels at once. Numba's ``tbb`` and ``omp``
    threading layers allow it; its ``workqueue`` layer, loaded where neither library is
    installed, aborts the process. Starts Numba's thread pool (as the first parallel kernel
    would) to learn which layer it loaded."""
    from numba.np.ufunc.parallel import _launch_threads

    _launch_threads()
    return numba.threading_layer() in ("tbb", "omp")


@contextmanager
def threads_for(n_items: int):
    """Run the parallel kernels called inside on one thread when ``n_items`` is below one
    block: nothing to share, and waking the thread pool costs milliseconds on a busy box.

    ``numba.set_num_threads`` is restored in ``finally``, whatever happens inside.
    """
    if n_items >= PAIR_BLOCK:
        yield
        return
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(before)


T = TypeVar("T")
_DONE = object()


def one_ahead(items: Iterable[T]) -> Iterator[T]:
    """``items`` made on a thread of their own, one ahead of the consumer: making the next
    (a merge, a normalisation) overlaps with using this one (an encoding, a comparison) where
    both release the GIL. An error in making an item is raised where it is taken."""
    it = iter(items)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="jukimatch-ahead") as pool:
        nxt = pool.submit(next, it, _DONE)
        while True:
            item = nxt.result()
            if item is _DONE:
                return
            nxt = pool.submit(next, it, _DONE)
            yield item


class Timer:
    """Seconds per named phase (summed when a phase recurs): the ``timings_s`` of summary.json.

    ``with timer.phase(name):`` times a block; ``timer.lap(name)`` books the time since the
    previous lap or phase end (for a pipeline that runs straight through).
    """

    def __init__(self) -> None:
        self.phases: dict[str, float] = {}
        self._last = time.perf_counter()

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self._book(name, start)

    def lap(self, name: str) -> None:
        self._book(name, self._last)

    def _book(self, name: str, start: float) -> None:
        now = time.perf_counter()
        self.phases[name] = round(self.phases.get(name, 0.0) + now - start, 4)
        self._last = now


__all__ = ["FASTMATH", "JIT", "JIT_FASTMATH", "JIT_PARALLEL", "PAIR_BLOCK", "Timer", "one_ahead", "parallel_kernels_threadsafe", "threads_for"]
