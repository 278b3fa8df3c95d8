"""Configured columns normalised into the comparison kernels' layouts, and blocking key parts.

Each normaliser of :data:`engine.link.config.NORMALISERS` produces one feature layout:

- ``strings``: :class:`~jukimatch.engine.text.Codepoints` (normalised, tokens separated by
  one ASCII space, none at the ends; null = empty);
- ``date``: :class:`~jukimatch.engine.normalize.dates.Dates` (year 0 = null or unparseable);
- ``sex``: ``int8`` codes (0 and 9 unknown);
- ``address``: five ``uint64`` part hashes (pref, city, town, block, building; 0 = absent).

:func:`value_ids` gives one ``uint64`` per record for the whole value (0 = null): the
term-frequency tables count these. :func:`key_part` gives one ``uint64`` per record for a
blocking key part (0 = no key), computed by the token kernels below.
"""
from __future__ import annotations

import numba as nb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from jukimatch.engine.link.blocking import combine_keys
from jukimatch.engine.normalize.address import address_hashes
from jukimatch.engine.normalize.dates import Dates, normalize_sex, parse_dates
from jukimatch.engine.normalize.fold import as_strings, nfkc, squeeze_spaces
from jukimatch.engine.normalize.kana import kana_codepoints
from jukimatch.engine.normalize.names import alpha_codepoints, kanji_codepoints
from jukimatch.engine.runtime import JIT
from jukimatch.engine.text import Codepoints, hash_strings, to_codepoints
from jukimatch.engine.validate.checkdigit import valid_my_numbers

__all__ = ["key_part", "normalise", "token_keys", "value_ids"]

_FIRST, _LAST, _SORTED, _NOSPACE, _PREFIX = 0, 1, 2, 3, 4
_TOKEN_MODES = {"first_token": _FIRST, "last_token": _LAST, "sorted_tokens": _SORTED, "nospace": _NOSPACE}
_SALT = {"": 1, "year": 2, "month_day": 3, "block": 4, "town": 5, "city": 6}


def _text(values, *, drop: str | None, upper: bool) -> Codepoints:
    s = nfkc(as_strings(values))
    if upper:
        s = pc.utf8_upper(s)
    s = pc.replace_substring_regex(s, r"\s+", " ")
    if drop is not None:
        s = pc.replace_substring_regex(s, drop, "")
    return squeeze_spaces(to_codepoints(s))


def _my_numbers(values) -> Codepoints:
    """Digits of values that are valid My Numbers (12 digits, official check digit); others null.

    A number that fails the check digit is a transfer or typing error: it says nothing about
    who the record is, so it is compared as unknown rather than as a different number.
    """
    s = pc.replace_substring_regex(nfkc(as_strings(values)), r"[^0-9]", "")
    valid = valid_my_numbers(s)
    return to_codepoints(pc.if_else(pa.array(valid), s, pa.scalar(None, s.type)))


def normalise(values, normaliser: str):
    """One column (Arrow strings) normalised by the named normaliser, as its feature layout."""
    if normaliser == "alpha":
        return alpha_codepoints(values)
    if normaliser == "kanji":
        return kanji_codepoints(values)[0]
    if normaliser == "kana":
        return kana_codepoints(values)
    if normaliser == "text":
        return _text(values, drop=None, upper=True)
    if normaliser == "digits":
        return _text(values, drop=r"[^0-9]", upper=False)
    if normaliser == "alnum":
        return _text(values, drop=r"[^0-9A-Z]", upper=True)
    if normaliser == "my_number":
        return _my_numbers(values)
    if normaliser == "date":
        d = parse_dates(values)
        return Dates(*(np.ascontiguousarray(x) for x in d))
    if normaliser == "sex":
        return np.ascontiguousarray(normalize_sex(values)[0])
    if normaliser == "address":
        return tuple(np.ascontiguousarray(h) for h in address_hashes(values))
    raise ValueError(f"unknown normaliser {normaliser!r}")


@nb.njit(**JIT)
def _fnv(h, c):
    return (h ^ np.uint64(c)) * np.uint64(1099511628211)


