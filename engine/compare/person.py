"""Comparison levels for pairs of records: the ``int8`` evidence a Fellegi-Sunter model reads.

Pairs are two ``int64`` index arrays ``li, ri``: pair k compares left row ``li[k]`` with
right row ``ri[k]``, so the same kernels serve reconciliation (each resident against the
Juki-net rows answering it) and linking (blocked candidate pairs). Inputs are already
normalised (see ``engine.normalize``); every function here only relies on these formats:

- names: :class:`~jukimatch.engine.text.Codepoints`; tokens separated by ASCII spaces
  (alphabet ``A-Z`` tokens in passport order, kanji with variants folded, kana folded keys);
- dates: ``year int16, month int8, day int8`` with 0 = unknown part, year 0 = null date;
- sex: ``int8`` codes 1, 2 (known) and 0, 9 (unknown);
- addresses: five ``uint64`` hash arrays (pref, city, town, block, building), 0 = absent.

**-1 means null on either side** — the level a Fellegi-Sunter model treats as "no
evidence". Higher is stronger agreement; each comparison returns the *highest* level
whose condition holds. "JW" is Jaro-Winkler (``engine.compare._similarity``), "token set" the
token-set ratio (rapidfuzz's ``token_set_ratio / 100``, see ``engine.compare._similarity``).

``compare_names(kind="alpha")`` — passport names (order swaps, dropped middle names,
truncation, typos):

=====  ===========================================================================
level  condition
=====  ===========================================================================
5      exact
4      same tokens in another order (as multisets), or same once spaces are removed
       (``DELA CRUZ`` / ``DELACRUZ``)
3      the shorter side has >= 2 tokens and either all of them occur in the other
       side (dropped middle name), or each can be given its *own* token of the other
       side with JW >= 0.95, order ignored (typos, truncation of a long token)
2      JW of the whole strings >= 0.92, or token set >= 0.88 — except when the only
       agreement is one shared token that makes one side a subset of the other
       (``MARIA`` / ``MARIA SANTOS``: rapidfuzz scores that 1.0; here it falls to 1/0)
1      JW >= 0.80
0      otherwise
=====  ===========================================================================

``compare_names(kind="kanji")`` and ``compare_names(kind="kana")``:

=====  ===========================================================================
level  condition
=====  ===========================================================================
4      exact
3      same once spaces are removed, or same tokens in another order
2      kanji: same length once spaces are removed and exactly one code point differs
       (an unfolded variant, a private-use gaiji for a standard character, a typo);
       kana: JW >= 0.90
1      JW >= 0.80, or one token (surname or given name) identical
0      otherwise
=====  ===========================================================================

Refinements of the first brief, each pinned by a case in ``tests/test_compare.py``:
both level-3 routes of alphabet names need two tokens on the shorter side (otherwise a
bare ``NGUYEN`` would reach level 3 against every ``NGUYEN ...``), the JW >= 0.95 route
pairs tokens one-to-one (``AN AN`` is not covered by a single ``AN``), and the token-set
route to level 2 ignores rapidfuzz's "one side is a subset" shortcut when that subset
is a single token, for the same reason.

``compare_dates`` — each part (year, month, day) *agrees* (both known, equal), is
*unknown* (0 on a side) or *differs* (both known, unequal):

=====  ===========================================================================
level  condition
=====  ===========================================================================
5      all three parts known on both sides and equal
4      no part differs and some part is unknown on a side (1980-00-00 / 1980-07-15)
3      day and month swapped: all parts known, same year, month <-> day, the two
       values different and both <= 12
2      exactly one part differs, by one (1989 / 1990, 07 / 08) or in one decimal digit
       of its zero-padded form (1985 / 1958 is two digits: no; 07 / 01 yes); the
       other parts agree or are unknown
0      otherwise (level 1 is not used)
=====  ===========================================================================

``compare_sex``: -1 either side unknown (0 or 9); 1 equal; 0 differ.

``compare_address`` — "equal" means present on both sides and equal. A prefecture
present on both sides and different makes the level 0 (府中市 is in Tokyo and in
Hiroshima: the same city name in another prefecture is another city). The building and
room part never changes the level: a different building or room in the same block is
still level 4, and a missing one costs nothing (people move rooms; the block is what
the registers agree on).

=====  ===========================================================================
level  condition
=====  ===========================================================================
4      city, town and block equal
3      city and town equal, block differs or is absent on a side
2      city equal only
1      prefecture equal, city differs or is absent on a side
0      otherwise
-1     all five parts absent on a side
=====  ===========================================================================
"""
from __future__ import annotations

from functools import partial

import numba as nb
import numpy as np

