"""Shared set-up of the review workbench tests: a real (small) reconcile run loaded into a store."""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from jukimatch.api import generate, reconcile
from jukimatch.api.review import load_run
from jukimatch.api.service import Store, add_user
from jukimatch.engine.validate.checkdigit import my_number_errors

SHARED_OUT = ("check_digit", "number_format", "number_shared", "held_by_other", "held_number_differs")


@dataclass
class Desk:
    store: Store
    run_dir: Path
    tokens: dict[str, str]  # user id -> token


def make_run(tmp: Path, *, residents: int = 3000, seed: int = 2) -> Path:
    """Generate and reconcile a small population; the run's folder (review.parquet among its outputs)."""
    generate(residents, tmp / "data", seed=seed)
    reconcile(tmp / "data" / "residents.parquet", tmp / "data" / "responses.parquet", tmp / "run", report=False)
    return tmp / "run"


_RUN: list[Path] = []  # one generated run per test session, shared by the modules (each has its own store)


def shared_run(tmp_path_factory) -> Path:
    if not _RUN:
        _RUN.append(make_run(tmp_path_factory.mktemp("review-run")))
    return _RUN[0]


def make_desk(tmp_path_factory) -> Desk:
    run = shared_run(tmp_path_factory)
    tmp = tmp_path_factory.mktemp("review-desk")
    store = Store(tmp / "store.sqlite")
    load_run(store, run)
    tokens = {u: add_user(store, u, role) for u, role in
              (("clerk1", "clerk"), ("clerk2", "clerk"), ("sup1", "supervisor"), ("sup2", "supervisor"),
               ("aud1", "auditor"))}
    return Desk(store, run, tokens)


def plain_cases(store: Store) -> list[str]:
    """Open cases with one candidate whose number is valid and not shared, held or contradicted."""
    rows = store.conn.execute(
        "SELECT c.person_id, c.reasons, k.my_number, c.resident FROM review_cases c JOIN review_candidates k"
        " ON k.case_id = c.case_id WHERE c.status = 'open' AND c.candidates = 1 ORDER BY c.case_id").fetchall()
    out = []
    for pid, reasons, number, resident in rows:
        if any(r in reasons for r in SHARED_OUT) or '"my_number":"' in resident:
            continue
        if number and my_number_errors([number])[0] is None:
            out.append(pid)
    return out


def shared_pair(store: Store) -> tuple[str, str, str]:
    """Two open cases whose candidates carry the same valid number: (person a, person b, number)."""
    rows = store.conn.execute(
        "SELECT k.my_number, group_concat(c.person_id) FROM review_candidates k JOIN review_cases c"
        " ON c.case_id = k.case_id WHERE c.status = 'open' AND k.my_number IS NOT NULL GROUP BY k.my_number"
        " HAVING count(DISTINCT c.person_id) > 1").fetchall()
    for number, persons in rows:
        if my_number_errors([number])[0] is None:
            a, b = persons.split(",")[:2]
            if '"my_number":"' not in "".join(r[0] for r in store.conn.execute(
                    "SELECT resident FROM review_cases WHERE person_id IN (?, ?)", (a, b))):
                return a, b, number
    raise AssertionError("the generated run has no shared number")


def rank_of(store: Store, person_id: str, number: str) -> int:
    return store.conn.execute(
        "SELECT k.rank FROM review_candidates k JOIN review_cases c ON c.case_id = k.case_id"
        " WHERE c.person_id = ? AND k.my_number = ?", (person_id, number)).fetchone()[0]


def count(path: Path, sql: str, args: tuple = ()) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, args).fetchone()[0]
    finally:
        conn.close()
