"""Kana names to the fuzzy search key of the national standard spec for resident records.

The spec asks name search to ignore voiced/semi-voiced marks, small vs large kana, the long
vowel mark and dash variants, and the kind of space; hiragana, katakana and half-width kana
are the same letters. Null semantics: null, empty, and a value with nothing left after
folding (only marks, dashes or spaces) are all null.
"""
from __future__ import annotations

import functools
from typing import Any
import unicodedata

import numba as nb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from jukimatch.engine.normalize.fold import check_layout, from_codepoints, identity_table, normalized_codepoints, squeeze_spaces
from jukimatch.engine.text import Codepoints

_TABLE_SIZE = 0x10000
_VU = (0x30F4, 0x3094)  # ヴ and hiragana ゔ
_ITERATION = (0x309D, 0x309E, 0x30FD, 0x30FE)  # ゝ ゞ ヽ ヾ: repeat the previous kana
# ヴ + vowel (after folding, so small and large vowels alike) -> the unvoiced ハ-row kana
_VU_VOWEL = {0x30A2: 0x30CF, 0x30A4: 0x30D2, 0x30A6: 0x30D5, 0x30A8: 0x30D8, 0x30AA: 0x30DB}
_VU_YA = (0x30E4, 0x30E6, 0x30E8)  # ヴャ ヴュ ヴョ -> ヒヤ ヒユ ヒヨ (as ビャ ビュ ビョ)
_SMALL = "ァアィイゥウェエォオッツャヤュユョヨヮワヵカヶケ"
_SMALL_EXT = "ㇰクㇱシㇲスㇳトㇴヌㇵハㇶヒㇷフㇸヘㇹホㇺムㇻラㇼリㇽルㇾレㇿロ"
_SPECIAL = {"ヲ": "オ", "ヰ": "イ", "ヱ": "エ", "ヂ": "シ", "ヅ": "ス", "ヴ": "フ",
            "ヷ": "ハ", "ヸ": "ヒ", "ヹ": "ヘ", "ヺ": "ホ"}
_DELETE = "ー―‐‑‒–—−-ｰ－〜～~\u3099\u309a゛゜ﾞﾟ"
_SEPARATE = " \t\u3000・･·=＝゠,，、.．。"


@functools.cache
def _kana_table() -> np.ndarray:
    table = identity_table(_TABLE_SIZE)
    for c in range(0x30A1, 0x30FB):  # voiced and semi-voiced katakana to their base
        decomposition = unicodedata.decomposition(chr(c)).split()
        if len(decomposition) == 2 and decomposition[1] in ("3099", "309A"):
            table[c] = int(decomposition[0], 16)
    for small, large in zip(_SMALL[::2], _SMALL[1::2]):
        table[ord(small)] = ord(large)
    for small, large in zip(_SMALL_EXT[::2], _SMALL_EXT[1::2]):
        table[ord(small)] = ord(large)
    for src, dst in _SPECIAL.items():
        table[ord(src)] = ord(dst)
    for c in range(0x3041, 0x3097):  # hiragana: as the katakana 0x60 above
        table[c] = table[c + 0x60]
    for c in range(ord("a"), ord("z") + 1):
        table[c] = c - 32
    for ch in _DELETE:
        table[ord(ch)] = 0
    for ch in _SEPARATE:
        table[ord(ch)] = 32
    table.setflags(write=False)
    return table


