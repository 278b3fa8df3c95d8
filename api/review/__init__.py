"""The review workbench: clerks work the review queue of a reconcile run, four eyes confirm.

The store side (load, cases, export) needs only the core install; the pages and the JSON API
(:mod:`.web`, :mod:`.routes`) are mounted by the service app (``service`` extra).
"""
from __future__ import annotations

from .cases import Filters, approve, decide, decision_seconds, list_cases, next_case, open_case, queue_counts, reveal
from .export import export
from .load import LoadResult, load_run

__all__ = ["Filters", "LoadResult", "approve", "decide", "decision_seconds", "export", "list_cases", "load_run",
           "next_case", "open_case", "queue_counts", "reveal"]
