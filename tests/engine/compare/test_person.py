"""Comparison levels on realistic cases, nulls, read-only inputs and argument checks."""
from __future__ import annotations

import numpy as np
import pytest

from tests.naive import compare as naive
from jukimatch.engine.compare import person as compare
from jukimatch.engine.compare.levels import LEVEL_LABELS
from jukimatch.engine.compare.person import (
    KERNELS,
    compare_address,
    compare_dates,
    compare_names,
    compare_sex,
    jaro_winkler,
)
from jukimatch.engine.runtime import PAIR_BLOCK
from jukimatch.engine.text import Codepoints, to_codepoints


def pairs_of(n: int) -> tuple[np.ndarray, np.ndarray]:
    idx = np.arange(n, dtype=np.int64)
    return idx, idx.copy()


def names_levels(cases, kind):
    left = to_codepoints([a for a, _, _ in cases])
    right = to_codepoints([b for _, b, _ in cases])
    return compare_names(left, right, *pairs_of(len(cases)), kind=kind)


ALPHA_CASES = [
    # (left, right, expected level)
    ("NGUYEN VAN AN", "NGUYEN VAN AN", 5),
    ("NGUYEN VAN AN", "VAN AN NGUYEN", 4),  # order swapped
    ("DELA CRUZ MARIA", "DELACRUZ MARIA", 4),  # spacing of a compound surname
    ("NGUYEN VAN AN", "NGUYEN AN", 3),  # dropped middle name
    ("GARCIA LOPEZ JOSE LUIS", "JOSE LUIS GARCIA", 3),  # dropped second surname, reordered
    ("SANTOS MARIA CHRISTINA", "SANTOS MARIA CRISTINA", 3),  # one-letter typo in a token
    ("WIJAYAKUSUMA BUDI", "BUDI WIJAYAKUSUM", 3),  # truncated long token, reordered
    ("SHRESTHA RAM BAHADUR", "SHRESTA RAM", 3),  # typo and a dropped middle name
    ("NGUYEN VAN AN", "NGUYEN VAN ANH", 2),  # AN/ANH: JW 0.91 per token, whole JW 0.99
    ("VAN AN NGUYEN", "NGUYEN VAN ANH", 2),  # reordered and a typo: token set 0.96
    ("CHRISTOPHERSON", "CHRISTOPHERSN", 2),  # one token each: no level 3
    ("MARIA", "MARIA SANTOS", 1),  # one shared token only (rapidfuzz token set: 1.0)
    ("NGUYEN", "NGUYEN VAN AN", 1),  # a bare surname: only the JW band (0.89)
    ("NGUYEN VAN AN", "NGUYEN THI HOA", 1),
    ("NGUYEN VAN AN", "TRAN THI BINH", 0),
    ("KIM MIN JUN", "PARK JI HOON", 0),
    ("AN AN", "AN BINH CUONG", 0),  # one AN cannot stand for two
    ("", "NGUYEN VAN AN", -1),
    ("NGUYEN VAN AN", "", -1),
]


@pytest.mark.parametrize("left,right,expected", ALPHA_CASES)
def test_alpha_realistic(left, right, expected):
    got = names_levels([(left, right, expected)], "alpha")
    assert got.tolist() == [expected]
    assert naive.alpha_level(left, right) == expected
    # comparison is symmetric
    assert names_levels([(right, left, expected)], "alpha").tolist() == [expected]


KANJI_CASES = [
    ("張 偉", "張 偉", 4),
    ("髙橋 花子", "髙橋花子", 3),
    ("花子 髙橋", "髙橋 花子", 3),
    ("髙橋 花子", "高橋 花子", 2),  # a variant the fold missed
    ("張 偉", "張 \ue001", 2),  # Juki-net gaiji in private use for one character
    ("李 明", "李 敏", 2),  # 2-character names: one differing character is level 2
    ("山田 太郎", "山田 次郎", 2),
    ("山田 太郎", "山田 一", 1),  # surname identical
    ("山田 太郎", "田中 太郎", 1),  # given name identical
    ("山田 太郎", "佐藤 花子", 0),
    ("", "山田 太郎", -1),
]