from jukimatch.engine.compare._similarity import (
    GATHER,
    SPACE,
    equal_ignoring_spaces,
    gather,
    jaro_winkler_range,
    jaro_winkler_pairs,
    multiset_common,
    one_substitution_ignoring_spaces,
    range_equal,
    token_scratch,
    token_set_ratio_kernel,
    tokenize,
    tokens_have_jw_partners,
)
from jukimatch.engine.compare.arguments import check_array, check_codepoints, check_pairs, check_range, max_len
from jukimatch.engine.runtime import JIT, borrowed, over_spans, threads_for
from jukimatch.engine.text import Codepoints

__all__ = [
    "ALPHA_JW_HIGH",
    "ALPHA_JW_LOW",
    "ALPHA_TOKEN_JW",
    "ALPHA_TOKEN_SET",
    "JAPANESE_JW_HIGH",
    "JAPANESE_JW_LOW",
    "KERNELS",
    "NAME_KINDS",
    "compare_address",
    "compare_dates",
    "compare_names",
    "compare_sex",
    "jaro_winkler",
]

#: alphabet names: per-token JW of the level-3 route
ALPHA_TOKEN_JW = 0.95
#: alphabet names: whole-string JW for level 2, and for level 1
ALPHA_JW_HIGH = 0.92
ALPHA_JW_LOW = 0.80
#: alphabet names: token-set ratio for level 2
ALPHA_TOKEN_SET = 0.88
#: kana names: JW for level 2 (kana); JW for level 1 (kanji and kana)
JAPANESE_JW_HIGH = 0.90
JAPANESE_JW_LOW = 0.80

NAME_KINDS = {"alpha": 0, "kanji": 1, "kana": 2}
_ALPHA, _KANJI, _KANA = 0, 1, 2
ADDRESS_PARTS = ("pref", "city", "town", "block", "building")



# --- names ---------------------------------------------------------------------------

@nb.njit(**JIT)
def _name_scratch(max_len):
    t = max_len // 2 + 2
    return (
        token_scratch(max_len),
        np.empty(max_len + 1, np.uint32), np.empty(max_len + 1, np.uint32),  # JW scratch
        np.empty(t, np.bool_),  # used tokens (multiset intersection)
        np.empty(t * t, np.bool_),  # token JW graph
        np.empty(t, np.int64), np.empty(t, np.bool_),  # matching: partner of each long token, visited
        np.empty(t + 1, np.int64), np.empty(t + 1, np.int64), np.empty(t + 1, np.int64),  # DFS stack
    )


@nb.njit(**JIT)
def _name_level(ca, a0, a1, cb, b0, b1, kind, sc):
    """Level of two names that are not the same code points (equal ones: :func:`_equal_level`)."""
    tok, flag_a, flag_b, used, adj, match_of, visited, stack_i, stack_next, via = sc
    sa, ea, sb, eb, fa, fb, ga, gb, ia, ib, ma, mb, bufa, bufb, row, stats, table = tok
    top = 5 if kind == _ALPHA else 4
    na = tokenize(ca, a0, a1, sa, ea, ma)
    nb_ = tokenize(cb, b0, b1, sb, eb, mb)
    if na == 0 or nb_ == 0:
        return -1
    if equal_ignoring_spaces(ca, a0, a1, cb, b0, b1):
        return top - 1
    common = multiset_common(ca, sa, ea, na, cb, sb, eb, nb_, used)
    if na == nb_ and common == na:
        return top - 1
    if kind == _ALPHA:
        short = na if na < nb_ else nb_
        if short >= 2:
            if common == short:
                return 3
            if na <= nb_:
                covered = tokens_have_jw_partners(ca, sa, ea, ma, na, cb, sb, eb, mb, nb_, ALPHA_TOKEN_JW, adj,
                                                   match_of, visited, stack_i, stack_next, via, table, flag_a,
                                                   flag_b)
            else:
                covered = tokens_have_jw_partners(cb, sb, eb, mb, nb_, ca, sa, ea, ma, na, ALPHA_TOKEN_JW, adj,
                                                   match_of, visited, stack_i, stack_next, via, table, flag_a,
                                                   flag_b)
            if covered:
                return 3
        jw = jaro_winkler_range(ca, a0, a1, cb, b0, b1, table, flag_a, flag_b)
        if jw >= ALPHA_JW_HIGH:
            return 2
        ts = token_set_ratio_kernel(ca, sa, ea, ma, na, cb, sb, eb, mb, nb_, ALPHA_TOKEN_SET,
                              fa, fb, ga, gb, ia, ib, bufa, bufb, row, stats, table)
        single_shared_subset = stats[0] == 1 and (stats[1] == 0 or stats[2] == 0)
        if ts >= ALPHA_TOKEN_SET and not single_shared_subset:
            return 2
        if jw >= ALPHA_JW_LOW:
            return 1
        return 0
    if kind == _KANJI:
        if one_substitution_ignoring_spaces(ca, a0, a1, cb, b0, b1):
            return 2
        if common >= 1:
            return 1
        jw = jaro_winkler_range(ca, a0, a1, cb, b0, b1, table, flag_a, flag_b)
        return 1 if jw >= JAPANESE_JW_LOW else 0
    jw = jaro_winkler_range(ca, a0, a1, cb, b0, b1, table, flag_a, flag_b)
    if jw >= JAPANESE_JW_HIGH:
        return 2
    if common >= 1 or jw >= JAPANESE_JW_LOW:
        return 1
    return 0


