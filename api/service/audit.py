"""The audit log of every read or write of a My Number, chained by keyed MACs.

The assessment asks that each access to a number be logged (number, time, staff id) and kept
at least 7 years, so that misuse can be found afterwards. A log that can be edited silently
proves nothing, so each entry's HMAC (key outside the database, see :mod:`.chain`) covers its
own fields and the previous entry's MAC: editing an entry breaks its MAC, deleting one breaks
the next entry's link, and nobody without the key can re-chain what is left. Deleting the
newest entries is caught against the heads anchored outside the store.
Appends run inside the caller's write transaction (``Store.write``), which holds the write
lock, so the chain never forks even with several worker processes.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from . import chain
from .chain import Verification
from .canon import dumps, now_iso


def append(conn: sqlite3.Connection, *, staff_id: str, role: str, operation: str,
           person_id: str | None = None, my_number: str | None = None,
           detail: dict[str, Any] | None = None) -> int:
    """Append one entry; must run inside ``Store.write()``. Returns its sequence number."""
    return chain.append(conn, chain.AUDIT, {"at": now_iso(), "staff_id": staff_id, "role": role,
                                            "operation": operation, "person_id": person_id,
                                            "my_number": my_number, "detail": dumps(detail or {})})


def verify_connection(conn: sqlite3.Connection, anchors: list[dict[str, Any]] | None = None) -> Verification:
    """Verify the store behind ``conn`` with the key the connection carries."""
    return chain.verify(conn, getattr(conn, "audit_key", None), anchors)


def verify(path: str | Path, *, key_file: str | Path | None = None,
           anchor: str | Path | None = None) -> Verification:
    """Verify the store file at ``path`` (opened read-only) with its key and, if given, the anchor file."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p}: no such store")
    kf = chain.key_file_for(p, key_file)
    key = chain.load_key(kf) if kf.exists() else None
    anchors = chain.read_anchors(anchor) if anchor is not None else None
    conn = sqlite3.connect(f"file:{p}?mode=ro", uri=True, isolation_level=None)
    try:
        return chain.verify(conn, key, anchors)
    finally:
        conn.close()


__all__ = ["Verification", "append", "verify", "verify_connection"]
