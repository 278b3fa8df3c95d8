"""The public face of jukimatch: typed functions other components import.

>>> from jukimatch.api import reconcile, check_numbers
"""
from __future__ import annotations

from .library import check_numbers, generate, reconcile
from .link import link
from .service import check_authenticity, provide

__all__ = ["check_authenticity", "check_numbers", "generate", "link", "provide", "reconcile"]
