"""Read residents and responses (Parquet or CSV in UTF-8/BOM/CP932) as all-text Arrow tables.

Every column stays text: ids and numbers keep their leading zeros, dates stay as written.
A file that cannot be used at all raises :class:`InputError` with one line naming the file
and the column; row-level problems are found later by :mod:`jukimatch.engine.validate.rows`.
"""
from __future__ import annotations

import codecs
import csv
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from jukimatch.engine.memory import MEMORY_SHARE, memory_available

RESIDENT_COLUMNS = (
    "person_id", "resident_class", "name_alpha", "name_kanji", "name_kana", "birth_date",
    "sex", "nationality", "address", "card_number", "my_number",
)
RESPONSE_COLUMNS = (
    "person_id", "status", "my_number", "name_alpha", "name_kanji", "name_kana",
    "birth_date", "sex", "address",
)
REQUIRED = {"residents": ("person_id",), "responses": ("person_id", "status")}
NAME_COLUMNS = ("name_alpha", "name_kanji", "name_kana")
ROW_COLUMN = "__row"  # 1-based record number in the source file (header not counted)

_SNIFF_BYTES = 1 << 22
#: peak memory of a run over the whole input, per resident row (9.4 GiB measured at 10M rows)
BYTES_PER_ROW_WHOLE = 1_000
#: resident rows per partition when the input is taken in turn (about 1.5 GiB of peak each)
ROWS_PER_TURN = 1_000_000


class InputError(ValueError):
    """An input that cannot be used at all; the message is one line naming file and field."""


def detect_encoding(path: Path) -> str:
    """'utf-8-sig' for a BOM, 'utf-8' if the head decodes as UTF-8, else 'cp932'."""
    with open(path, "rb") as f:
        head = f.read(_SNIFF_BYTES)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    # A multi-byte character may be cut at the end of the sniffed head: decode incrementally.
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=len(head) < _SNIFF_BYTES)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        codecs.getincrementaldecoder("cp932")().decode(head, final=len(head) < _SNIFF_BYTES)
        return "cp932"
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: neither UTF-8 nor CP932 text (byte {exc.start})") from None


def _csv_setup(path: Path, encoding: str | None):
    """(encoding, Arrow's name for it, ConvertOptions with every header column as text)."""
    enc = encoding or detect_encoding(path)
    if enc.lower().replace("_", "-") in ("utf-8", "utf8"):
        # A forced UTF-8 read of a file with a BOM would keep the BOM in the first name.
        with open(path, "rb") as f:
            if f.read(3) == codecs.BOM_UTF8:
                enc = "utf-8-sig"
    arrow_enc = "utf8" if enc == "utf-8" else enc
    with open(path, "rb") as f:
        first = f.readline()
    try:
        header = first.decode(enc).lstrip("\ufeff").rstrip("\r\n")
    except UnicodeDecodeError:
        raise InputError(f"{path}: header row is not {enc} text") from None
    if not header.strip():
        raise InputError(f"{path}: empty file, no header row")
    names = next(csv.reader([header]))
    types = {name: pa.string() for name in names}
    convert = pcsv.ConvertOptions(
        column_types=types, strings_can_be_null=True, null_values=[""], quoted_strings_can_be_null=True
    )
    return enc, arrow_enc, convert


def _csv_options(arrow_enc: str, threads: bool, malformed: list[tuple[int | None, str]]):
    """Read and parse options that skip rows with a wrong field count into ``malformed``."""

    def skip(row) -> str:
        err = f"expected {row.expected_columns} fields, got {row.actual_columns}"
        malformed.append((row.number, err))
        return "skip"

    read = pcsv.ReadOptions(encoding=arrow_enc, block_size=1 << 24, use_threads=threads)
    return read, pcsv.ParseOptions(newlines_in_values=True, invalid_row_handler=skip)


def _unreadable(path: Path, enc: str, exc: Exception) -> InputError:
    return InputError(f"{path}: unreadable CSV ({enc}): {str(exc).splitlines()[0]}")


def _read_csv(path: Path, encoding: str | None) -> tuple[pa.Table, list[tuple[int, str]]]:
    """The table and the rows whose field count is wrong, as (line number, error)."""
    enc, arrow_enc, convert = _csv_setup(path, encoding)

    def attempt(threads: bool):
        malformed: list[tuple[int | None, str]] = []
        read, parse = _csv_options(arrow_enc, threads, malformed)
        table = pcsv.read_csv(path, read_options=read, parse_options=parse, convert_options=convert)
        return table, malformed

    try:
        table, malformed = attempt(True)
        if malformed:  # Arrow numbers the lines of bad rows only when reading on one thread
            table, malformed = attempt(False)
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise _unreadable(path, enc, exc) from None
    return table, sorted((n or 0, e) for n, e in malformed)


