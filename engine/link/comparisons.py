"""The comparisons a link configuration names, each resolved to a :class:`Comparison`.

The registry :data:`LINK_COMPARISONS` maps a configuration's comparison name to the level
function (the person-field comparisons of ``engine.compare.person`` or the generic string
comparisons of ``engine.compare.strings``), its number of levels, the level that means
"exact" for term-frequency adjustment, and the level labels (``engine.compare.levels``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any, Callable

import numpy as np

from jukimatch.engine.compare.levels import LEVEL_LABELS, exact_level, n_levels
from jukimatch.engine.compare.person import KERNELS, compare_address, compare_dates, compare_sex
from jukimatch.engine.compare.strings import check_thresholds, compare_edit_distance, compare_exact, compare_jaro_winkler

__all__ = ["Comparison", "LINK_COMPARISONS", "make_comparison"]


# --- the registry -------------------------------------------------------------------------

@dataclass(frozen=True)
class Comparison:
    """A configured comparison: ``levels(left, right, li, ri) -> int8`` over normalised features.

    ``kind`` names the feature layout it reads (``strings``, ``date``, ``sex``, ``address``);
    ``exact_level`` is the level of full agreement (the one term-frequency adjustment applies
    to); ``labels`` name the levels for reports.
    """

    name: str
    kind: str
    n_levels: int
    exact_level: int
    levels: Callable[..., np.ndarray]
    labels: dict[int, str] = field(default_factory=dict)


def _dates(left, right, li, ri):
    return compare_dates(left.year, left.month, left.day, right.year, right.month, right.day, li, ri)


def _thresholded(name: str, fn, default: tuple, descending: bool, fmt: str):
    def make(thresholds=None) -> Comparison:
        t = check_thresholds(default if thresholds is None else thresholds, descending=descending)
        k = len(t)
        labels = {-1: "null", 0: "different", k + 1: "exact"}
        for i, x in enumerate(t):
            labels[k - i] = fmt.format(x)
        return Comparison(name, "strings", k + 2, k + 1, partial(fn, thresholds=t), labels)
    return make


def _fixed(name: str, kind: str, fn):
    def make(thresholds=None) -> Comparison:
        if thresholds is not None:
            raise ValueError(f"comparison {name!r} takes no thresholds")
        return Comparison(name, kind, n_levels(name), exact_level(name), fn, LEVEL_LABELS[name])
    return make


#: comparison factories by the names a link configuration uses; the person-field kernels
#: of ``engine.compare.person.KERNELS`` plus the generic ones of ``engine.compare.strings``
LINK_COMPARISONS: dict[str, Callable[..., Comparison]] = {
    "name_alpha": _fixed("name_alpha", "strings", KERNELS["name_alpha"]),
    "name_kanji": _fixed("name_kanji", "strings", KERNELS["name_kanji"]),
    "name_kana": _fixed("name_kana", "strings", KERNELS["name_kana"]),
    "date": _fixed("date", "date", _dates),
    "sex": _fixed("sex", "sex", compare_sex),
    "address": _fixed("address", "address", compare_address),
    "exact": _fixed("exact", "strings", compare_exact),
    "jaro_winkler": _thresholded("jaro_winkler", compare_jaro_winkler, (0.92, 0.88, 0.70), True, "JW ≥ {}"),
    "edit_distance": _thresholded("edit_distance", compare_edit_distance, (1, 2), False, "edits ≤ {}"),
}


def make_comparison(name: str, thresholds: Any = None) -> Comparison:
    """The :class:`Comparison` registered as ``name``, with ``thresholds`` where it takes them."""
    if name not in LINK_COMPARISONS:
        raise ValueError(f"unknown comparison {name!r} (known: {', '.join(sorted(LINK_COMPARISONS))})")
    return LINK_COMPARISONS[name](thresholds)