@pytest.mark.parametrize("left,right,expected", KANJI_CASES)
def test_kanji_realistic(left, right, expected):
    assert names_levels([(left, right, expected)], "kanji").tolist() == [expected]
    assert naive.kanji_level(left, right) == expected


KANA_CASES = [
    ("グエン ヴアン アン", "グエン ヴアン アン", 4),
    ("グエン ヴアン アン", "ヴアン アン グエン", 3),
    ("グエン ヴアンアン", "グエン ヴアン アン", 3),
    ("グエン ヴアン アン", "グエン ヴアン アイン", 2),
    ("タナカ タロウ", "タナカ ハナコ", 1),  # surname identical
    ("タナカ タロウ", "サトウ ハナコ", 0),
    ("タナカ タロウ", "", -1),
]


@pytest.mark.parametrize("left,right,expected", KANA_CASES)
def test_kana_realistic(left, right, expected):
    assert names_levels([(left, right, expected)], "kana").tolist() == [expected]
    assert naive.kana_level(left, right) == expected


def test_jaro_winkler_known_values():
    from rapidfuzz.distance import JaroWinkler

    words = [("MARTHA", "MARHTA"), ("DWAYNE", "DUANE"), ("DIXON", "DICKSONX"), ("", "A"), ("A", "A"),
             ("NGUYEN VAN AN", "VAN AN NGUYEN"), ("髙橋", "高橋")]
    left = to_codepoints([a for a, _ in words])
    right = to_codepoints([b for _, b in words])
    got = jaro_winkler(left, right, *pairs_of(len(words)))
    assert got.dtype == np.float32
    want = [0.0 if not a or not b else JaroWinkler.similarity(a, b) for a, b in words]
    np.testing.assert_allclose(got, want, atol=1e-6)
    assert got[0] == pytest.approx(0.9611, abs=1e-4)  # the textbook MARTHA/MARHTA
    assert got[3] == 0.0  # null


DATE_CASES = [
    # ((y, m, d), (y, m, d), level)
    ((1980, 7, 15), (1980, 7, 15), 5),
    ((1980, 0, 0), (1980, 7, 15), 4),
    ((1980, 7, 0), (1980, 7, 15), 4),
    ((1980, 7, 15), (1980, 0, 15), 4),
    ((1980, 7, 5), (1980, 5, 7), 3),  # day and month swapped
    ((1980, 7, 15), (1981, 7, 15), 2),  # year off by one
    ((1989, 7, 15), (1990, 7, 15), 2),  # off by one across a decade
    ((1980, 7, 15), (1986, 7, 15), 2),  # one digit
    ((1985, 7, 15), (1958, 7, 15), 0),  # two digits
    ((1980, 7, 15), (1980, 1, 15), 2),  # 07 / 01
    ((1980, 7, 15), (1980, 7, 16), 2),
    ((1980, 7, 15), (1980, 7, 25), 2),
    ((1980, 7, 15), (1980, 7, 28), 0),
    ((1980, 7, 15), (1981, 7, 16), 0),  # two parts differ
    ((1980, 0, 15), (1981, 7, 15), 2),  # near year, the month unknown on a side
    ((1980, 2, 30), (1980, 2, 30), 5),  # non-calendar records compare like any other
    ((0, 0, 0), (1980, 7, 15), -1),
    ((1980, 7, 15), (0, 7, 15), -1),
]


def _date_arrays(dates):
    y = np.array([d[0] for d in dates], dtype=np.int16)
    m = np.array([d[1] for d in dates], dtype=np.int8)
    d_ = np.array([d[2] for d in dates], dtype=np.int8)
    return y, m, d_


