"""Per-field normalisers: whole Arrow columns in, whole columns out.

The public face of ``names``, ``kana``, ``dates`` and ``address``; each function's docstring
says what it folds and what null means for it.
"""
from __future__ import annotations

from jukimatch.engine.normalize.address import AddressParts, normalize_address
from jukimatch.engine.normalize.dates import Dates, normalize_sex, parse_dates
from jukimatch.engine.normalize.kana import normalize_kana
from jukimatch.engine.normalize.names import normalize_alpha, normalize_kanji

__all__ = [
    "AddressParts",
    "Dates",
    "normalize_address",
    "normalize_alpha",
    "normalize_kana",
    "normalize_kanji",
    "normalize_sex",
    "parse_dates",
]
