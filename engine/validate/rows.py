"""Row checks against the contract: bad rows are quarantined with file, row and field.

A check never drops a row: it yields a boolean mask of good rows plus, per bad row, the
codes ``field:problem`` that say why. The caller keeps rows in = rows out.
"""
from __future__ import annotations

import functools
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numba as nb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from jukimatch.engine.io import NAME_COLUMNS, ROW_COLUMN
from jukimatch.engine.normalize import Dates, normalize_sex, parse_dates
from jukimatch.engine.text import is_valid_row, over_chunks, take_rows, utf8_char
from jukimatch.engine.validate.checkdigit import scan_numbers_trimmed, valid_card_numbers
from jukimatch.engine.validate.keys import KeyIndex, index_keys

_POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jukimatch-validate")
RESIDENT_CLASSES = ("mid_long_term", "special_permanent", "japanese_relative")
STATUSES = ("found", "not_found")


@dataclass
class Checked:
    ok: np.ndarray  # bool per row
    errors: dict[int, list[str]]  # row index -> codes, for bad rows only
    dates: Dates | None = None  # parsed birth dates, reused by the comparison
    sex: np.ndarray | None = None  # sex codes, reused by the comparison
    keys: KeyIndex | None = None  # residents: person_id indexed, to link responses to rows
    found: np.ndarray | None = None  # responses: status is "found"
    held: np.ndarray | None = None  # residents: the valid My Number held, -1 when none

    def rejected_table(self, table: pa.Table, source: Path, kind: str) -> pa.Table:
        """rejected.parquet rows for the bad rows of ``table``."""
        idx = np.array(sorted(self.errors), dtype=np.int64)
        rows = take_rows(table.column(ROW_COLUMN), idx) if len(idx) else pa.array([], pa.int64())
        pid = take_rows(table.column("person_id"), idx) if len(idx) else pa.array([], pa.string())
        errs = [self.errors[i] for i in idx.tolist()]
        return pa.table({
            "source": pa.array([str(source)] * len(idx), pa.string()),
            "table": pa.array([kind] * len(idx), pa.string()),
            "row": rows,
            "person_id": pid,
            "field": pa.array([e[0].split(":", 1)[0] for e in errs], pa.string()),
            "error": pa.array(["; ".join(e) for e in errs], pa.string()),
        })


# Whitespace as Arrow's ``utf8_is_space`` defines it (Unicode Zs and the bidi classes WS, B
# and S); a test holds it to Arrow over every code point.
SPACES = (*range(0x09, 0x0E), *range(0x1C, 0x21), 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x2028, 0x2029,
          0x202F, 0x205F, 0x3000)


@functools.cache
def _spaces() -> np.ndarray:
    table = np.zeros(max(SPACES) + 1, dtype=np.bool_)
    table[list(SPACES)] = True
    table.setflags(write=False)
    return table


@nb.njit(cache=True, nogil=True)
def _has_text(boff, data, bits, bit_offset, has_nulls, spaces):
    """Per row: valid and holding a character that is not whitespace. Most rows stop at
    their first character."""
    n = len(boff) - 1
    out = np.zeros(n, dtype=np.bool_)
    for i in range(n):
        if not is_valid_row(bits, bit_offset, has_nulls, i):
            continue
        k = boff[i]
        while k < boff[i + 1]:
            c, k = utf8_char(data, k)
            if c >= len(spaces) or not spaces[c]:
                out[i] = True
                break
    return out


def _present(col: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Non-null and not only whitespace: one pass over the bytes, nothing copied."""
    return over_chunks(col, _has_text, _spaces())


def _add(errors: dict[int, list[str]], mask: np.ndarray, code: str) -> None:
    for i in np.flatnonzero(mask).tolist():
        errors.setdefault(i, []).append(code)


def check_residents(table: pa.Table) -> Checked:
    """Contract checks on the residents table (see CONTRACT.md)."""
    n = table.num_rows
    errors: dict[int, list[str]] = {}
    pid = table.column("person_id")
    # The person_id index (a Numba kernel without the GIL) is built beside the other checks.
    keys_future = _POOL.submit(index_keys, pid)
    has_pid = _present(pid)
    named = np.zeros(n, dtype=bool)
    for c in NAME_COLUMNS:
        named |= _present(table.column(c))
    dates = parse_dates(table.column("birth_date"))
    sex, sex_ok = normalize_sex(table.column("sex"))
    card = table.column("card_number")
    bad_card = _present(card) & ~valid_card_numbers(card, trim=True)
    kind, number = scan_numbers_trimmed(table.column("my_number"))
    cls = table.column("resident_class")
    bad_cls = _present(cls) & ~pc.fill_null(pc.is_in(cls, value_set=pa.array(RESIDENT_CLASSES)), False).to_numpy(
        zero_copy_only=False
    )
    keys = keys_future.result()
    _add(errors, ~has_pid, "person_id:missing")
    # Every row that shares a person_id with another is doubtful: which one did Juki-net answer?
    _add(errors, keys.repeated() & has_pid, "person_id:duplicate")
    _add(errors, ~named, "name:missing")
    _add(errors, np.asarray(dates.status) == 2, "birth_date:unparseable")
    _add(errors, ~np.asarray(sex_ok), "sex:invalid")
    _add(errors, bad_card, "card_number:format")
    _add(errors, kind == 0, "my_number:format")
    _add(errors, kind == 2, "my_number:check_digit")
    _add(errors, bad_cls, "resident_class:unknown")
    ok = np.ones(n, dtype=bool)
    if errors:
        ok[np.fromiter(errors, dtype=np.int64)] = False
    return Checked(ok, errors, dates, sex, keys, held=np.where(kind == 1, number, -1))


def check_responses(table: pa.Table, resident_index: np.ndarray) -> Checked:
    """Contract checks on the responses; ``resident_index`` is -1 where no valid resident row."""
    n = table.num_rows
    errors: dict[int, list[str]] = {}
    has_pid = _present(table.column("person_id"))
    _add(errors, ~has_pid, "person_id:missing")
    _add(errors, has_pid & (resident_index < 0), "person_id:unknown")
    found, not_found = status_flags(table.column("status"))
    _add(errors, ~(found | not_found), "status:invalid")
    dates = parse_dates(table.column("birth_date"))
    _add(errors, np.asarray(dates.status) == 2, "birth_date:unparseable")
    sex, sex_ok = normalize_sex(table.column("sex"))
    _add(errors, ~np.asarray(sex_ok), "sex:invalid")
    ok = np.ones(n, dtype=bool)
    if errors:
        ok[np.fromiter(errors, dtype=np.int64)] = False
    return Checked(ok, errors, dates, sex, found=found)


def status_flags(col: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(found, not_found) per response status, spaces around ignored. Values are compared
    as they are first; only the few that are neither get trimmed (a trim copies the column)."""
    def flags(c):
        return tuple(pc.fill_null(pc.equal(c, s), False).to_numpy(zero_copy_only=False) for s in STATUSES)

    found, not_found = flags(col)
    rest = np.flatnonzero(~(found | not_found) & pc.is_valid(col).to_numpy(zero_copy_only=False))
    if len(rest):
        found[rest], not_found[rest] = flags(pc.utf8_trim_whitespace(take_rows(col, rest)))
    return found, not_found
