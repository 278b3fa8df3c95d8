"""The public face of jukimatch: typed functions other components import.

>>> from jukimatch.api import reconcile, check_numbers

The service's functions are imported on first use: a bulk run from the command line need
not load the web stack.
"""
from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .library import check_numbers, generate, reconcile
from .link import link  # eager: the submodule of the same name would shadow a lazy one

_LAZY = {"check_authenticity": ".service", "provide": ".service"}

if TYPE_CHECKING:  # pragma: no cover
    from .service import check_authenticity, provide


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["check_authenticity", "check_numbers", "generate", "link", "provide", "reconcile"]
