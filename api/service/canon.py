"""Canonical text of stored values: UTC time stamps that sort as text, key-sorted JSON that
hashes the same every time. The store and the audit chain both write them."""
from __future__ import annotations

import json
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


__all__ = ["dumps", "now_iso"]
