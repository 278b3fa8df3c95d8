"""Atomic writes: a file is either whole at its name or not there at all.

Every output that a crash could otherwise leave half-written (reconcile's and link's
tables, summaries, models, the work folder's chunks, encrypted files) goes through here.
"""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator


@contextmanager
def atomic_file(path: str | Path, mode: str = "wb") -> Iterator[IO]:
    """Write to a temporary file beside ``path``; fsync; rename over ``path`` on success only.

    The file is created 0600 (mkstemp's mode, kept): outputs may hold My Numbers, and a
    file others could read once cannot be taken back.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """``data`` as the whole of ``path``, or ``path`` untouched."""
    with atomic_file(path) as f:
        f.write(data)


def fsync_dir(path: Path) -> None:
    """Make a rename inside ``path`` durable (where the file system allows it)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


__all__ = ["atomic_file", "atomic_write_bytes", "fsync_dir"]
