"""Stage 1 of a reconciliation part: validate both tables and link each response to its resident.

A *part* is the whole input (local backend) or one hash partition (Dask backend); every
stage runs the same way on both.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from jukimatch.engine.validate.checkdigit import scan_numbers_trimmed
from jukimatch.engine.validate.rows import Checked, check_residents, check_responses


SEED = 20270319  # go-live day: u sampling is deterministic
KEY = "__g"  # sort key: the row's index in the whole input table


def numbers(col: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(int64 number or -1 when not 12 digits, check-digit-valid mask)."""
    kind, num = scan_numbers_trimmed(col)
    return num, kind == 1


@dataclass
class Prepared:
    """A part's tables, validated and linked: everything the later stages index into."""

    R: pa.Table
    S: pa.Table
    r_global: np.ndarray  # int64: index of each resident row in the whole residents table
    s_global: np.ndarray
    rcheck: Checked
    scheck: Checked
    pair_res: np.ndarray  # resident row of each compared pair (sorted)
    pair_resp: np.ndarray  # response row of each compared pair
    held: np.ndarray  # number already held per resident row, -1 when none
    number_all: np.ndarray
    number_ok_all: np.ndarray
    answered: np.ndarray
    response_invalid: np.ndarray
    resident_ok: np.ndarray  # per response row: its resident row is valid
    linked: np.ndarray
    found: np.ndarray

    def pair_counts(self) -> np.ndarray:
        """Compared pairs per resident row (int32)."""
        return np.bincount(self.pair_res, minlength=self.R.num_rows).astype(np.int32)


def prepare(R: pa.Table, S: pa.Table, r_global: np.ndarray | None = None,
            s_global: np.ndarray | None = None, *, rcheck: Checked | None = None) -> Prepared:
    """Validate residents and responses and link responses to resident rows.

    Every rule here looks at one person_id at a time (duplicates included), so a part
    holding all rows of its person_ids decides exactly like the whole table.
    """
    n_res, n_resp = R.num_rows, S.num_rows
    rcheck = rcheck if rcheck is not None else check_residents(R)
    res_all = rcheck.keys.positions(S.column("person_id"))
    rcheck.keys = None  # the index is large (~40 bytes per resident): done with it
    scheck = check_responses(S, res_all)
    r_ok = rcheck.ok
    linked = res_all >= 0
    resident_ok = np.zeros(n_resp, dtype=bool)
    resident_ok[linked] = r_ok[res_all[linked]]
    answered = np.zeros(n_res, dtype=bool)
    answered[res_all[linked]] = True
    response_invalid = np.zeros(n_res, dtype=bool)
    response_invalid[res_all[linked & ~scheck.ok]] = True
    found = scheck.found
    use = scheck.ok & resident_ok & found
    pair_resp = np.flatnonzero(use)
    pair_res = res_all[pair_resp]
    if len(pair_res) > 1 and not (pair_res[1:] >= pair_res[:-1]).all():  # answers out of inquiry order
        order = np.argsort(pair_res, kind="stable")
        pair_resp, pair_res = pair_resp[order], pair_res[order]
    held = np.where(r_ok, rcheck.held, -1)  # scanned once, by validation
    rcheck.held = None  # kept as ``held``: 8 bytes a resident less to park
    number_all, number_ok_all = numbers(S.column("my_number"))
    return Prepared(
        R, S,
        np.arange(n_res, dtype=np.int64) if r_global is None else np.asarray(r_global, np.int64),
        np.arange(n_resp, dtype=np.int64) if s_global is None else np.asarray(s_global, np.int64),
        rcheck, scheck, pair_res, pair_resp, held, number_all, number_ok_all, answered, response_invalid,
        resident_ok, linked, found,
    )