def test_dates_realistic():
    cases = DATE_CASES
    ly, lm, ld = _date_arrays([a for a, _, _ in cases])
    ry, rm, rd = _date_arrays([b for _, b, _ in cases])
    got = compare_dates(ly, lm, ld, ry, rm, rd, *pairs_of(len(cases)))
    assert got.dtype == np.int8
    assert got.tolist() == [lvl for _, _, lvl in cases]
    assert [naive.date_level(a, b) for a, b, _ in cases] == [lvl for _, _, lvl in cases]
    # symmetric
    assert compare_dates(ry, rm, rd, ly, lm, ld, *pairs_of(len(cases))).tolist() == got.tolist()


def test_sex_levels():
    left = np.array([1, 1, 2, 0, 9, 1], dtype=np.int8)
    right = np.array([1, 2, 2, 1, 2, 9], dtype=np.int8)
    got = compare_sex(left, right, *pairs_of(6))
    assert got.tolist() == [1, 0, 1, -1, -1, -1]


ADDRESS_CASES = [
    # parts (pref, city, town, block, building); small ints stand for hashes
    ((13, 100, 200, 300, 0), (13, 100, 200, 300, 0), 4),
    ((13, 100, 200, 300, 401), (13, 100, 200, 300, 402), 4),  # another room: still 4
    ((0, 100, 200, 300, 0), (13, 100, 200, 300, 401), 4),  # prefecture omitted on a side
    ((13, 100, 200, 300, 0), (13, 100, 200, 301, 0), 3),  # moved within the town
    ((13, 100, 200, 0, 0), (13, 100, 200, 300, 0), 3),  # no block on a side
    ((13, 100, 200, 300, 0), (13, 100, 201, 300, 0), 2),
    ((13, 100, 0, 0, 0), (13, 100, 201, 300, 0), 2),
    ((13, 100, 200, 300, 0), (13, 101, 200, 300, 0), 1),
    ((13, 0, 0, 0, 0), (13, 101, 200, 300, 0), 1),  # city absent, prefecture equal
    ((13, 100, 200, 300, 0), (34, 100, 200, 300, 0), 0),  # same city name, other prefecture
    ((13, 100, 200, 300, 0), (27, 500, 600, 700, 0), 0),
    ((0, 0, 0, 0, 0), (13, 100, 200, 300, 0), -1),
    ((13, 100, 200, 300, 0), (0, 0, 0, 0, 0), -1),
]


def _address_arrays(rows):
    return tuple(np.array([r[p] for r in rows], dtype=np.uint64) for p in range(5))


def test_address_realistic():
    left = _address_arrays([a for a, _, _ in ADDRESS_CASES])
    right = _address_arrays([b for _, b, _ in ADDRESS_CASES])
    got = compare_address(left, right, *pairs_of(len(ADDRESS_CASES)))
    assert got.tolist() == [lvl for _, _, lvl in ADDRESS_CASES]
    assert [naive.address_level(a, b) for a, b, _ in ADDRESS_CASES] == [lvl for _, _, lvl in ADDRESS_CASES]


def test_addresses_from_hashed_strings():
    from jukimatch.engine.text import hash_strings

    def parts(rows):
        return tuple(hash_strings(to_codepoints([r[p] for r in rows])) for p in range(5))

    left = parts([("東京都", "新宿区", "西新宿", "2-8-1", "")])
    right = parts([("", "新宿区", "西新宿", "2-8-1", "101")])
    assert compare_address(left, right, *pairs_of(1)).tolist() == [4]


def _readonly(a: np.ndarray) -> np.ndarray:
    out = np.frombuffer(a.tobytes(), dtype=a.dtype)
    assert not out.flags.writeable
    return out


def _readonly_cp(c: Codepoints) -> Codepoints:
    return Codepoints(_readonly(c.cp), _readonly(c.off))


