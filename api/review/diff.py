"""Character-level differences between the agency's text and a candidate's, as safe HTML.

The clerk should see at a glance *where* two spellings differ (a variant kanji, a voicing
mark, a swapped token), so differing characters are wrapped in ``<mark>``; everything is
escaped first. Alphabet names that differ only in token order are aligned by sorting the
tokens, and addresses are compared part by part (prefecture, municipality, town, block,
building) so that a missing prefecture does not make the whole line look different.
"""
from __future__ import annotations

from difflib import SequenceMatcher
from typing import Any

from markupsafe import Markup, escape


def _wrap(text: str, spans: list[tuple[int, int]]) -> Markup:
    out, pos = [], 0
    for a, b in spans:
        out.append(escape(text[pos:a]))
        out.append(Markup("<mark>") + escape(text[a:b]) + Markup("</mark>"))
        pos = b
    out.append(escape(text[pos:]))
    return Markup("").join(out)


def highlight(left: str | None, right: str | None) -> tuple[Markup, Markup]:
    """Both texts with the characters that differ marked."""
    a, b = left or "", right or ""
    if a == b:
        return escape(a), escape(b)
    sm = SequenceMatcher(None, a, b, autojunk=False)
    la, lb = [], []
    for op, i1, i2, j1, j2 in sm.get_opcodes():
        if op != "equal":
            if i2 > i1:
                la.append((i1, i2))
            if j2 > j1:
                lb.append((j1, j2))
    return _wrap(a, la), _wrap(b, lb)


def token_order_only(left: str | None, right: str | None) -> bool:
    """True when two names hold the same tokens in another order."""
    a, b = (left or "").split(), (right or "").split()
    return bool(a) and a != b and sorted(a) == sorted(b)


def address_parts(left: list[Any] | None, right: list[Any] | None) -> list[tuple[Markup, Markup, bool]]:
    """The five address parts side by side: (left, right, same) per part."""
    left, right = left or [None] * 5, right or [None] * 5
    out = []
    for x, y in zip(left, right):
        hx, hy = highlight(x, y)
        out.append((hx, hy, (x or "") == (y or "")))
    return out