def _read_parquet(path: Path) -> tuple[pa.Table, list[Any]]:
    try:
        table = pq.read_table(path, memory_map=True)  # a third of the kernel time of buffered reads
    except (pa.ArrowInvalid, OSError) as exc:
        raise _unreadable_parquet(path, exc) from None
    return _as_text(table, path), []


def _as_text(table: pa.Table, path: Path) -> pa.Table:
    """Every column as ``string``; a column of another kind (float, binary, ...) is refused."""
    cols = []
    for name, col in zip(table.column_names, table.columns):
        t = col.type
        if pa.types.is_string(t) or pa.types.is_large_string(t):
            cols.append(col.cast(pa.string()) if pa.types.is_large_string(t) else col)
        elif pa.types.is_dictionary(t) or pa.types.is_null(t) or pa.types.is_integer(t) or pa.types.is_date(t):
            cols.append(col.cast(pa.string()))
        else:
            raise InputError(f"{path}: column {name}: type {t} is not text (every column must be text)")
    return pa.table(cols, names=table.column_names)


class InputTable(NamedTuple):
    table: pa.Table  # all text columns plus ``__row``
    malformed: list[tuple[int, str]]  # (record number, error) of rows that could not be parsed
    path: Path


def read_text_table(path: str | Path, *, encoding: str | None = None) -> tuple[pa.Table, list[tuple[int, str]]]:
    """Any Parquet or CSV file as an all-text table with clean, unique column names and
    empty strings turned into nulls, plus the CSV lines that could not be parsed as
    (line number, error). Raises :class:`InputError` (one line) for an unusable file."""
    path = Path(path)
    if _format_of(path) == ".parquet":
        table, malformed = _read_parquet(path)
        return _clean(table, path), malformed
    table, malformed = _read_csv(path, encoding)  # its empty fields are read as nulls already
    return _clean(table, path, empties=False), malformed


class _NoPandas:
    """A finder that refuses ``pandas`` (see :func:`refuse_pandas`)."""

    @staticmethod
    def find_spec(name: str, path: Any = None, target: Any = None) -> None:
        if name == "pandas" or name.startswith("pandas."):
            raise ModuleNotFoundError(f"No module named {name!r} (refused in this process)", name=name)


def refuse_pandas() -> None:
    """From now on this process does not import pandas; an ``import pandas`` fails.

    Why: pyarrow imports pandas on its first conversion of any Python or NumPy value (a
    scalar in a compute call will do) only to ask whether the value is a pandas object.
    That import costs 0.3 s of CPU holding the GIL while the inputs are read, and 50 MiB,
    and a reconciliation never uses pandas. pyarrow works on without it: it asks again each
    time and is refused in microseconds. This changes the whole process, so only a command
    run in a process of its own calls it (``jukimatch reconcile`` and ``link``, local
    backend), never a library import or a test process. Without effect once pandas is in.
    """
    import sys

    if "pandas" not in sys.modules and _NoPandas not in sys.meta_path:
        sys.meta_path.insert(0, _NoPandas)  # type: ignore[arg-type]


def _format_of(path: Path) -> str:
    """``.parquet``, ``.csv`` or ``.txt``; an :class:`InputError` for a missing or other file."""
    if not path.exists():
        raise InputError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix not in (".parquet", ".csv", ".txt"):
        raise InputError(f"{path}: unknown format {suffix or '(none)'}; use .parquet or .csv")
    return suffix


def _check_kind(kind: str) -> None:
    if kind not in REQUIRED:
        raise ValueError(f"kind must be 'residents' or 'responses', got {kind!r}")


def _unreadable_parquet(path: Path, exc: Exception) -> InputError:
    return InputError(f"{path}: unreadable Parquet: {str(exc).splitlines()[0]}")


def _clean(table: pa.Table, path: Path, *, empties: bool = True) -> pa.Table:
    """Column names stripped and unique; empty strings turned into nulls (``empties``: a
    table that may hold any; a pass over every column, 0.1 s per 1M-row file)."""
    names = [n.strip().lstrip("\ufeff") for n in table.column_names]
    table = table.rename_columns(names)
    seen = set()
    for n in names:
        if n in seen:
            raise InputError(f"{path}: column {n}: appears twice in the header")
        seen.add(n)
    if not empties:
        return table
    # Empty and null mean the same; make them the same once, here.
    cols = []
    for name in table.column_names:
        col = table.column(name)
        # Copying a 10M-row column costs seconds: only when some value is empty. Lengths, not
        # a comparison with "": that compares bytes (the addresses of 1M rows took 50 ms, 1.4 here)
        if pa.types.is_string(col.type):
            empty = pc.equal(pc.binary_length(col), 0)
            if pc.any(empty).as_py():
                col = pc.if_else(empty, pa.scalar(None, pa.string()), col)
        cols.append(col)
    return pa.table(cols, names=table.column_names)


