"""How engine code runs: the Numba options of every kernel, threads, arrays handed to
kernels without reference counts (:func:`borrowed`), and the phase timer.

Every kernel is compiled with ``cache=True`` (compiled once per machine, reused across
runs) and ``nogil=True`` (callers may run kernels from threads). The reconciliation's pair
kernels are serial over a span of pairs, and :func:`over_spans` runs the spans on a pool of
threads: as fast as a ``prange`` loop, a third less to compile (the parallel name comparison
alone took 7 s more), and safe to call from two threads under any Numba threading layer. The
linking pipeline's kernels keep ``parallel=True`` and ``prange``.

``FASTMATH`` is the only fast-math flag set allowed here. It leaves out ``nnan`` and
``ninf``: missing values are everywhere in this data and a blanket ``fastmath=True`` lets
LLVM assume NaN never occurs, which silently breaks NaN checks. The comparison kernels do
not use it at all: their scores are cut at decimal thresholds (0.80, 0.92, ...) and must
land on the same side of a threshold as the plain-Python twins in ``tests/``, so their
floating-point operations are kept in source order.
"""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator, TypeVar

import numba
from numba.core import cgutils, types
from numba.extending import intrinsic

FASTMATH = frozenset({"nsz", "arcp", "contract", "afn", "reassoc"})

#: serial kernels and helpers called from kernels
JIT = {"cache": True, "nogil": True}
#: kernels with a ``prange`` loop over pairs or rows
JIT_PARALLEL = {"cache": True, "nogil": True, "parallel": True}
#: numerical kernels that may reassociate sums (never nnan/ninf)
JIT_FASTMATH = {"cache": True, "nogil": True, "fastmath": set(FASTMATH)}

#: pairs handled by one task of a parallel pair loop, and the least of a span of
#: :func:`over_spans`; each task or span allocates its scratch once
PAIR_BLOCK = 4096


_SPANS: ThreadPoolExecutor | None = None


def _borrow(context, builder, ty, value):
    if isinstance(ty, types.Array):
        view = cgutils.create_struct_proxy(ty)(context, builder, value=value)
        view.meminfo = cgutils.get_null_value(view.meminfo.type)
        view.parent = cgutils.get_null_value(view.parent.type)
        return view._getvalue()
    if isinstance(ty, types.BaseTuple):
        items = [_borrow(context, builder, t, builder.extract_value(value, i)) for i, t in enumerate(ty)]
        return context.make_tuple(builder, ty, items)
    return value


def _borrowable(ty) -> bool:
    if isinstance(ty, types.BaseTuple):
        return all(_borrowable(t) for t in ty)
    return isinstance(ty, (types.Array, types.Number, types.Boolean))


@intrinsic
def borrowed(typingctx, value):
    """``value`` (an array, or a tuple of arrays and numbers) as views without a reference
    count. Each pass of a Numba array to a function that is not inlined costs an atomic
    increment and decrement of its count, and the count of an input shared by the threads
    of :func:`over_spans` bounces between the cores: 5 % of a 1M run's CPU samples sat in
    those counts, half of them in the name comparison, which hands ~25 scratch arrays to
    every pair it compares. The views are valid only while ``value`` itself is held: take
    them in a kernel that keeps it alive (an argument of its own, or passed along beside
    them), and never return or store them."""
    if not _borrowable(value):
        return None

    def codegen(context, builder, sig, args):
        return _borrow(context, builder, sig.args[0], args[0])

    return value(value), codegen


def over_spans(kernel: Callable[..., Any], n: int, *args: Any) -> None:
    """``kernel(*args, lo, hi)`` for spans ``lo:hi`` that cover ``0..n``, the kernel writing
    its span's results into an output among ``args``. Below two blocks, or with one Numba
    thread set (``--threads 1``, :func:`threads_for`), one call on this thread; else as many
    workers as Numba's thread count take a few spans each from a shared queue, so that a
    thread slowed by other work (the next chunk's normalisation) takes fewer of them."""
    threads = numba.get_num_threads()
    if n < 2 * PAIR_BLOCK or threads == 1:
        kernel(*args, 0, n)
        return
    global _SPANS
    if _SPANS is None:
        _SPANS = ThreadPoolExecutor(max_workers=int(numba.config.NUMBA_NUM_THREADS),  # type: ignore[attr-defined]
                                    thread_name_prefix="jukimatch-pairs")
    step = max(PAIR_BLOCK, -(-n // (4 * threads)))
    spans = iter(range(0, n, step))
    lock = threading.Lock()

    def work() -> None:
        while True:
            with lock:
                lo = next(spans, None)
            if lo is None:
                return
            kernel(*args, lo, min(n, lo + step))

    for job in [_SPANS.submit(work) for _ in range(threads)]:
        job.result()


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


__all__ = ["FASTMATH", "JIT", "JIT_FASTMATH", "JIT_PARALLEL", "PAIR_BLOCK", "Timer", "one_ahead", "over_spans", "threads_for"]
