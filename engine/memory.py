"""How much memory there is, and how this process's allocators keep and hand it back: the one
place that reads the system's and the cgroup's figures and talks to glibc.

Light to import (no NumPy, no Arrow): :func:`keep_freed_memory` must run before either
starts a thread.
"""
from __future__ import annotations

import ctypes
import functools
import os
import sys
from pathlib import Path

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


#: a run over the whole input may take this share of the memory available, no more
MEMORY_SHARE = 0.6


def memory_available() -> int | None:
    """Bytes of memory this process can still take without swapping or being killed: the
    system's ``MemAvailable``, or less where the process's memory cgroup (a container's
    limit) leaves less; None when neither can be read."""
    known = [x for x in (_meminfo_available(), cgroup_room()) if x is not None]
    return min(known) if known else None


def _meminfo_available(path: str = "/proc/meminfo") -> int | None:
    try:
        with open(path) as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def cgroup_room(proc: str | Path = "/proc/self/cgroup", root: str | Path = "/sys/fs/cgroup") -> int | None:
    """What the process's memory cgroup still allows: its limit less what it uses, page cache
    that can be dropped not counted (cgroup v2 ``memory.max``, v1 ``memory.limit_in_bytes``);
    None without a limit or where none can be read."""
    try:
        lines = Path(proc).read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, where = (line.split(":", 2) + ["", ""])[:3]
        if controllers == "":  # v2: one hierarchy
            files = (Path(root) / where.lstrip("/"), "memory.max", "memory.current", "inactive_file")
        elif "memory" in controllers.split(","):  # v1: the memory controller's own tree
            files = (Path(root) / "memory" / where.lstrip("/"), "memory.limit_in_bytes", "memory.usage_in_bytes",
                     "total_inactive_file")
        else:
            continue
        folder, limit_file, usage_file, inactive = files
        try:
            limit_text = (folder / limit_file).read_text().strip()
            if limit_text == "max" or int(limit_text) >= 1 << 60:  # unlimited
                continue
            used = int((folder / usage_file).read_text())
            stat = dict(row.split() for row in (folder / "memory.stat").read_text().splitlines() if " " in row)
            return max(int(limit_text) - used + int(stat.get(inactive, 0)), 0)
        except (OSError, ValueError):
            continue
    return None


#: what a step freed stays for the next step while the process holds less than this; above,
#: it is handed back. Handing it back after every step cost a 10M run in turn ~6 s of its
#: ~45 (the kernel zeroing the same pages again for the next step: 18-20 s of system time
#: against 11-13 s) and a 1M run ~0.4 s of its ~4.5; never handing it back took the 10M
#: run's peak from 2.6 to 3.1 GiB, over the 3 GiB it may use
KEEP_FREED_BELOW = 2 << 30


def freed_memory_line() -> int:
    """The line of :func:`release_above`: :data:`KEEP_FREED_BELOW`, or :data:`MEMORY_SHARE` of
    the memory available where that is less (runs go in turn where memory is short)."""
    available = memory_available()
    return min(KEEP_FREED_BELOW, int(MEMORY_SHARE * available)) if available else KEEP_FREED_BELOW


def release_above(limit: int | None = None) -> bool:
    """:func:`release_unused` only when this process holds more than ``limit`` bytes (default:
    :func:`freed_memory_line`) or cannot tell: below it, what a step freed stays for the next
    step to reuse without the kernel zeroing its pages again. Returns whether memory was
    handed back."""
    limit = freed_memory_line() if limit is None else limit
    rss = resident_bytes()
    if rss is not None and rss <= limit:
        return False
    release_unused()
    return True


__all__ = ["KEEP_FREED_BELOW", "MEMORY_SHARE", "cgroup_room", "freed_memory_line", "keep_freed_memory", "memory_available",
           "release_above", "release_unused", "resident_bytes"]
