"""The public face of jukimatch: typed functions other components import.

>>> from jukimatch.api import reconcile, check_numbers

Every function is imported on first use: a bulk run from the command line need not load
the web stack or the linker, and ``jukimatch reconcile`` starts reading its inputs before
the engine (and Numba, ~0.6 s of imports) is loaded.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import function_over_submodule, lazy_names

_LAZY = {"check_authenticity": ".service", "provide": ".service",
         "check_numbers": ".library", "generate": ".library", "reconcile": ".library"}

if TYPE_CHECKING:  # pragma: no cover
    from .library import check_numbers, generate, reconcile
    from .link import link
    from .service import check_authenticity, provide


__getattr__ = lazy_names(__name__, _LAZY)
function_over_submodule(__name__, "link")

__all__ = ["check_authenticity", "check_numbers", "generate", "link", "provide", "reconcile"]
