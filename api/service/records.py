"""Reading and loading the store's person data, with masking and auditing where numbers appear.

Reads of a person's number append an audit entry whether the caller sees it in clear
(staff) or masked (operators, auditors): the audit question is who looked at whose number,
not how much of it they saw. Listings are paged and bounded, and numbers in them are always
masked: there is no way to pull numbers out in bulk.
"""
from __future__ import annotations

import json
import sqlite3
from typing import Any, Iterable, Mapping

from jukimatch.engine.masking import mask

from . import audit
from .auth import Principal
from .errors import NotFound
from .canon import dumps, now_iso
from .store import Store

PERSON_COLUMNS = ("person_id", "subject_id", "resident_class", "name_alpha", "name_kanji", "name_kana",
                  "birth_date", "sex", "nationality", "address", "card_number")
MAX_PAGE = 1000


def read_person(store: Store, person_id: str, principal: Principal) -> dict[str, Any]:
    """A person's record and registrations; numbers in clear only for staff. Audited."""
    with store.write() as conn:
        p = conn.execute(f"SELECT {', '.join(PERSON_COLUMNS)} FROM persons WHERE person_id = ?",
                         (person_id,)).fetchone()
        if p is None:
            raise NotFound("unknown_person", "no person with this person_id")
        regs = conn.execute("SELECT id, my_number, status, source, reasons, created_at, decided_at"
                            " FROM registrations WHERE person_id = ? ORDER BY id", (person_id,)).fetchall()
        clear = principal.sees_numbers_in_clear
        for r in regs:
            audit.append(conn, staff_id=principal.user_id, role=principal.role,
                         operation="read_number" if clear else "read_number_masked",
                         person_id=person_id, my_number=r["my_number"], detail={"registration_id": r["id"]})
    out = dict(p)
    out["registrations"] = [{"registration_id": r["id"],
                             "my_number": r["my_number"] if clear else mask(r["my_number"], whole=True),
                             "status": r["status"], "source": r["source"], "reasons": json.loads(r["reasons"]),
                             "created_at": r["created_at"], "decided_at": r["decided_at"]} for r in regs]
    out["masked"] = not clear
    return out


def _page(store: Store, select: str, key: str, after: int, limit: int,
          where: tuple[str, object] | None) -> sqlite3.Cursor:
    """Rows of ``select`` with ``key > after`` (and ``column = value`` when given), in key
    order, at most ``limit`` (capped at MAX_PAGE): keyset paging, stable while rows are appended."""
    sql = f"{select} WHERE {key} > ?"
    args: list[object] = [after]
    if where is not None and where[1] is not None:
        sql += f" AND {where[0]} = ?"
        args.append(where[1])
    return store.conn.execute(f"{sql} ORDER BY {key} LIMIT ?", (*args, max(1, min(limit, MAX_PAGE))))


def audit_entries(store: Store, *, after: int = 0, limit: int = 100, person_id: str | None = None) -> list[dict[str, Any]]:
    """One page of the audit log, numbers masked (the auditor's view)."""
    rows = _page(store, "SELECT seq, at, staff_id, role, operation, person_id, my_number, detail, hash FROM audit_log",
                 "seq", after, limit, ("person_id", person_id))
    return [{**dict(r), "my_number": mask(r["my_number"], whole=True), "detail": json.loads(r["detail"])} for r in rows]


def provision_records(store: Store, *, after: int = 0, limit: int = 100, requester: str | None = None) -> list[dict[str, Any]]:
    """One page of provision records (they hold no My Numbers)."""
    return [dict(r) for r in _page(store, "SELECT * FROM provision_records", "id", after, limit,
                                   ("requester_code", requester))]


def load_persons(store: Store, persons: Iterable[Mapping[str, Any]]) -> int:
    """Insert or replace person records (the agency's 4 information and the exchange id)."""
    now = now_iso()
    rows = [{**{c: (None if r.get(c) in (None, "") else str(r.get(c))) for c in PERSON_COLUMNS}, "updated_at": now}
            for r in persons]
    store.db.table("persons").upsert_all(rows, pk="person_id", batch_size=5000)
    return len(rows)


def load_copies(store: Store, copies: Iterable[Mapping[str, Any]]) -> int:
    """Insert or replace copy data rows: ``subject_id``, ``kind`` (E/C/S), ``data``, ``no_auto_response``."""
    now = now_iso()
    rows = [{"subject_id": str(r["subject_id"]), "kind": r["kind"],
             "data": r["data"] if isinstance(r["data"], str) else dumps(r["data"]),
             "no_auto_response": int(bool(r.get("no_auto_response"))), "updated_at": now} for r in copies]
    store.db.table("copies").insert_all(rows, replace=True, batch_size=5000)
    return len(rows)


def register_bulk(store: Store, pairs: Iterable[tuple[str, str]], *, staff_id: str = "system:bulk",
                  role: str = "operator", source: str = "reconcile") -> int:
    """Register numbers the bulk reconciliation decided ``match`` for; each write is audited.

    Pairs that would give a person a second number, or a number to a second person, are
    skipped (the unique indexes would refuse them anyway): the bulk run's ``review`` queue is
    where such conflicts belong.
    """
    n = 0
    now = now_iso()
    with store.write() as conn:
        for person_id, number in pairs:
            clash = conn.execute("SELECT 1 FROM registrations WHERE status = 'registered' AND"
                                 " (person_id = ? OR my_number = ?)", (person_id, number)).fetchone()
            if clash:
                continue
            rid = conn.execute("INSERT INTO registrations (person_id, my_number, status, source, reasons, staff_id,"
                               " created_at, decided_at) VALUES (?, ?, 'registered', 'bulk', ?, ?, ?, ?)",
                               (person_id, number, dumps([source]), staff_id, now, now)).lastrowid
            audit.append(conn, staff_id=staff_id, role=role, operation="register_bulk", person_id=person_id,
                         my_number=number, detail={"registration_id": rid, "source": source})
            n += 1
    return n
