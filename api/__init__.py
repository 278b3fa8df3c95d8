"""The public face of jukimatch: typed functions other components import.

>>> from jukimatch.api import reconcile, check_numbers
"""
from __future__ import annotations

from .library import check_numbers, generate, reconcile

__all__ = ["check_numbers", "generate", "reconcile"]
