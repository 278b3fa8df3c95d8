"""Name normalisers: alphabet names (passport style) and kanji names (正字 with variants folded).

Null semantics (both functions): a null, an empty string and a value with nothing left after
normalising (only spaces or punctuation) are all the same unknown value, returned as null.
"""
from __future__ import annotations

from typing import Any

import functools
import hashlib
import os
from pathlib import Path

import numpy as np
import pyarrow as pa

from jukimatch.engine.normalize.fold import EXPAND, folded_codepoints, from_codepoints, identity_table
from jukimatch.engine.text import Codepoints

# Latin letters that NFKD does not take apart, folded the way passports (ICAO 9303) write them.
_ALPHA_SINGLE = {"Ø": "O", "ø": "O", "Đ": "D", "đ": "D", "Ð": "D", "ð": "D", "Ł": "L", "ł": "L",
                 "Ħ": "H", "ħ": "H", "ı": "I", "Ŧ": "T", "ŧ": "T", "Ŋ": "N", "ŋ": "N", "ĸ": "K",
                 "Ɖ": "D", "ɖ": "D", "Ƒ": "F", "ƒ": "F"}
_ALPHA_PAIRS = {"Æ": "AE", "æ": "AE", "Œ": "OE", "œ": "OE", "ß": "SS", "ẞ": "SS", "Þ": "TH", "þ": "TH"}
# Combining marks that NFKD splits off accented letters: deleted, so É -> E.
_COMBINING = ((0x0300, 0x0370), (0x1AB0, 0x1B00), (0x1DC0, 0x1E00), (0x20D0, 0x2100), (0xFE20, 0xFE30))

# Code-point ranges of CJK ideographs the kanji fold table covers (URO, Ext A-H, compatibility).
_CJK_RANGES = ((0x3400, 0x4DC0), (0x4E00, 0xA000), (0xF900, 0xFB00), (0x20000, 0x2A6E0),
               (0x2A700, 0x2EE60), (0x2F800, 0x2FA20), (0x30000, 0x323B0))
_KANJI_TABLE_SIZE = 0x323B0
# jntajis MJ shrink schemes used: JIS incorporation / UCS unification (1), MOJ notice 582 (4),
# MOJ family-register notices (8). Scheme 2, inference by reading and glyph, is left out: it
# proposes look-alikes that are different characters (e.g. 㕋 -> 金), a precision risk.
_MJ_SCHEMES = 1 | 4 | 8
_SPACES = (0x09, 0x0A, 0x0D, 0xA0, 0x3000)


@functools.cache
def _alpha_table() -> tuple[np.ndarray, np.ndarray]:
    table = np.full(0x110000, 32, dtype=np.uint32)  # everything not a letter separates tokens
    for c in range(ord("A"), ord("Z") + 1):
        table[c] = c
        table[c + 32] = c
    for lo, hi in _COMBINING:
        table[lo:hi] = 0
    for src, dst in _ALPHA_SINGLE.items():
        table[ord(src)] = ord(dst)
    pairs = np.zeros((len(_ALPHA_PAIRS), 2), dtype=np.uint32)
    for k, (src, dst) in enumerate(_ALPHA_PAIRS.items()):
        pairs[k] = [ord(dst[0]), ord(dst[1])]
        table[ord(src)] = EXPAND | k
    table.setflags(write=False)
    pairs.setflags(write=False)
    return table, pairs


def normalize_alpha(values: Any) -> pa.LargeStringArray:
    """Alphabet names to ``A-Z`` tokens separated by single spaces, in the order written.

    NFKD (full width to ASCII, accents split off), accents dropped (É -> E, Ñ -> N), a few
    letters without a decomposition folded (Ø -> O, Đ -> D, Ł -> L, Æ -> AE, ß -> SS, Þ -> TH),
    lower case to upper; every other character (comma, dot, hyphen, apostrophe, digit,
    non-Latin letter) separates tokens. ``"NGUYEN, VAN AN"``, ``"Nguyen Van An"`` and
    ``"ＮＧＵＹＥＮ　ＶＡＮ　ＡＮ"`` all give ``"NGUYEN VAN AN"``. Null/empty -> null.
    """
    return from_codepoints(alpha_codepoints(values))


def alpha_codepoints(values) -> Codepoints:
    """:func:`normalize_alpha` in the kernels' layout (no round trip through Arrow strings)."""
    return folded_codepoints(values, "NFKD", *_alpha_table())[0]


def _mj_step() -> tuple[dict[int, int], dict[int, list[int]]]:
    """One MJ shrink step per ideograph: a sure target, or several (ambiguous) targets."""
    import jntajis

    sure: dict[int, int] = {}
    ambiguous: dict[int, list[int]] = {}
    for lo, hi in _CJK_RANGES:
        for c in range(lo, hi):
            ch = chr(c)
            targets = []
            for cand in jntajis.mj_shrink_candidates(ch, _MJ_SCHEMES):
                if len(cand) == 1 and cand != ch and ord(cand) not in targets:
                    targets.append(ord(cand))
            if len(targets) == 1:
                sure[c] = targets[0]
            elif targets:
                ambiguous[c] = targets
    return sure, ambiguous


