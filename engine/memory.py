"""How this process's allocators keep and hand back memory: the one place that talks to glibc.

Light to import (no NumPy, no Arrow): :func:`keep_freed_memory` must run before either
starts a thread.
"""
from __future__ import annotations

import ctypes
import functools
import os
import sys

_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_MAX, _M_ARENA_MAX = -1, -2, -4, -8  # glibc's mallopt parameters


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    """The process's own C library when it is glibc (its symbols, no library search), else None."""
    if sys.platform != "linux":
        return None
    libc = ctypes.CDLL(None)
    return libc if hasattr(libc, "malloc_trim") and hasattr(libc, "gnu_get_libc_version") else None


def keep_freed_memory() -> None:
    """Let this process reuse the memory it frees instead of handing it back to the kernel.

    A run allocates and frees arrays of tens to hundreds of MiB thousands of times. glibc
    maps each such block afresh (above 32 MiB it always does, and in a thread's arena above
    64 MiB) and the kernel zeroes every page again at its first touch: a sixth of a 10M
    run's CPU time was spent in ``clear_page``. One arena, no ``mmap`` and no trimming
    (``mallopt``), with Arrow on the same allocator (``ARROW_DEFAULT_MEMORY_POOL=system``
    unless set), keep freed pages for the next array; :func:`release_unused` still hands
    them back between stages. Must run before NumPy or Arrow start a thread (an arena made by
    then would stay in use); does nothing but on glibc."""
    libc = _glibc()
    if libc is None:
        return
    for param, value in ((_M_ARENA_MAX, 1), (_M_MMAP_MAX, 0), (_M_TRIM_THRESHOLD, 2**31 - 1), (_M_TOP_PAD, 64 << 20)):
        libc.mallopt(param, value)
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")


def release_unused() -> None:
    """Hand memory the allocators keep for reuse back to the system: what reading and
    normalising freed would otherwise sit beside the numpy arrays of the next phase (Arrow's
    pool; and glibc's heap, where numpy's and Numba's freed arrays stay otherwise)."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


def resident_bytes() -> int | None:
    """This process's resident set in bytes (Linux), else None."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


#: what a step freed stays for the next step while the process holds less than this; above,
#: it is handed back. Handing it back after every step cost a 10M run in turn ~6 s of its
#: ~45 (the kernel zeroing the same pages again for the next step: 18-20 s of system time
#: against 11-13 s) and a 1M run ~0.4 s of its ~4.5; never handing it back took the 10M
#: run's peak from 2.6 to 3.1 GiB, over the 3 GiB it may use
KEEP_FREED_BELOW = 2 << 30


def release_above(limit: int = KEEP_FREED_BELOW) -> bool:
    """:func:`release_unused` only when this process holds more than ``limit`` bytes (or
    cannot tell): below it, what a step freed stays for the next step to reuse without the
    kernel zeroing its pages again. Returns whether memory was handed back."""
    rss = resident_bytes()
    if rss is not None and rss <= limit:
        return False
    release_unused()
    return True


__all__ = ["KEEP_FREED_BELOW", "keep_freed_memory", "release_above", "release_unused", "resident_bytes"]
