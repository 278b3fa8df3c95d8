"""jukimatch.datasets: synthetic residents, Juki-net answers and ground truth.

The public face; the rooms behind it are ``population`` (cases and assembly), ``people``,
``names``, ``addresses``, ``corrupt`` (the documented corruption model), ``copies``,
``numbers``, ``profile`` (``profiles/*.toml``), ``places`` (communities, dormitories, where a
namesake lives), ``namesakes`` (head names, twins, absent persons answered) and ``io``.
"""
from .build import generate
from .corrupt import KINDS as DISCREPANCY_KINDS
from .io import cp932_safe, read_table, write_population
from .population import make_population
from .profile import CASE_KINDS, Profile, load_profile, profile_names

__all__ = [
    "CASE_KINDS",
    "DISCREPANCY_KINDS",
    "Profile",
    "cp932_safe",
    "generate",
    "load_profile",
    "make_population",
    "profile_names",
    "read_table",
    "write_population",
]
