"""Both inputs hash-partitioned to disk in one streaming pass: no whole table is ever held.

Each input is read batch by batch (:class:`~jukimatch.engine.io.TableStream`: the whole
reader's cleaning, checks and quarantine of unparseable lines) and every batch's rows are
appended to the Arrow stream file of their partition — a hash of person_id, so that every
row of a person and every answer to it land together (:mod:`.partition`). Record numbers
(``__row``) are known only at the end of a CSV; they go to a ``.npy`` file per partition
and are joined back when a partition is read. Used by the local backend taking partitions
in turn (:mod:`.inturn`) and by the Dask backend (:mod:`.distributed`).

The files hold names and numbers: they are created 0600, encrypted with a key.
"""
from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from jukimatch.engine.files.crypt import create_private, decrypt_to_memory, encrypted_into
from jukimatch.engine.io import ROW_COLUMN, InputTable, TableStream, read_table, record_numbers
from jukimatch.engine.reconcile.partition import partition_of, split_rows
from jukimatch.engine.reconcile.parts import Sealed, Split


@dataclass(frozen=True)
class TurnPart:
    """A partition's rows in two Arrow files of the run's folder, and their record numbers
    (``.npy`` files beside them: the driver keeps no per-row array it does not use)."""

    residents: Path
    responses: Path
    key: bytes | None

    def tables(self) -> tuple[pa.Table, pa.Table]:
        return _read(self.residents, self.key), _read(self.responses, self.key)


def _records(path: Path) -> Path:
    return path.with_suffix(".rows.npy")


def _read(path: Path, key: bytes | None) -> pa.Table:
    """A partition file: mapped without copying, or decrypted in memory with ``key``."""
    if key is None:
        with pa.memory_map(str(path)) as source:
            table = pa.ipc.open_stream(source).read_all()
    else:
        table = pa.ipc.open_stream(pa.py_buffer(decrypt_to_memory(path, key))).read_all()
    return table.append_column(ROW_COLUMN, pa.array(np.load(_records(path))))


class _Writers:
    """One Arrow stream file per partition, created 0600 (rows hold names and numbers).

    A batch's rows are taken and written on two threads (each its half of the partitions)
    while the caller reads the next batch (all three release the GIL; the writes often wait
    on the disk): one batch in flight, so memory stays two batches."""

    def __init__(self, folder: Path, kind: str, n_parts: int, schema: pa.Schema, key: bytes | None):
        self.paths = [folder / f"part{p:04d}-{kind}.arrows" for p in range(n_parts)]
        self.files, self.writers = ExitStack(), []
        for path in self.paths:
            sink = self.files.enter_context(encrypted_into(self.files.enter_context(create_private(path)), key))
            self.writers.append(pa.ipc.new_stream(sink, schema))
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="jukimatch-split")
        self._pending: list[Future] = []

    def write(self, t: pa.Table, parts: list[np.ndarray]) -> None:
        """Rows ``parts[p]`` of ``t`` to partition p, once the previous batch is written."""
        self._wait()
        half = (len(parts) + 1) // 2
        self._pending = [self._pool.submit(self._write, t, parts, lo, hi)
                         for lo, hi in ((0, half), (half, len(parts))) if lo < hi]

    def _write(self, t: pa.Table, parts: list[np.ndarray], lo: int, hi: int) -> None:
        """Partitions lo..hi-1: one take of all their rows, then a slice to each file."""
        mine = parts[lo:hi]
        if not sum(len(idx) for idx in mine):
            return
        rows, at = t.take(np.concatenate(mine)), 0
        for p, idx in zip(range(lo, hi), mine):
            if len(idx):
                self.writers[p].write_table(rows.slice(at, len(idx)))
                at += len(idx)

    def _wait(self) -> None:
        pending, self._pending = self._pending, []
        for f in pending:
            f.result()

    def close(self) -> None:
        try:
            self._wait()
        finally:
            self._pool.shutdown()
            for w in self.writers:
                w.close()
            self.files.close()  # each encrypted file's last segment, then the files