def test_read_only_inputs_accepted_and_untouched():
    left = to_codepoints([a for a, _, _ in ALPHA_CASES])
    right = to_codepoints([b for _, b, _ in ALPHA_CASES])
    li, ri = pairs_of(len(ALPHA_CASES))
    want = compare_names(left, right, li, ri, kind="alpha")
    rl, rr, rli, rri = _readonly_cp(left), _readonly_cp(right), _readonly(li), _readonly(ri)
    for kind in ("alpha", "kanji", "kana"):
        got = compare_names(rl, rr, rli, rri, kind=kind)
        assert got.tolist() == compare_names(left, right, li, ri, kind=kind).tolist()
    assert compare_names(rl, rr, rli, rri, kind="alpha").tolist() == want.tolist()
    np.testing.assert_array_equal(jaro_winkler(rl, rr, rli, rri), jaro_winkler(left, right, li, ri))

    dl = [_readonly(x) for x in _date_arrays([(1980, 7, 15), (1980, 0, 0)])]
    dr = [_readonly(x) for x in _date_arrays([(1980, 7, 15), (1980, 7, 1)])]
    pli, pri = _readonly(np.arange(2, dtype=np.int64)), _readonly(np.arange(2, dtype=np.int64))
    assert compare_dates(*dl, *dr, pli, pri).tolist() == [5, 4]
    sex = _readonly(np.array([1, 2], dtype=np.int8))
    assert compare_sex(sex, sex, pli, pri).tolist() == [1, 1]
    addr = tuple(_readonly(x) for x in _address_arrays([(13, 1, 2, 3, 0), (0, 0, 0, 0, 0)]))
    assert compare_address(addr, addr, pli, pri).tolist() == [4, -1]


def test_inputs_not_written():
    left = to_codepoints(["NGUYEN VAN AN", "DELA CRUZ MARIA", ""])
    right = to_codepoints(["VAN AN NGUYEN", "DELACRUZ MARIA", "X"])
    li = np.array([0, 1, 2, 0], dtype=np.int64)
    ri = np.array([0, 1, 2, 1], dtype=np.int64)
    before = [x.copy() for x in (left.cp, left.off, right.cp, right.off, li, ri)]
    compare_names(left, right, li, ri, kind="alpha")
    jaro_winkler(left, right, li, ri)
    for b, a in zip(before, (left.cp, left.off, right.cp, right.off, li, ri)):
        np.testing.assert_array_equal(a, b)


def test_pairs_over_many_rows_and_repeats():
    """Rows used by many pairs, in any order, across several spans on the pool."""
    rng = np.random.default_rng(7)
    names = ["NGUYEN VAN AN", "VAN AN NGUYEN", "NGUYEN AN", "TRAN THI BINH", "", "DELA CRUZ MARIA"]
    left = to_codepoints(names)
    right = to_codepoints(names[::-1])
    n = 3 * PAIR_BLOCK + 17
    li = rng.integers(0, len(names), n, dtype=np.int64)
    ri = rng.integers(0, len(names), n, dtype=np.int64)
    got = compare_names(left, right, li, ri, kind="alpha")
    want = [naive.alpha_level(names[a], names[::-1][b]) for a, b in zip(li, ri)]
    assert got.tolist() == want
    assert compare_names(left, right, li[:0], ri[:0], kind="alpha").shape == (0,)


# --- argument checks -------------------------------------------------------------------