@nb.njit(**JIT)
def _compare_names_span(lcp, loff, rcp, roff, li, ri, kind, max_len, out, lo, hi):
    """Levels of pairs ``lo:hi`` into ``out`` (a span of :func:`~jukimatch.engine.runtime.over_spans`);
    returns the gather's checksum, which keeps its loads."""
    sc = _name_scratch(max_len)
    # the names and the scratch are handed to every comparison without reference counts;
    # ``sc`` itself passed along keeps the scratch alive while its views are used
    return _names_span(borrowed(lcp), loff, borrowed(rcp), roff, li, ri, kind, out, lo, hi, borrowed(sc), sc)


@nb.njit(**JIT)
def _names_span(lcp, loff, rcp, roff, li, ri, kind, out, lo, hi, sc, owner):
    """:func:`_compare_names_span` with the names and the scratch ``sc`` as borrowed views;
    ``owner``, the scratch itself, is held here while they are used."""
    bounds = np.empty((4, GATHER), dtype=np.int64)
    touched = np.uint32(0)
    for k0 in range(lo, hi, GATHER):
        k1 = min(hi, k0 + GATHER)
        touched ^= gather(lcp, loff, rcp, roff, li, ri, k0, k1, bounds)
        for k in range(k0, k1):
            x = k - k0
            a0, a1, b0, b1 = bounds[0, x], bounds[1, x], bounds[2, x], bounds[3, x]
            if range_equal(lcp, a0, a1, rcp, b0, b1):
                # most true pairs: decided here, without handing the scratch tuple to a
                # call (its ~25 arrays cost a reference count each way, ~170 ns a pair)
                out[k] = _equal_level(lcp, a0, a1, kind)
            else:
                out[k] = _name_level(lcp, a0, a1, rcp, b0, b1, kind, sc)
    return touched


@nb.njit(**JIT)
def _equal_level(cp, a0, a1, kind):
    """:func:`_name_level` of a name and itself: the top level, or -1 for a name without a
    token (nothing but spaces)."""
    for j in range(a0, a1):
        if cp[j] != SPACE:
            return 5 if kind == _ALPHA else 4
    return -1


# --- dates, sex, addresses -----------------------------------------------------------

@nb.njit(**JIT)
def _near(a, b, width):
    """Off by one, or exactly one differing digit among ``width`` zero-padded digits."""
    if a - b == 1 or b - a == 1:
        return True
    differ = 0
    for _ in range(width):
        if a % 10 != b % 10:
            differ += 1
        a //= 10
        b //= 10
    return differ == 1 and a == b


@nb.njit(**JIT)
def _date_level(ly, lm, ld, ry, rm, rd):
    if ly == 0 or ry == 0:
        return -1
    unknown_m = lm == 0 or rm == 0
    unknown_d = ld == 0 or rd == 0
    differ_y = ly != ry
    differ_m = not unknown_m and lm != rm
    differ_d = not unknown_d and ld != rd
    n_differ = int(differ_y) + int(differ_m) + int(differ_d)
    if n_differ == 0:
        return 4 if unknown_m or unknown_d else 5
    if (not unknown_m and not unknown_d and not differ_y and lm == rd and ld == rm and lm != ld
            and lm <= 12 and ld <= 12):
        return 3
    if n_differ == 1:
        if differ_y:
            near = _near(ly, ry, 4)
        elif differ_m:
            near = _near(lm, rm, 2)
        else:
            near = _near(ld, rd, 2)
        if near:
            return 2
    return 0


@nb.njit(**JIT)
def _compare_dates_span(ly, lm, ld, ry, rm, rd, li, ri, out, lo, hi):
    for k in range(lo, hi):
        a = li[k]
        b = ri[k]
        out[k] = _date_level(np.int64(ly[a]), np.int64(lm[a]), np.int64(ld[a]),
                             np.int64(ry[b]), np.int64(rm[b]), np.int64(rd[b]))


