"""The public face of jukimatch: typed functions other components import.

>>> from jukimatch.api import reconcile, check_numbers

The service's functions and ``link`` are imported on first use: a bulk run from the command
line need not load the web stack or the linker.
"""
from __future__ import annotations

import sys
import types
from importlib import import_module
from typing import TYPE_CHECKING

from .library import check_numbers, generate, reconcile

_LAZY = {"check_authenticity": ".service", "provide": ".service"}

if TYPE_CHECKING:  # pragma: no cover
    from .link import link
    from .service import check_authenticity, provide


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class _Package(types.ModuleType):
    """``link`` is both a function and the submodule defining it: importing the submodule
    binds its name on the package, which would hide the function. A property keeps the name
    for the function, however the submodule is imported."""

    @property
    def link(self):
        return import_module(".link", __name__).link

    @link.setter
    def link(self, submodule: types.ModuleType) -> None:
        pass  # the import system's binding of the submodule: the function keeps the name


sys.modules[__name__].__class__ = _Package

__all__ = ["check_authenticity", "check_numbers", "generate", "link", "provide", "reconcile"]
