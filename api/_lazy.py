"""Packages of the api that import their public names on first use.

``jukimatch reconcile`` imports ``jukimatch.api`` and registers every command on its command
line, so each package's ``__init__`` runs on every start; importing the service's store, the
audit chain or the linker there cost ~0.35 s before the first row was read.
"""
from __future__ import annotations

import sys
import types
from importlib import import_module
from typing import Any, Callable


def lazy_names(package: str, names: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: ``names`` maps each public name to the
    submodule (``".store"``) it is imported from on first use, then kept in the package."""

    def __getattr__(name: str) -> Any:
        if name in names:
            value = getattr(import_module(names[name], package), name)
            setattr(sys.modules[package], name, value)
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__


def function_over_submodule(package: str, name: str) -> None:
    """Let ``package.name`` be the function ``name`` of the submodule ``name``, imported on
    first use. Importing a submodule binds its name on the package, which would hide the
    function (an eager ``from .name import name`` rebinds it): a property on the package's
    class keeps the name for the function, however the submodule is imported."""

    def get(self: types.ModuleType) -> Any:
        return getattr(import_module(f".{name}", package), name)

    def keep(self: types.ModuleType, submodule: types.ModuleType) -> None:
        pass  # the import system binding the submodule: the function keeps the name

    module = sys.modules[package]
    module.__class__ = type(f"{type(module).__name__}With_{name}", (type(module),), {name: property(get, keep)})
