"""The one masking function of the project: My Numbers shown as their last four digits only.

A number reaches logs, free text and reports in many spellings: ``008815471475``,
``0088-1547-1475``, ``0088 1547 1475``, full-width ``００８８…``, percent-encoded in a URL
(``%30%30…``, ``0088%2D1547``, ``0088+1547``). :func:`mask` reads a *digit* as any Unicode
decimal digit or a percent-encoded ASCII or full-width digit, and lets up to three
*separators* (spaces of any width, hyphen and dash look-alikes, dots, ``+``, ``%20``, ``%2D``)
stand between two digits. Any run of twelve or more digits so joined is a possible number:
every digit of it but the last four becomes ``*`` (separators stay), so no twelve digits in a
row ever show more than four. Shorter runs (dates, phone numbers, card numbers) are left alone.
"""
from __future__ import annotations

import re

_DIGIT = r"(?:\d|%3[0-9]|%EF%BC%9[0-9])"
_SEP = r"(?:[\s\-\u2010-\u2015\u2212\u30fc\uff0d\uff70+]|%20|%2D|%E3%80%80)"
# a run of digits, or a separator skipped whole: scanning left to right, an encoded separator
# (``%E3%80%80``) is never read from its middle as the digits ``80``
_RUN = re.compile(rf"(?P<run>{_DIGIT}(?:{_SEP}{{0,3}}{_DIGIT})*)|{_SEP}", re.IGNORECASE)
_TOKEN = re.compile(rf"(?P<d>{_DIGIT})|{_SEP}", re.IGNORECASE)
NUMBER_DIGITS = 12
SHOWN = 4


def _mask_run(m: re.Match[str]) -> str:
    run: str = m.group(0)
    if m.group("run") is None:
        return run
    digits = [t for t in _TOKEN.finditer(run) if t.group("d")]
    if len(digits) < NUMBER_DIGITS:
        return run
    out, pos = [], 0
    for d in digits[:-SHOWN]:
        out += [run[pos:d.start()], "*"]
        pos = d.end()
    out.append(run[pos:])
    return "".join(out)


def mask(text: str | None, *, whole: bool = False) -> str:
    """``text`` with every possible My Number masked to its last four digits.

    ``whole=True`` is for a value that *is* a number field (a number as typed, valid or
    not): everything but its last four characters is masked, whatever its length.
    ``None`` gives ``""``.
    """
    if not text:
        return ""
    if whole:
        return "*" * max(len(text) - SHOWN, 0) + text[-SHOWN:]
    return _RUN.sub(_mask_run, text)


__all__ = ["mask"]
