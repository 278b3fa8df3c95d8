"""Canonical text of stored values: UTC time stamps that sort as text, key-sorted JSON that
hashes the same every time. The store and the audit chain both write them."""
from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta, timezone


def now_iso(delta_s: float = 0.0) -> str:
    """UTC time as ISO 8601 with microseconds: sorts as text, so indexes order it."""
    t = datetime.now(timezone.utc)
    if delta_s:
        t += timedelta(seconds=delta_s)
    return t.isoformat(timespec="microseconds")


def dumps(value: object) -> str:
    """Compact, key-sorted JSON: the same value always gives the same text (hashes rely on it)."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def inserted_id(cur: sqlite3.Cursor) -> int:
    """The rowid an INSERT just made (sqlite3 types it optional; after an INSERT it is set)."""
    if cur.lastrowid is None:
        raise RuntimeError("no row was inserted")
    return cur.lastrowid


__all__ = ["dumps", "inserted_id", "now_iso"]