@nb.njit(**JIT)
def _token_keys(cp, off, mode, prefix):
    """Per string: hash of its first / last token, of its tokens in sorted order, of the string
    without spaces, or of its first ``prefix`` code points (spaces skipped); 0 when empty."""
    n = len(off) - 1
    out = np.zeros(n, dtype=np.uint64)
    basis = np.uint64(14695981039346656037)
    for i in range(n):
        a = off[i]
        b = off[i + 1]
        if a == b:
            continue
        h = basis
        if mode == 0:  # first token
            k = a
            while k < b and cp[k] != 32:
                h = _fnv(h, cp[k])
                k += 1
        elif mode == 1:  # last token
            k = b
            while k > a and cp[k - 1] != 32:
                k -= 1
            while k < b:
                h = _fnv(h, cp[k])
                k += 1
        elif mode == 2:  # tokens sorted: sort the token hashes, then hash them in order
            nt = 1
            for k in range(a, b):
                if cp[k] == 32:
                    nt += 1
            th = np.empty(nt, dtype=np.uint64)
            t = 0
            th[0] = basis
            for k in range(a, b):
                if cp[k] == 32:
                    t += 1
                    th[t] = basis
                else:
                    th[t] = _fnv(th[t], cp[k])
            th.sort()
            for t in range(nt):
                h = (h ^ th[t]) * np.uint64(1099511628211)
                h ^= h >> np.uint64(29)
        elif mode == 3:  # without spaces
            for k in range(a, b):
                if cp[k] != 32:
                    h = _fnv(h, cp[k])
        else:  # prefix of `prefix` code points, spaces skipped
            taken = 0
            for k in range(a, b):
                if taken == prefix:
                    break
                if cp[k] != 32:
                    h = _fnv(h, cp[k])
                    taken += 1
        if h == 0:
            h = np.uint64(1)
        out[i] = h
    return out


def token_keys(cps: Codepoints, transform: str) -> np.ndarray:
    """``uint64`` key per string for a strings transform (see :data:`KEY_TRANSFORMS`); 0 = none."""
    if not isinstance(cps, Codepoints) or cps.cp.dtype != np.uint32 or cps.off.dtype != np.int64:
        raise ValueError("token_keys needs a Codepoints layout (uint32 code points, int64 offsets)")
    if transform in _TOKEN_MODES:
        mode, prefix = _TOKEN_MODES[transform], 0
    elif transform.startswith("prefix") and transform[6:].isdigit() and int(transform[6:]) > 0:
        mode, prefix = _PREFIX, int(transform[6:])
    else:
        raise ValueError(f"unknown strings key transform {transform!r}")
    return _token_keys(np.ascontiguousarray(cps.cp), np.ascontiguousarray(cps.off), mode, prefix)


def _salted(x: np.ndarray, salt: int) -> np.ndarray:
    """Non-zero integers to well-spread non-zero uint64 keys (0 stays 0)."""
    x = np.asarray(x).astype(np.uint64)
    parts = np.stack([np.where(x != 0, np.uint64(salt), np.uint64(0)), x], axis=1)
    return combine_keys(parts)


def value_ids(feature, kind: str) -> np.ndarray:
    """One ``uint64`` per record identifying the whole normalised value; 0 = null."""
    if kind == "strings":
        return hash_strings(feature)
    if kind == "date":
        known = feature.year != 0
        packed = np.where(known, feature.year.astype(np.int64) * 10000 + feature.month.astype(np.int64) * 100
                          + feature.day.astype(np.int64), 0)
        return _salted(packed, _SALT[""])
    if kind == "sex":
        return _salted(np.where((feature == 1) | (feature == 2), feature, 0), _SALT[""])
    if kind == "address":  # the whole address as the registers agree on it: city, town and block
        return key_part(feature, kind, "block")
    raise ValueError(f"unknown feature kind {kind!r}")


def key_part(feature, kind: str, transform: str) -> np.ndarray:
    """One ``uint64`` blocking key part per record (0 = the record has none)."""
    if transform == "":
        return value_ids(feature, kind)
    if kind == "strings":
        return token_keys(feature, transform)
    if kind == "date":
        if transform == "year":
            return _salted(feature.year, _SALT["year"])
        if transform == "month_day":
            known = (feature.month != 0) & (feature.day != 0) & (feature.year != 0)
            return _salted(np.where(known, feature.month.astype(np.int64) * 100 + feature.day, 0), _SALT["month_day"])
    if kind == "address":
        pref, city, town, block, _ = feature
        width = {"city": 1, "town": 2, "block": 3}.get(transform)
        if width is not None:
            parts = np.stack([city, town, block][:width], axis=1)
            return combine_keys(parts)
    raise ValueError(f"key transform {transform!r} does not apply to {kind} values")


def empty_column(n: int) -> pa.Array:
    """An all-null text column (a configured column absent from one input)."""
    return pa.nulls(n, pa.string())
