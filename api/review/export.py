"""``review export``: the approved registrations and the persons to inquire again, as Parquet.

``registrations.parquet`` holds only decisions a second person approved (or, with four-eyes
off, confirmed): it carries full numbers, so it is written owner-only (0600) or encrypted
with a key file. ``pending.parquet`` is in the residents format, ready for the next Juki-net
batch. The export is audited with its counts.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from jukimatch.engine.files.crypt import write_parquet
from jukimatch.engine.io import RESIDENT_COLUMNS

from jukimatch.api.service import audit
from jukimatch.api.service.store import Store

from .cases import queue_counts

REGISTRATION_COLUMNS = ("person_id", "my_number", "proposed_by", "approved_by", "decided_at", "run")


def _write_private(table: pa.Table, path: Path, key: bytes | None) -> Path:
    """Parquet readable by its owner only, replaced atomically; encrypted instead with a key."""
    if key is not None:
        return write_parquet(table, path, key)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            pq.write_table(table, f)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def export(store: Store, out: str | Path, *, key: bytes | None = None, staff_id: str = "cli:review-export",
           role: str = "operator") -> dict[str, Any]:
    """Write registrations.parquet and pending.parquet into ``out``; returns paths and counts."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    conn = store.conn
    regs = conn.execute(
        "SELECT d.person_id, d.my_number, d.decided_by, d.approved_by, d.approved_at, c.run_id FROM review_decisions d"
        " JOIN review_cases c ON c.case_id = d.case_id WHERE d.status = 'approved' ORDER BY d.approved_at, d.id"
    ).fetchall()
    reg_table = pa.table({name: pa.array([r[i] for r in regs], pa.string())
                          for i, name in enumerate(REGISTRATION_COLUMNS)})
    pend = [json.loads(r[0]) for r in conn.execute(
        "SELECT resident FROM review_cases WHERE status = 'reinquire' ORDER BY case_id")]
    pend_table = pa.table({c: pa.array([p.get(c) for p in pend], pa.string()) for c in RESIDENT_COLUMNS})
    counts = queue_counts(store)
    written = {"registrations": str(_write_private(reg_table, out / "registrations.parquet", key)),
               "pending": str(_write_private(pend_table, out / "pending.parquet", key))}
    result = {"written": written, "registrations": len(regs), "pending": len(pend),
              "open": counts["progress"]["remaining"], "proposed": counts["progress"]["proposed"],
              "by_status": counts["by_status"]}
    with store.write() as wconn:
        audit.append(wconn, staff_id=staff_id, role=role, operation="review_export",
                     detail={"out": str(out.resolve()), "registrations": len(regs), "pending": len(pend),
                             "encrypted": key is not None})
    return result
