"""The local backend over hash partitions taken in turn: memory set by the partition, not the input.

Both inputs are read once, batch by batch, and each batch's rows are appended to the
file of their partition (a hash of person_id, as the Dask backend splits): no whole table
is ever held. The stages of :mod:`.parts` then run as tasks in this process, one partition
after another; every result a later stage needs is parked on disk (:mod:`.spill`) and mapped
back without copying when its turn comes. What stays in memory between stages is what the
whole run needs: a few numbers per row (pairs counted, population keys, the decisions'
sort keys) and the outputs being merged.

Decisions and output files are identical to those of the whole input in one part.
"""
from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from jukimatch.engine.files.crypt import EncryptingWriter, decrypt_to_memory, load_key
from jukimatch.engine.io import ROW_COLUMN, InputTable, TableStream, read_table, record_numbers
from jukimatch.engine.reconcile.checkpoint import digests_in_background
from jukimatch.engine.reconcile.common import Options, clear_summary, open_workdir, release_unused
from jukimatch.engine.reconcile.partition import partition_of
from jukimatch.engine.reconcile.parts import Sealed, Split, run_parts
from jukimatch.engine.reconcile.prepare import Prepared
from jukimatch.engine.reconcile.spill import Spilled, detached, load, spill
from jukimatch.engine.runtime import Timer

TURNS_DIR = ".jukimatch-turns"  # in the output folder: the split inputs and parked results of a run


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


@dataclass(frozen=True)
class _Prepared:
    """A parked :class:`Prepared` without its tables: they are the partition's split files."""

    spilled: Spilled
    part: int


class InTurnRunner:
    """:class:`~jukimatch.engine.reconcile.parts.Runner` that runs each task at once, in this
    process, and parks every sealed result in ``folder`` until a later task asks for it.
    ``parts``: where each partition's rows are (a partition's tables are mapped from there
    again rather than parked a second time)."""

    def __init__(self, folder: Path, key: bytes | None, parts: list[TurnPart]):
        self.folder, self.key, self.parts, self.tasks = folder, key, parts, 0

    def _open(self, ref: Any) -> Any:
        if isinstance(ref, _Prepared):
            sealed = load(ref.spilled, self.key)
            sealed.value.R, sealed.value.S = self.parts[ref.part].tables()
            return sealed
        return load(ref, self.key) if isinstance(ref, Spilled) else ref

    def _park(self, value: Any, part: int | None = None) -> Any:
        if not isinstance(value, Sealed):
            return value
        self.tasks += 1
        path = self.folder / f"task{self.tasks:06d}"
        if isinstance(value.value, Prepared) and part is not None:
            return _Prepared(spill(Sealed(replace(value.value, R=None, S=None)), path, self.key), part)
        return spill(value, path, self.key)

    def _call(self, fn, args) -> Any:
        """``fn`` on the opened arguments; their mappings close when it returns."""
        result = fn(*[self._open(a) for a in args])
        release_unused()
        return result

    def submit(self, fn, *args, part=None):
        return self._park(self._call(fn, args), part)

    def scatter(self, value):
        return self._park(value)

    def each(self, fn, calls):
        for args in calls:
            result = self._call(fn, args)
            yield detached(result.value if isinstance(result, Sealed) else result)


class _Writers:
    """One Arrow stream file per partition, created 0600 (rows hold names and numbers)."""

    def __init__(self, folder: Path, kind: str, n_parts: int, schema: pa.Schema, key: bytes | None):
        self.paths = [folder / f"part{p:04d}-{kind}.arrows" for p in range(n_parts)]
        self.files, self.writers = [], []
        for path in self.paths:
            f = os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb", buffering=1 << 20)
            sink = EncryptingWriter(f, key) if key is not None else f
            self.files.append((f, sink))
            self.writers.append(pa.ipc.new_stream(sink, schema))

    def close(self) -> None:
        for w, (f, sink) in zip(self.writers, self.files):
            w.close()
            if sink is not f:
                sink.close()
            f.close()


def _split_one(path: Path, kind: str, n_parts: int, folder: Path, encoding: str | None, key: bytes | None):
    """(files, rows per partition, record numbers per whole-table row, malformed, schema, rows)."""
    stream = TableStream(path, kind, encoding=encoding)
    while True:
        writers, rows, n = None, [[] for _ in range(n_parts)], 0
        try:
            for t in stream:
                if writers is None:
                    schema = t.schema
                    writers = _Writers(folder, kind, n_parts, schema, key)
                part = partition_of(t.column("person_id"), n_parts)
                order = np.argsort(part, kind="stable")
                bounds = np.searchsorted(part[order], np.arange(n_parts + 1))
                for p in range(n_parts):
                    idx = order[bounds[p]:bounds[p + 1]]
                    if len(idx):
                        writers.writers[p].write_table(t.take(idx))
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
    """Both inputs as ``n_parts`` partitions in ``folder``, in one streaming pass each."""
    rf, r_rows, r_record, r_bad, r_schema, n_res = _split_one(residents, "residents", n_parts, folder, encoding, key)
    sf, s_rows, s_record, s_bad, s_schema, _ = _split_one(responses, "responses", n_parts, folder, encoding, key)
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
        return run_parts(runner, split, out=out, opts=opts, timer=timer, t0=t0, r_in=r_in,
                         s_in=s_in, store=store, key=key, run_info={"backend": "local", "in_turn": True})
    finally:
        shutil.rmtree(folder, ignore_errors=True)


__all__ = ["InTurnRunner", "TurnPart", "run_inturn", "split_inputs"]