def read_table(path: str | Path, kind: str, *, encoding: str | None = None) -> InputTable:
    """Read one input table, all columns as text, plus a ``__row`` column (1-based record number).

    ``kind`` is ``"residents"`` or ``"responses"`` and decides the required columns. Rows of a
    CSV whose field count is wrong are skipped here and returned in ``malformed`` so that the
    caller can quarantine them: rows in = rows out still holds.
    """
    path = Path(path)
    _check_kind(kind)
    started = _PREFETCHED.pop(_prefetch_key(path, kind, encoding), None)
    if started is not None:
        return started.result()
    return _read_table(path, kind, encoding)


def _read_table(path: Path, kind: str, encoding: str | None) -> InputTable:
    table, malformed = read_text_table(path, encoding=encoding)
    table = _complete(table, kind, path)
    rows, malformed = record_numbers(table.num_rows, malformed)
    return InputTable(table.append_column(ROW_COLUMN, pa.array(rows)), malformed, path)


def _complete(table: pa.Table, kind: str, path: Path) -> pa.Table:
    """The required columns checked, the other expected ones added as nulls when missing."""
    names = table.column_names
    for col in REQUIRED[kind]:
        if col not in names:
            raise InputError(f"{path}: column {col}: required column missing")
    if kind == "residents" and not any(c in names for c in NAME_COLUMNS):
        raise InputError(f"{path}: column name_alpha: no name column (name_alpha, name_kanji or name_kana)")
    expected = RESIDENT_COLUMNS if kind == "residents" else RESPONSE_COLUMNS
    for col in expected:
        if col not in names:
            table = table.append_column(col, pa.nulls(table.num_rows, pa.string()))
    return table


def record_numbers(n_rows: int, malformed: list[tuple[int, str]]) -> tuple[np.ndarray, list[tuple[int, str]]]:
    """The record number (1-based, header not counted) of each of ``n_rows`` kept rows, and
    the malformed rows as (record number, error), from the line numbers of the malformed."""
    rows = np.arange(1, n_rows + 1, dtype=np.int64)
    if malformed:
        # Record numbers of the kept rows: 1..total less the malformed ones (line - 1 = record).
        bad = np.array([max(line - 1, 0) for line, _ in malformed], dtype=np.int64)
        kept = np.setdiff1d(np.arange(1, n_rows + len(malformed) + 1, dtype=np.int64), bad)
        if len(kept) == n_rows:  # else line numbers were shifted by quoted newlines
            rows = kept
    return rows, [(max(line - 1, 0), err) for line, err in malformed]


class TableStream:
    """An input read in batches of rows, for a run that must never hold a whole table.

    Iterating yields all-text tables cleaned and completed exactly as :func:`read_table`
    cleans and completes the whole (but without ``__row``: the record numbers are known
    only at the end, from :attr:`malformed`, by :func:`record_numbers`). A CSV whose bad
    rows come without line numbers (Arrow numbers them only on one thread) raises
    :class:`Restart` once: iterate again, and the rows come again from the start.
    """

    class Restart(Exception):
        """Iterate again from the first row: the stream now reads on one thread."""

    def __init__(self, path: str | Path, kind: str, *, encoding: str | None = None):
        self.path = Path(path)
        _check_kind(kind)
        self.kind, self.encoding = kind, encoding
        self.suffix = _format_of(self.path)
        self.malformed: list[tuple[int, str]] = []
        self._threads = True

    def __iter__(self):
        self.malformed = []
        parquet = self.suffix == ".parquet"
        for table in self._parquet() if parquet else self._csv():
            yield _complete(_clean(table, self.path, empties=parquet), self.kind, self.path)

    def _parquet(self):
        try:
            source = pq.ParquetFile(self.path, memory_map=True)
            for batch in source.iter_batches(batch_size=1 << 18):
                yield _as_text(pa.Table.from_batches([batch]), self.path)
        except (pa.ArrowInvalid, OSError) as exc:
            raise _unreadable_parquet(self.path, exc) from None

    def _csv(self):
        enc, arrow_enc, convert = _csv_setup(self.path, self.encoding)
        found: list[tuple[int | None, str]] = []
        read, parse = _csv_options(arrow_enc, self._threads, found)
        try:
            reader = pcsv.open_csv(self.path, read_options=read, parse_options=parse, convert_options=convert)
            for batch in reader:
                if found and self._threads:
                    self._threads = False
                    raise TableStream.Restart()
                yield pa.Table.from_batches([batch])
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            raise _unreadable(self.path, enc, exc) from None
        if found and self._threads:
            self._threads = False
            raise TableStream.Restart()
        self.malformed = sorted((n or 0, e) for n, e in found)


