"""Intermediate results parked on disk between the stages of a run over partitions in turn.

A partition's state (its validated tables, comparison levels, decisions) is needed again
several stages later, after every other partition has had its turn. Keeping it in memory
would make the peak the whole input's; recomputing it would cost the run again. So each
result is pickled (protocol 5) with its large buffers — numpy arrays, Arrow columns — out
of band, written one after another into one file, and loaded back **without copying**:
the file is memory-mapped copy-on-write and the buffers are views of the mapping. What a
stage touches is paged in; when the stage drops the object the mapping closes and those
pages leave the process.

Spill files hold names and numbers: they are created 0600 inside the run's work folder
and removed with it. With an encryption key they are written encrypted (the plaintext
never touches the disk) and loaded by decrypting into memory — a copy, the price of the key.
"""
from __future__ import annotations

import mmap
import pickle
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jukimatch.engine.files.atomic import atomic_file
from jukimatch.engine.files.crypt import create_private, decrypt_to_memory, encrypted_into

ALIGN = 64  # Arrow's and numpy's preferred buffer alignment
_HEAD = struct.Struct("<4sQQ")  # magic, pickle length, buffer count
_MAGIC = b"JKS1"


@dataclass(frozen=True)
class Spilled:
    """A handle to one spilled object: its file and whether it is encrypted."""

    path: Path
    encrypted: bool

    def __repr__(self) -> str:  # never the contents: a handle may reach a log
        return f"<spilled {self.path.name}>"


def _pad(n: int) -> int:
    return -n % ALIGN


def _write(f, obj: Any) -> None:
    buffers: list[pickle.PickleBuffer] = []
    data = pickle.dumps(obj, protocol=5, buffer_callback=buffers.append)
    views = [b.raw() for b in buffers]
    table = struct.pack(f"<{len(views)}Q", *(v.nbytes for v in views))
    head = _HEAD.pack(_MAGIC, len(data), len(views)) + table
    f.write(head)
    f.write(data)
    pos = len(head) + len(data)
    for v in views:
        f.write(b"\0" * _pad(pos))
        pos += _pad(pos)
        f.write(v)
        pos += v.nbytes


def spill(obj: Any, path: str | Path, key: bytes | None = None, *, durable: bool = False) -> Spilled:
    """Write ``obj`` to ``path`` (created 0600, replaced if present); return its handle.
    ``durable``: written under a temporary name, flushed to disk and renamed, so that a
    process killed at any moment leaves the whole file or none (a run's checkpoint)."""
    path = Path(path)
    with (atomic_file(path) if durable else create_private(path)) as f, encrypted_into(f, key) as sink:
        _write(sink, obj)
    return Spilled(path, key is not None)


def readable(handle: Spilled, key: bytes | None = None) -> bool:
    """Whether :func:`load` takes ``handle`` (a whole spill file, decrypted by ``key`` where it
    is encrypted). Mapped, a load reads little beyond the pickle; encrypted, it decrypts all."""
    try:
        load(handle, key)
        return True
    except Exception:  # noqa: BLE001 - any file that does not load is simply not used
        return False


def _read(buf) -> Any:
    """``obj`` from a buffer laid out by :func:`_write`; the out-of-band buffers are views of ``buf``."""
    view = memoryview(buf)
    magic, n_data, n_bufs = _HEAD.unpack_from(view, 0)
    if magic != _MAGIC:
        raise ValueError("not a jukimatch spill file")
    sizes = struct.unpack_from(f"<{n_bufs}Q", view, _HEAD.size)
    pos = _HEAD.size + 8 * n_bufs
    data = view[pos:pos + n_data]
    pos += n_data
    parts = []
    for size in sizes:
        pos += _pad(pos)
        parts.append(view[pos:pos + size])
        pos += size
    return pickle.loads(data, buffers=parts)


def load(handle: Spilled, key: bytes | None = None) -> Any:
    """The object behind ``handle``: zero-copy views of a private mapping, or decrypted with ``key``."""
    if handle.encrypted:
        return _read(decrypt_to_memory(handle.path, key))
    with open(handle.path, "rb") as f:
        mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_COPY)
    return _read(mm)


def detached(obj: Any) -> Any:
    """``obj`` with every buffer copied into memory of its own. A result that keeps even one
    view of a mapped spill keeps the whole mapping, and every page a stage touched in it,
    in the process: what the driver holds across partitions must hold no such view.
    The buffers travel out of band, so each is copied once (in band, twice)."""
    buffers: list[pickle.PickleBuffer] = []
    data = pickle.dumps(obj, protocol=5, buffer_callback=buffers.append)
    return pickle.loads(data, buffers=[bytearray(b.raw()) for b in buffers])


__all__ = ["Spilled", "detached", "load", "readable", "spill"]