def _simplified_to_traditional() -> dict[int, int]:
    """Simplified Chinese ideographs (outside JIS X 0208, so never a Japanese 正字) to the
    traditional form OpenCC gives them one character at a time."""
    import jntajis

    try:
        import opencc
    except ImportError as exc:  # a core dependency: say so rather than fold half the names
        raise ImportError("normalize_kanji needs the 'opencc' package (pip install opencc)") from exc
    chars = [chr(c) for lo, hi in _CJK_RANGES[:2] for c in range(lo, hi)]
    converted = opencc.OpenCC("s2t").convert("\n".join(chars)).split("\n")
    if len(converted) != len(chars):
        raise RuntimeError("OpenCC changed the number of characters while converting one by one")
    out: dict[int, int] = {}
    for src, dst in zip(chars, converted):
        if len(dst) != 1 or dst == src:
            continue
        try:
            jntajis.jnta_encode("jis", src, jntajis.ConversionMode.JISX0208)
        except Exception:  # not encodable: not a Japanese character, a Chinese simplified form
            out[ord(src)] = ord(dst)
    return out


def _closure(table: np.ndarray) -> np.ndarray:
    """Follow chains (a -> b -> c) until every entry is a fixed point of the table."""
    for _ in range(16):
        nxt = table[table]
        if np.array_equal(nxt, table):
            return table
        table = nxt
    raise RuntimeError("kanji fold table does not settle: a cycle in the variant data")


@functools.cache
def _kanji_table() -> np.ndarray:
    """The kanji fold table, read from its on-disk cache when one was built by the same
    jntajis, OpenCC and this module (building it walks 200k ideographs in Python, ~0.3 s)."""
    try:
        path = _kanji_cache_path()
    except Exception:  # noqa: BLE001 - no version to name the cache by: build it each time
        return _build_kanji_table()
    try:
        table = np.load(path, allow_pickle=False)
        if table.shape == (_KANJI_TABLE_SIZE,) and table.dtype == np.uint32:
            table.setflags(write=False)
            return table
    except (OSError, ValueError):
        pass
    table = _build_kanji_table()
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:  # cached beside Numba's kernels; a read-only install just builds it each time
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as fh:
            np.save(fh, table, allow_pickle=False)
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
    return table


def _kanji_cache_path() -> Path:
    """Named by what the table depends on: the two libraries' versions and this file."""
    from importlib.metadata import version

    here = Path(__file__)
    tag = hashlib.sha256("|".join((version("jntajis-python"), version("opencc"), here.read_text("utf-8"))).encode())
    return here.parent / "__pycache__" / f"kanji_table-{tag.hexdigest()[:16]}.npy"


def _build_kanji_table() -> np.ndarray:
    """The one canonical form of every ideograph: MJ shrink, then simplified -> traditional,
    then MJ shrink of that, closed under repetition so that folding twice changes nothing."""
    sure, ambiguous = _mj_step()
    table = identity_table(_KANJI_TABLE_SIZE)
    for src, dst in sure.items():
        if dst < _KANJI_TABLE_SIZE:
            table[src] = dst
    table = _closure(table)
    # An ambiguous character folds only when all its candidates end on the same character.
    for src, targets in ambiguous.items():
        ends = {int(table[t]) if t < _KANJI_TABLE_SIZE else t for t in targets}
        if len(ends) == 1:
            table[src] = ends.pop()
    table = _closure(table)
    for src, dst in _simplified_to_traditional().items():
        if table[src] == src and dst < _KANJI_TABLE_SIZE:
            table[src] = table[dst]
    table = _closure(table)
    for c in _SPACES:
        table[c] = 32
    table.setflags(write=False)
    return table


def normalize_kanji(values: Any) -> tuple[pa.LargeStringArray, np.ndarray]:
    """Kanji names to one canonical spelling, and a flag for Juki-net characters.

    NFKC; every run of whitespace (ASCII, full-width U+3000, tab, no-break) becomes one ASCII
    space between tokens, none at the ends; each ideograph is folded to one canonical code
    point: IPA MJ shrink (jntajis; 髙 -> 高, 﨑 -> 崎, 邊/邉 -> 辺, 濵 -> 浜, 齋 -> 斎, 𠮷 -> 吉,
    also 旧字体 -> 新字体 such as 澤 -> 沢), and Chinese simplified forms that are not Japanese
    characters to the traditional form and then through the same shrink (张 -> 張, 刘 -> 劉,
    吴 -> 吳 -> 呉). A simplified form that is also a Japanese character (叶, 万, 于, 付) is left
    alone: folding it would merge two Japanese names.

    Returns ``(names, gaiji)``: ``gaiji[i]`` is True when value i holds a private-use code point
    (U+E000-U+F8FF, planes 15-16), Juki-net's stand-in for a character outside Unicode. Such
    code points stay in the string; they must not be compared as letters. Null/empty -> null,
    gaiji False.
    """
    cps, gaiji = kanji_codepoints(values)
    return from_codepoints(cps), gaiji


def kanji_codepoints(values) -> tuple[Codepoints, np.ndarray]:
    """:func:`normalize_kanji` in the kernels' layout, with the gaiji flags."""
    return folded_codepoints(values, "NFKC", _kanji_table())


__all__ = ["normalize_alpha", "normalize_kanji"]