_PREFETCHED: dict[tuple[Any, ...], Future[InputTable]] = {}


def _prefetch_key(path: Path, kind: str, encoding: str | None) -> tuple[Any, ...]:
    try:
        st = path.stat()
    except OSError:
        return (str(path), kind, encoding)
    return (str(path.resolve()), kind, encoding, st.st_mtime_ns, st.st_size)


def prefetch(path: str | Path, kind: str, *, encoding: str | None = None) -> None:
    """Start :func:`read_table` of ``path`` in a thread; the next ``read_table`` with the same
    path, kind and encoding takes its result (or raises its error) instead of reading again.

    Why: ``jukimatch reconcile`` starts reading its inputs as soon as its command line is
    parsed, so that Arrow reads (on its own threads, without the GIL) while the process is
    still importing the engine and Numba. The thread is not a daemon: the process ends after
    the read does, never in the middle of it. A file that changes in between is read again.
    """
    path = Path(path)
    _check_kind(kind)
    key = _prefetch_key(path, kind, encoding)
    if key in _PREFETCHED:
        return
    future: Future[InputTable] = Future()
    future.set_running_or_notify_cancel()

    def read() -> None:
        try:
            future.set_result(_read_table(path, kind, encoding))
        except BaseException as exc:  # noqa: BLE001 - handed to whoever takes the result
            future.set_exception(exc)

    _PREFETCHED[key] = future
    threading.Thread(target=read, name=f"jukimatch-prefetch-{kind}").start()


def estimate_rows(path: str | Path) -> int:
    """Rows of an input file: exact for Parquet (its footer), from the mean line of the
    first megabyte for CSV; 0 for a file that cannot be looked at (reading will say why)."""
    path = Path(path)
    try:
        if path.suffix.lower() == ".parquet":
            return pq.ParquetFile(path).metadata.num_rows
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(1 << 20)
    except (OSError, pa.ArrowInvalid):
        return 0
    lines = head.count(b"\n")
    return int(size / (len(head) / lines)) if lines else 0


def partitions_for(residents: str | Path) -> int:
    """Partitions to take in turn so that a run fits the memory available: 1 (the whole input
    at once, the fastest) unless its estimated peak exceeds :data:`~jukimatch.engine.memory.MEMORY_SHARE` of it."""
    rows = estimate_rows(residents)
    available = memory_available()
    if available is None or rows * BYTES_PER_ROW_WHOLE <= MEMORY_SHARE * available:
        return 1
    return turns_for(rows)


def turns_for(rows: int) -> int:
    """Partitions of about :data:`ROWS_PER_TURN` residents each (at least two: in turn)."""
    return max(2, -(-rows // ROWS_PER_TURN))


def read_keyed_table(path: str | Path, encoding: str | None, id_column: str) -> tuple[pa.Table, list[Any], Path]:
    """An all-text input table (:func:`read_text_table`) whose ``id_column`` is present, non-empty
    and unique: the inputs of a link run."""
    path = Path(path)
    table, malformed = read_text_table(path, encoding=encoding)
    names = table.column_names
    if id_column not in names:
        raise InputError(f"{path}: column {id_column}: required id column missing (set [link] id_column)")
    ids = pc.utf8_trim_whitespace(table.column(id_column).cast(pa.string()))
    valid = pc.fill_null(pc.greater(pc.utf8_length(ids), 0), False).to_numpy(zero_copy_only=False)
    if not valid.all():
        row = int(np.flatnonzero(~valid)[0]) + 1
        raise InputError(f"{path}: row {row}: column {id_column}: empty id")
    counts = pc.value_counts(ids)
    if len(counts) != table.num_rows:
        values, n = counts.field("values"), counts.field("counts").to_numpy()
        dup = values[int(np.flatnonzero(n > 1)[0])].as_py()
        row = int(pc.index(ids, dup).as_py()) + 1
        raise InputError(f"{path}: row {row}: column {id_column}: id {dup!r} appears more than once")
    return table.set_column(names.index(id_column), id_column, ids), malformed, path
