"""jukimatch.datasets: synthetic residents, Juki-net answers and ground truth.

The public face; the rooms behind it are ``population`` (cases and assembly), ``people``,
``names``, ``addresses``, ``corrupt`` (the documented corruption model), ``copies``,
``numbers``, ``profile`` and ``io``.
"""
from .build import generate
from .corrupt import KINDS as DISCREPANCY_KINDS
from .io import cp932_safe, read_table, write_population
from .population import make_population
from .profile import CASE_KINDS, Profile, load_profile

__all__ = [
    "CASE_KINDS",
    "DISCREPANCY_KINDS",
    "Profile",
    "cp932_safe",
    "generate",
    "load_profile",
    "make_population",
    "read_table",
    "write_population",
]