def test_names_reject_bad_arguments():
    c = to_codepoints(["A B"])
    i = np.zeros(1, dtype=np.int64)
    with pytest.raises(ValueError, match="kind"):
        compare_names(c, c, i, i, kind="latin")
    with pytest.raises(ValueError, match="li must have dtype int64"):
        compare_names(c, c, i.astype(np.int32), i, kind="alpha")
    with pytest.raises(ValueError, match="same length"):
        compare_names(c, c, i, np.zeros(2, dtype=np.int64), kind="alpha")
    with pytest.raises(ValueError, match="ri must index rows 0..0"):
        compare_names(c, c, i, np.ones(1, dtype=np.int64), kind="alpha")
    with pytest.raises(ValueError, match="li must index"):
        compare_names(c, c, -np.ones(1, dtype=np.int64), i, kind="alpha")
    with pytest.raises(ValueError, match="left must be a Codepoints"):
        compare_names(["A B"], c, i, i, kind="alpha")
    with pytest.raises(ValueError, match="right.cp must have dtype uint32"):
        compare_names(c, Codepoints(c.cp.astype(np.int64), c.off), i, i, kind="alpha")
    with pytest.raises(ValueError, match="left.off must be non-decreasing"):
        compare_names(Codepoints(c.cp, np.array([0, 9], dtype=np.int64)), c, i, i, kind="alpha")
    with pytest.raises(ValueError, match="li must be 1-D"):
        jaro_winkler(c, c, i.reshape(1, 1), i)


def test_dates_sex_address_reject_bad_arguments():
    i = np.zeros(1, dtype=np.int64)
    y, m, d = _date_arrays([(1980, 7, 15)])
    with pytest.raises(ValueError, match="left year must have dtype int16"):
        compare_dates(y.astype(np.int32), m, d, y, m, d, i, i)
    with pytest.raises(ValueError, match=r"right month must lie in \[0, 12\]"):
        compare_dates(y, m, d, y, np.array([13], dtype=np.int8), d, i, i)
    with pytest.raises(ValueError, match="same length"):
        compare_dates(y, m, np.zeros(2, np.int8), y, m, d, i, i)
    s = np.array([1], dtype=np.int8)
    with pytest.raises(ValueError, match="right sex codes must be 0, 1, 2 or 9"):
        compare_sex(s, np.array([3], dtype=np.int8), i, i)
    with pytest.raises(ValueError, match="left sex must have dtype int8"):
        compare_sex(s.astype(np.int64), s, i, i)
    a = _address_arrays([(1, 2, 3, 4, 5)])
    with pytest.raises(ValueError, match="rparts must be a tuple of 5"):
        compare_address(a, a[:4], i, i)
    with pytest.raises(ValueError, match="lparts town must have dtype uint64"):
        compare_address((a[0], a[1], a[2].astype(np.int64), a[3], a[4]), a, i, i)


# --- public surface --------------------------------------------------------------------

def test_exports_sorted_and_complete():
    assert compare.__all__ == sorted(compare.__all__)
    for name in compare.__all__:
        assert hasattr(compare, name)


def test_registry_and_labels():
    assert set(KERNELS) == {"jaro_winkler", "name_alpha", "name_kanji", "name_kana", "date", "sex", "address"}
    c = to_codepoints(["NGUYEN VAN AN"])
    r = to_codepoints(["VAN AN NGUYEN"])
    i = np.zeros(1, dtype=np.int64)
    assert KERNELS["name_alpha"](c, r, i, i).tolist() == [4]
    assert KERNELS["name_kana"](c, r, i, i).tolist() == [3]
    assert set(LEVEL_LABELS) - {"exact"} == set(KERNELS) - {"jaro_winkler"}
    for name, labels in LEVEL_LABELS.items():
        assert labels[-1] in ("null", "unknown")
        assert list(labels) == sorted(labels), name
    assert max(LEVEL_LABELS["name_alpha"]) == 5 and max(LEVEL_LABELS["name_kanji"]) == 4
    assert max(LEVEL_LABELS["date"]) == 5 and max(LEVEL_LABELS["address"]) == 4


def test_small_inputs_restore_the_thread_count():
    import numba

    before = numba.get_num_threads()
    c = to_codepoints(["A B"])
    i = np.zeros(1, dtype=np.int64)
    compare_names(c, c, i, i, kind="alpha")
    with pytest.raises(ValueError):
        compare_names(c, c, i, i, kind="nope")
    assert numba.get_num_threads() == before