@nb.njit(**JIT)
def _compare_sex_span(lsex, rsex, li, ri, out, lo, hi):
    for k in range(lo, hi):
        a = lsex[li[k]]
        b = rsex[ri[k]]
        if (a != 1 and a != 2) or (b != 1 and b != 2):
            out[k] = -1
        elif a == b:
            out[k] = 1
        else:
            out[k] = 0


@nb.njit(**JIT)
def _address_level(lp, lc, lt, lb, lbd, rp, rc, rt, rb, rbd):
    zero = np.uint64(0)
    if (lp == zero and lc == zero and lt == zero and lb == zero and lbd == zero) or (
            rp == zero and rc == zero and rt == zero and rb == zero and rbd == zero):
        return -1
    if lp != zero and rp != zero and lp != rp:
        return 0
    if lc != zero and lc == rc:
        if lt != zero and lt == rt:
            if lb != zero and lb == rb:
                return 4
            return 3
        return 2
    if lp != zero and lp == rp:
        return 1
    return 0


@nb.njit(**JIT)
def _compare_address_span(lp, lc, lt, lb, lbd, rp, rc, rt, rb, rbd, li, ri, out, lo, hi):
    for k in range(lo, hi):
        a = li[k]
        b = ri[k]
        out[k] = _address_level(lp[a], lc[a], lt[a], lb[a], lbd[a], rp[b], rc[b], rt[b], rb[b], rbd[b])


# --- public wrappers: check, then call the kernel ------------------------------------

def jaro_winkler(left: Codepoints, right: Codepoints, li: np.ndarray, ri: np.ndarray) -> np.ndarray:
    """Jaro-Winkler similarity (``float32``) of ``left[li[k]]`` and ``right[ri[k]]``.

    Prefix scale 0.1, prefix up to 4, boost above Jaro 0.7 (as rapidfuzz's
    ``JaroWinkler.similarity``); 0.0 when either string is null.
    """
    lcp, loff = check_codepoints(left, "left")
    rcp, roff = check_codepoints(right, "right")
    li, ri = check_pairs(li, ri, len(loff) - 1, len(roff) - 1)
    with threads_for(len(li)):
        return jaro_winkler_pairs(lcp, loff, rcp, roff, li, ri, max_len(loff, roff))


def compare_names(left: Codepoints, right: Codepoints, li: np.ndarray, ri: np.ndarray, *,
                  kind: str) -> np.ndarray:
    """Name comparison levels (``int8``) for ``kind`` in ``"alpha"``, ``"kanji"``, ``"kana"``.

    See the level tables in the module docstring; -1 when either name is null.
    """
    if kind not in NAME_KINDS:
        raise ValueError(f"kind must be one of {sorted(NAME_KINDS)}, got {kind!r}")
    lcp, loff = check_codepoints(left, "left")
    rcp, roff = check_codepoints(right, "right")
    li, ri = check_pairs(li, ri, len(loff) - 1, len(roff) - 1)
    out = np.empty(len(li), dtype=np.int8)
    over_spans(_compare_names_span, len(li), lcp, loff, rcp, roff, li, ri, NAME_KINDS[kind], max_len(loff, roff), out)
    return out


def compare_dates(ly: np.ndarray, lm: np.ndarray, ld: np.ndarray, ry: np.ndarray, rm: np.ndarray,
                  rd: np.ndarray, li: np.ndarray, ri: np.ndarray) -> np.ndarray:
    """Birth-date comparison levels (``int8``); see the module docstring.

    Year ``int16`` in [0, 9999], month ``int8`` in [0, 12], day ``int8`` in [0, 31]; 0 is
    unknown and year 0 a null date. Non-calendar dates (2/30) are legitimate records.
    """
    sides = []
    for side, (y, m, d) in (("left", (ly, lm, ld)), ("right", (ry, rm, rd))):
        y = check_array(y, f"{side} year", np.int16)
        m = check_array(m, f"{side} month", np.int8)
        d = check_array(d, f"{side} day", np.int8)
        if not len(y) == len(m) == len(d):
            raise ValueError(f"{side} year, month and day must have the same length, "
                             f"got {len(y)}, {len(m)}, {len(d)}")
        check_range(y, f"{side} year", 0, 9999)
        check_range(m, f"{side} month", 0, 12)
        check_range(d, f"{side} day", 0, 31)
        sides.append((y, m, d))
    (ly, lm, ld), (ry, rm, rd) = sides
    li, ri = check_pairs(li, ri, len(ly), len(ry))
    out = np.empty(len(li), dtype=np.int8)
    over_spans(_compare_dates_span, len(li), ly, lm, ld, ry, rm, rd, li, ri, out)
    return out


