"""The review workbench: clerks work the review queue of a reconcile run, four eyes confirm.

The store side (load, cases, export) needs only the core install; the pages and the JSON API
(:mod:`.web`, :mod:`.routes`) are mounted by the service app (``service`` extra).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import function_over_submodule, lazy_names

# Imported on first use: the CLI registers ``review`` for every command (``reconcile`` too),
# and the store side pulls in the service's store and audit chain (~0.1 s).
_LAZY = {
    **dict.fromkeys(("Filters", "approve", "decide", "decision_seconds", "list_cases", "next_case", "open_case",
                     "queue_counts", "reveal"), ".cases"),
    **dict.fromkeys(("LoadResult", "load_run"), ".load"),
}

if TYPE_CHECKING:  # pragma: no cover
    from .cases import Filters, approve, decide, decision_seconds, list_cases, next_case, open_case, queue_counts, reveal
    from .export import export
    from .load import LoadResult, load_run

__all__ = ["Filters", "LoadResult", "approve", "decide", "decision_seconds", "export", "list_cases", "load_run",
           "next_case", "open_case", "queue_counts", "reveal"]


__getattr__ = lazy_names(__name__, _LAZY)
function_over_submodule(__name__, "export")  # the function, not the submodule of the same name
