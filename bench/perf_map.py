"""Name the Numba kernels in ``perf``'s reports: run a ``jukimatch`` command in this process,
then write ``/tmp/perf-<pid>.map`` with the entry of every compiled kernel.

Numba's machine code lives in anonymous memory, so ``perf report`` shows its samples as bare
addresses. ``perf`` reads a map file per process for such code; this writes one when the
command has run (the kernels are loaded by then; the process is still alive for ``perf`` to
match). A kernel's range runs from its entry to the next entry, so the functions it calls
that are not inlined count as its own, and the wrapper Numba adds for calls from Python is
named ``[w]`` with whatever lies after it. Code outside every kernel's library, such as
Numba's reference counting (``NRT_incref``/``NRT_decref``, a page of their own), stays an
address.

    perf record -F 999 -o perf.data -- python -m jukimatch.bench.perf_map reconcile --residents R --responses S --out O
    perf report -i perf.data --sort sym
"""
from __future__ import annotations

import gc
import os
import sys
from pathlib import Path


def kernel_entries() -> list[tuple[int, str]]:
    """(address, name) of every loaded overload's entry and of its Python wrapper, ascending."""
    from numba.core.dispatcher import Dispatcher

    entries = set()
    for obj in gc.get_objects():
        if not isinstance(obj, Dispatcher):
            continue
        name = f"{obj.py_func.__module__.rsplit('.', 1)[-1]}.{obj.py_func.__qualname__}"
        for cres in obj.overloads.values():
            for symbol, label in ((cres.fndesc.llvm_func_name, name),
                                  (cres.fndesc.llvm_cpython_wrapper_name, f"{name}[w]")):
                try:
                    address = cres.library.get_pointer_to_function(symbol)
                except Exception:  # noqa: BLE001 - a library without that symbol: nothing to name
                    continue
                if address:
                    entries.add((address, label))
    return sorted(entries)


def write_map(path: Path, entries: list[tuple[int, str]], *, last_size: int = 1 << 16) -> int:
    """``perf``'s map format, one ``start size name`` line an entry, each range up to the
    next entry (at most 1 MiB); returns the lines written."""
    lines = []
    for i, (address, name) in enumerate(entries):
        size = entries[i + 1][0] - address if i + 1 < len(entries) else last_size
        lines.append(f"{address:x} {min(size, 1 << 20):x} {name}")
    path.write_text("\n".join(lines) + ("\n" if lines else ""), encoding="utf-8")
    return len(lines)


def main(argv: list[str] | None = None) -> int:
    from jukimatch.engine.memory import keep_freed_memory

    keep_freed_memory()  # as the ``jukimatch`` command does, before NumPy or Arrow start a thread
    from jukimatch.api.cli import main as jukimatch

    code = jukimatch(sys.argv[1:] if argv is None else argv, own_process=True)
    path = Path(f"/tmp/perf-{os.getpid()}.map")
    n = write_map(path, kernel_entries())
    print(f"perf_map: {n} kernel entries in {path}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
