"""The review workbench: clerks work the review queue of a reconcile run, four eyes confirm.

The store side (load, cases, export) needs only the core install; the pages and the JSON API
(:mod:`.web`, :mod:`.routes`) are mounted by the service app (``service`` extra).
"""
from __future__ import annotations

import sys
import types
from importlib import import_module
from typing import TYPE_CHECKING, Any

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


def __getattr__(name: str) -> Any:
    """A public name, imported from its submodule on first use (see ``_LAZY``)."""
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class _Package(types.ModuleType):
    """``export`` is both a function and the submodule defining it: importing the submodule
    binds its name on the package, which would hide the function. A property keeps the name
    for the function, however the submodule is imported (as ``from .export import export``
    here did when it was eager)."""

    @property
    def export(self):
        return import_module(".export", __name__).export

    @export.setter
    def export(self, submodule: types.ModuleType) -> None:
        pass  # the import system's binding of the submodule: the function keeps the name


sys.modules[__name__].__class__ = _Package