class Abandoned(Exception):
    """The other input's split failed: this one stopped at its next batch."""


def _split_one(path: Path, kind: str, n_parts: int, folder: Path, encoding: str | None, key: bytes | None,
               stop: threading.Event | None = None):
    """(files, rows per partition, record numbers per whole-table row, malformed, schema, rows);
    :class:`Abandoned` at the next batch once ``stop`` is set."""
    stream = TableStream(path, kind, encoding=encoding)
    while True:
        writers, rows, n = None, [[] for _ in range(n_parts)], 0
        try:
            for t in stream:
                if stop is not None and stop.is_set():
                    if writers is not None:
                        writers.close()
                    raise Abandoned(f"{path}: split abandoned")
                if writers is None:
                    schema = t.schema
                    writers = _Writers(folder, kind, n_parts, schema, key)
                parts = split_rows(partition_of(t.column("person_id"), n_parts), n_parts)
                writers.write(t, parts)
                for p, idx in enumerate(parts):
                    if len(idx):
                        rows[p].append(idx + n)
                n += t.num_rows
            break
        except TableStream.Restart:
            if writers is not None:
                writers.close()
    if writers is None:  # no rows: the schema (and the file's checks) from the whole reader
        empty = read_table(path, kind, encoding=encoding)
        schema = empty.table.drop_columns([ROW_COLUMN]).schema
        writers = _Writers(folder, kind, n_parts, schema, key)
    writers.close()
    record, malformed = record_numbers(n, stream.malformed)
    small = np.int32 if n < 2**31 else np.int64  # row indices: half the memory of the driver's biggest arrays
    rows = [np.concatenate(r).astype(small) if r else np.zeros(0, small) for r in rows]
    return writers.paths, rows, record, malformed, schema, n


def split_inputs(residents: Path, responses: Path, n_parts: int, folder: Path, encoding: str | None,
                 key: bytes | None) -> tuple[Split, InputTable, InputTable]:
    """Both inputs as ``n_parts`` partitions in ``folder``, in one streaming pass each, the two
    passes side by side (reading, taking and writing a batch release the GIL, and one pass
    alone left a core idle a sixth of the time). A pass that fails stops the other at its
    next batch, and its own error is the one raised."""
    stop = threading.Event()  # one pass failed: the other stops at its next batch

    def responses_pass():
        try:
            return _split_one(responses, "responses", n_parts, folder, encoding, key, stop)
        except BaseException:
            stop.set()
            raise

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="jukimatch-split-responses") as pool:
        s_job = pool.submit(responses_pass)
        try:
            rf, r_rows, r_record, r_bad, r_schema, n_res = _split_one(residents, "residents", n_parts, folder,
                                                                      encoding, key, stop)
        except Abandoned:
            s_job.result()  # raises the responses' failure, which stopped this pass
            raise
        except BaseException:
            stop.set()
            raise
        sf, s_rows, s_record, s_bad, s_schema, _ = s_job.result()
    for files, rows, record in ((rf, r_rows, r_record), (sf, s_rows, s_record)):
        for p in range(n_parts):
            np.save(_records(files[p]), record[rows[p]])
    del r_record, s_record
    pieces = [Sealed(TurnPart(rf[p], sf[p], key)) for p in range(n_parts)]
    r_part = np.zeros(n_res, dtype=np.int32)
    for p, r in enumerate(r_rows):
        r_part[r] = p
    r_in = InputTable(pa.schema([*r_schema, pa.field(ROW_COLUMN, pa.int64())]).empty_table(), r_bad, residents)
    s_in = InputTable(pa.schema([*s_schema, pa.field(ROW_COLUMN, pa.int64())]).empty_table(), s_bad, responses)
    return Split(pieces, r_rows, s_rows, r_part, n_res), r_in, s_in




__all__ = ["Abandoned", "TurnPart", "split_inputs"]