def compare_sex(left: np.ndarray, right: np.ndarray, li: np.ndarray, ri: np.ndarray) -> np.ndarray:
    """Sex comparison levels (``int8``): -1 either unknown (0 or 9), 1 equal, 0 differ."""
    checked = []
    for side, x in (("left", left), ("right", right)):
        x = check_array(x, f"{side} sex", np.int8)
        if len(x) and not np.isin(x, (0, 1, 2, 9)).all():
            bad = int(np.flatnonzero(~np.isin(x, (0, 1, 2, 9)))[0])
            raise ValueError(f"{side} sex codes must be 0, 1, 2 or 9, row {bad} holds {x[bad]}")
        checked.append(x)
    li, ri = check_pairs(li, ri, len(checked[0]), len(checked[1]))
    out = np.empty(len(li), dtype=np.int8)
    over_spans(_compare_sex_span, len(li), checked[0], checked[1], li, ri, out)
    return out


def compare_address(lparts: tuple, rparts: tuple, li: np.ndarray, ri: np.ndarray) -> np.ndarray:
    """Address comparison levels (``int8``) from (pref, city, town, block, building) hashes.

    Each side is a tuple of five ``uint64`` arrays of one length (0 = part absent), as
    ``engine.text.hash_strings`` makes them. See the module docstring for the levels.
    """
    sides = []
    for side, parts in (("lparts", lparts), ("rparts", rparts)):
        if not isinstance(parts, (tuple, list)) or len(parts) != len(ADDRESS_PARTS):
            raise ValueError(f"{side} must be a tuple of 5 arrays {ADDRESS_PARTS}, got "
                             f"{type(parts).__name__} of length {len(parts) if hasattr(parts, '__len__') else '?'}")
        arrays = [check_array(p, f"{side} {name}", np.uint64) for p, name in zip(parts, ADDRESS_PARTS)]
        if len({len(a) for a in arrays}) != 1:
            raise ValueError(f"{side} parts must have one length, got {[len(a) for a in arrays]}")
        sides.append(arrays)
    li, ri = check_pairs(li, ri, len(sides[0][0]), len(sides[1][0]))
    out = np.empty(len(li), dtype=np.int8)
    over_spans(_compare_address_span, len(li), *sides[0], *sides[1], li, ri, out)
    return out


#: comparison kernels by the names a link configuration uses (STYLE.md item 7)
def _ro(x: np.ndarray) -> np.ndarray:
    """A read-only contiguous view: the signature the kernels were compiled (and cached) for."""
    view = np.ascontiguousarray(x).view()
    view.flags.writeable = False
    return view


_ROW0, _ROW1 = _ro(np.zeros(1, dtype=np.int64)), _ro(np.ones(1, dtype=np.int64))


def one_pair_levels(names: tuple[Codepoints, Codepoints, Codepoints], year: np.ndarray, month: np.ndarray,
                    day: np.ndarray, sex: np.ndarray, address: tuple) -> np.ndarray:
    """Levels (alpha, kanji, kana, date, sex, address) of the pair (row 0, row 1) of two-row
    fields that the engine's own normalisers built, for the single-pair check of the service.

    The kernels of the functions above, without their input checks: on one pair the checks
    cost three times the comparison, and what the normalisers built cannot fail them.
    """
    out = np.zeros(6, dtype=np.int8)
    for col, (c, kind) in enumerate(zip(names, ("alpha", "kanji", "kana"))):
        cp, off = _ro(c.cp), _ro(c.off)
        _compare_names_span(cp, off, cp, off, _ROW0, _ROW1, NAME_KINDS[kind], max_len(off), out[col:], 0, 1)
    y, m, d = _ro(year), _ro(month), _ro(day)
    _compare_dates_span(y, m, d, y, m, d, _ROW0, _ROW1, out[3:], 0, 1)
    x = _ro(sex)
    _compare_sex_span(x, x, _ROW0, _ROW1, out[4:], 0, 1)
    parts = [_ro(p) for p in address]
    _compare_address_span(*parts, *parts, _ROW0, _ROW1, out[5:], 0, 1)
    return out


KERNELS = {
    "jaro_winkler": jaro_winkler,
    "name_alpha": partial(compare_names, kind="alpha"),
    "name_kanji": partial(compare_names, kind="kanji"),
    "name_kana": partial(compare_names, kind="kana"),
    "date": compare_dates,
    "sex": compare_sex,
    "address": compare_address,
}
