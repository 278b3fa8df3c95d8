"""The audit log of every read or write of a My Number, chained by SHA-256 hashes.

The assessment asks that each access to a number be logged (number, time, staff id) and kept
at least 7 years, so that misuse can be found afterwards. A log that can be edited silently
proves nothing, so each entry's hash covers its own fields and the previous entry's hash:
editing an entry breaks its hash, deleting one breaks the next entry's link, and deleting
the newest ones is caught by ``audit_head``, which the append moves in the same transaction.
Appends run inside the caller's write transaction (``Store.write``), which holds the write
lock, so the chain never forks even with several worker processes.
"""
from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from .schema import GENESIS_HASH
from .store import dumps, now_iso

_FIELDS = ("seq", "at", "staff_id", "role", "operation", "person_id", "my_number", "detail")


def entry_hash(prev_hash: str, seq: int, at: str, staff_id: str, role: str, operation: str,
               person_id: str | None, my_number: str | None, detail: str) -> str:
    """The hash of one entry: SHA-256 over the previous hash and the entry's fields as JSON."""
    body = dumps([prev_hash, seq, at, staff_id, role, operation, person_id, my_number, detail])
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def append(conn: sqlite3.Connection, *, staff_id: str, role: str, operation: str,
           person_id: str | None = None, my_number: str | None = None,
           detail: dict | None = None) -> int:
    """Append one entry; must run inside ``Store.write()``. Returns its sequence number."""
    seq, prev = conn.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
    seq += 1
    at = now_iso()
    det = dumps(detail or {})
    h = entry_hash(prev, seq, at, staff_id, role, operation, person_id, my_number, det)
    conn.execute(
        "INSERT INTO audit_log (seq, at, staff_id, role, operation, person_id, my_number, detail,"
        " prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (seq, at, staff_id, role, operation, person_id, my_number, det, prev, h))
    conn.execute("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", (seq, h))
    return seq


@dataclass
class Verification:
    """Result of checking the chain: ``ok`` or the first broken entry and why."""

    ok: bool
    entries: int
    head_seq: int
    head_hash: str
    first_broken: int | None = None
    problem: str | None = None
    details: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"ok": self.ok, "entries": self.entries, "head_seq": self.head_seq,
                "head_hash": self.head_hash, "first_broken": self.first_broken, "problem": self.problem}


def verify_connection(conn: sqlite3.Connection) -> Verification:
    """Walk the chain in sequence order; stop at the first entry that does not hold."""
    head = conn.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
    head_seq, head_hash = (head[0], head[1]) if head else (-1, "")
    prev_hash, expected_seq, n = GENESIS_HASH, 1, 0
    cur = conn.execute(f"SELECT {', '.join(_FIELDS)}, prev_hash, hash FROM audit_log ORDER BY seq")
    for row in cur:
        seq, at, staff, role, op, pid, num, det, row_prev, row_hash = tuple(row)
        n += 1
        if seq != expected_seq:
            return Verification(False, n, head_seq, head_hash, expected_seq,
                                f"entry {expected_seq} is missing (next present entry is {seq})")
        if row_prev != prev_hash:
            return Verification(False, n, head_seq, head_hash, seq,
                                f"entry {seq}: link to the previous entry does not match")
        if entry_hash(row_prev, seq, at, staff, role, op, pid, num, det) != row_hash:
            return Verification(False, n, head_seq, head_hash, seq,
                                f"entry {seq}: content does not match its hash (edited)")
        prev_hash, expected_seq = row_hash, seq + 1
    last = expected_seq - 1
    if head is None:
        return Verification(False, n, head_seq, head_hash, last + 1, "audit head is missing")
    if head_seq != last or head_hash != prev_hash:
        if head_seq > last:
            return Verification(False, n, head_seq, head_hash, last + 1,
                                f"entries {last + 1}..{head_seq} are missing (deleted from the end)")
        return Verification(False, n, head_seq, head_hash, head_seq + 1 if head_seq < last else last,
                            "audit head does not match the last entry")
    return Verification(True, n, head_seq, head_hash)


def verify(path: str | Path) -> Verification:
    """Verify the chain of the store file at ``path`` (opened read-only)."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p}: no such store")
    conn = sqlite3.connect(f"file:{p}?mode=ro", uri=True)
    try:
        return verify_connection(conn)
    finally:
        conn.close()