@nb.njit(cache=True, nogil=True)
def _kana_key(cp, off, table):
    n = len(off) - 1
    size = len(table)
    out = np.empty(len(cp), dtype=np.uint32)
    new_off = np.empty(n + 1, dtype=np.int64)
    new_off[0] = 0
    k = 0
    for i in range(n):
        start = k
        j = off[i]
        end = off[i + 1]
        while j < end:
            c = cp[j]
            j += 1
            if c == 0x30F4 or c == 0x3094:  # ヴ: meet the バ row
                nxt = cp[j] if j < end else 0
                v = table[nxt] if nxt < size else nxt
                if v == 0x30A2:
                    out[k] = 0x30CF
                    j += 1
                elif v == 0x30A4:
                    out[k] = 0x30D2
                    j += 1
                elif v == 0x30A6:
                    out[k] = 0x30D5
                    j += 1
                elif v == 0x30A8:
                    out[k] = 0x30D8
                    j += 1
                elif v == 0x30AA:
                    out[k] = 0x30DB
                    j += 1
                elif v == 0x30E4 or v == 0x30E6 or v == 0x30E8:
                    out[k] = 0x30D2
                else:
                    out[k] = 0x30D5
                k += 1
                continue
            if c == 0x309D or c == 0x309E or c == 0x30FD or c == 0x30FE:
                if k > start and out[k - 1] != 32:
                    out[k] = out[k - 1]
                    k += 1
                continue
            v = table[c] if c < size else c
            if v != 0:
                out[k] = v
                k += 1
        new_off[i + 1] = k
    return out[:k], new_off


def kana_key(cps: Codepoints) -> Codepoints:
    """The per-character kana fold with the ヴ and iteration-mark rules (spaces not squeezed)."""
    check_layout(cps)
    cp, off = _kana_key(np.ascontiguousarray(cps.cp), np.ascontiguousarray(cps.off), _kana_table())
    return Codepoints(cp, off)


def normalize_kana(values: Any) -> pa.LargeStringArray:
    """Kana names to the standard spec's fuzzy key: katakana, unvoiced, large, no dashes.

    Steps, in order:
    1. the spacing marks ゛ ゜ become the combining ones, so NFKC composes them with the kana
       before (ウ゛ -> ヴ, ｸﾞ -> グ); NFKC also makes half-width kana and full-width letters
       ordinary;
    2. hiragana -> katakana;
    3. ヴ followed by a vowel (small or large: ァ/ア, ィ/イ, ゥ/ウ, ェ/エ, ォ/オ) -> ハ ヒ フ ヘ ホ,
       consuming the vowel; ヴ before ャ/ュ/ョ -> ヒ; any other ヴ -> フ; ヷ ヸ ヹ ヺ -> ハ ヒ ヘ ホ.
       That is: ヴァ is read as バ, then the mark is dropped (step 4), so ヴァン and バン both
       give ハン, ヴィ/ビ -> ヒ, ヴ/ブ -> フ, ヴェ/ベ -> ヘ, ヴォ/ボ -> ホ. A per-character fold
       alone (ヴ -> ウ) would give ウアン for ヴァン and never meet バン;
    4. voiced and semi-voiced kana -> unvoiced (ガ -> カ, パ -> ハ), except ヂ -> シ and
       ヅ -> ス: they sound as ジ and ズ, and the spec names ヂ/ジ and ヅ/ズ as the same, so
       they fold to the unvoiced base of ジ and ズ (ヂ therefore does not meet チ);
    5. small -> large (ァ -> ア, ッ -> ツ, ャ -> ヤ, ヮ -> ワ, ヵ -> カ, ヶ -> ケ, ㇰ -> ク ...);
       ヲ -> オ, ヰ -> イ, ヱ -> エ;
    6. the long vowel mark, dashes and waves (ー ｰ ― ‐ ‑ ‒ – — − - － 〜 ～) and stray sound
       marks are removed; ゝ ヽ ゞ ヾ repeat the kana before them (after folding);
    7. spaces (ASCII, U+3000, tab), middle dots (・ ･ ·), equals signs (= ＝ ゠), commas
       and full stops separate tokens: one ASCII space between tokens, none at the ends;
       Latin letters are upper-cased; anything else (kanji, digits) is kept as it is.
    """
    return from_codepoints(kana_codepoints(values))


def kana_codepoints(values) -> Codepoints:
    """:func:`normalize_kana` in the kernels' layout."""
    cps = normalized_codepoints(values, "NFKC", before=_combining_marks)
    return squeeze_spaces(kana_key(cps))


def _combining_marks(strings: pa.LargeStringArray) -> pa.LargeStringArray:
    """The spacing sound marks ゛ ゜ as the combining ones, which NFKC composes."""
    return pc.replace_substring(pc.replace_substring(strings, "゛", "\u3099"), "゜", "\u309a")


__all__ = ["normalize_kana"]
