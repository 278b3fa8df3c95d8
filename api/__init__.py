"""The public face of jukimatch: typed functions other components import.

>>> from jukimatch.api import reconcile, check_numbers

The service's functions and ``link`` are imported on first use: a bulk run from the command
line need not load the web stack or the linker.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import function_over_submodule, lazy_names
from .library import check_numbers, generate, reconcile

_LAZY = {"check_authenticity": ".service", "provide": ".service"}

if TYPE_CHECKING:  # pragma: no cover
    from .link import link
    from .service import check_authenticity, provide


__getattr__ = lazy_names(__name__, _LAZY)
function_over_submodule(__name__, "link")

__all__ = ["check_authenticity", "check_numbers", "generate", "link", "provide", "reconcile"]
