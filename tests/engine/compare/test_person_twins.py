"""Every comparison kernel against its plain-Python twin (tests/naive/compare.py).

Each Hypothesis example is a small batch: a handful of left and right values and pairs
between them (many pairs per kernel call keeps the suite fast). Alphabets are tiny on
purpose, so that equal tokens, shared prefixes, reorderings and near misses are common.
"""
from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from rapidfuzz import fuzz
from rapidfuzz.distance import JaroWinkler

from tests.naive import compare as naive
from jukimatch.engine.compare._similarity import token_set_ratio_pairs
from jukimatch.engine.compare.person import (
    compare_address,
    compare_dates,
    compare_names,
    compare_sex,
    jaro_winkler,
)
from jukimatch.engine.text import to_codepoints


ALPHA_LETTERS = "ANGUYEV"  # a few letters of NGUYEN VAN AN: collisions are frequent
KANJI_CHARS = "張偉高髙橋花子\ue001𠮷"  # incl. a private-use gaiji and a non-BMP character
KANA_CHARS = "グエンヴアイ"


def token_strategy(chars: str, max_len: int = 5):
    return st.text(alphabet=chars, min_size=1, max_size=max_len)


@st.composite
def name_strategy(draw, chars: str):
    toks = draw(st.lists(token_strategy(chars), min_size=0, max_size=4))
    if draw(st.integers(0, 9)) == 0:  # tolerated irregular spacing
        return "  ".join(toks) + " "
    return " ".join(toks)


@st.composite
def mutated(draw, name: str, chars: str):
    """A variant of `name` the way records drift: reorder, drop, typo, spacing, or another name."""
    toks = naive.tokens(name)
    op = draw(st.integers(0, 7))
    if op == 0 or not toks:
        return draw(name_strategy(chars))
    if op == 1:
        return name
    if op == 2:
        return " ".join(draw(st.permutations(toks)))
    if op == 3 and len(toks) > 1:
        del toks[draw(st.integers(0, len(toks) - 1))]
        return " ".join(toks)
    if op == 4:
        i = draw(st.integers(0, len(toks) - 1))
        t = toks[i]
        j = draw(st.integers(0, len(t) - 1))
        toks[i] = t[:j] + draw(st.sampled_from(chars)) + t[j + 1:]
        return " ".join(toks)
    if op == 5:
        i = draw(st.integers(0, len(toks) - 1))
        toks[i] = toks[i][:-1] or toks[i]
        return " ".join(draw(st.permutations(toks)))
    if op == 6:
        return name.replace(" ", "", 1)
    return " ".join(toks + [draw(token_strategy(chars))])


@st.composite
def name_batch(draw, chars: str):
    """(left names, right names, li, ri) with related and unrelated pairs."""
    left = draw(st.lists(name_strategy(chars), min_size=1, max_size=8))
    right = [draw(mutated(n, chars)) for n in left]
    right += draw(st.lists(name_strategy(chars), min_size=0, max_size=3))
    n_pairs = draw(st.integers(1, 24))
    li = [i % len(left) for i in range(n_pairs)]
    ri = [i % len(left) if i < len(left) else draw(st.integers(0, len(right) - 1)) for i in range(n_pairs)]
    return left, right, np.array(li, dtype=np.int64), np.array(ri, dtype=np.int64)


@given(name_batch(ALPHA_LETTERS + "Z"))
def test_alpha_levels_match_twin(batch):
    left, right, li, ri = batch
    got = compare_names(to_codepoints(left), to_codepoints(right), li, ri, kind="alpha")
    want = [naive.alpha_level(left[a], right[b]) for a, b in zip(li, ri)]
    assert got.tolist() == want


@given(name_batch(KANJI_CHARS))
def test_kanji_levels_match_twin(batch):
    left, right, li, ri = batch
    got = compare_names(to_codepoints(left), to_codepoints(right), li, ri, kind="kanji")
    assert got.tolist() == [naive.kanji_level(left[a], right[b]) for a, b in zip(li, ri)]


@given(name_batch(KANA_CHARS))
def test_kana_levels_match_twin(batch):
    left, right, li, ri = batch
    got = compare_names(to_codepoints(left), to_codepoints(right), li, ri, kind="kana")
    assert got.tolist() == [naive.kana_level(left[a], right[b]) for a, b in zip(li, ri)]


@given(name_batch("AB C" + "髙\ue001𠮷"))
def test_jaro_winkler_matches_twin_and_rapidfuzz(batch):
    left, right, li, ri = batch
    got = jaro_winkler(to_codepoints(left), to_codepoints(right), li, ri)
    assert got.dtype == np.float32
    for g, a, b in zip(got.tolist(), li, ri):
        s, t = left[a], right[b]
        want = naive.jaro_winkler(s, t)
        assert abs(g - want) <= 1e-6
        if s and t:  # rapidfuzz scores two empty strings 1.0; here null is 0.0
            assert abs(g - JaroWinkler.similarity(s, t)) <= 1e-6


@given(name_batch("ABC"), st.sampled_from([0.0, 0.5, 0.88]))
def test_token_set_ratio_matches_twin_and_rapidfuzz(batch, cutoff):
    left, right, li, ri = batch
    lc, rc = to_codepoints(left), to_codepoints(right)
    max_len = max(int(np.diff(lc.off).max()), int(np.diff(rc.off).max()))
    got = token_set_ratio_pairs(lc.cp, lc.off, rc.cp, rc.off, li, ri, max_len, cutoff)
    for g, a, b in zip(got.tolist(), li, ri):
        s, t = left[a], right[b]
        exact = naive.token_set_ratio(s, t)
        assert abs(exact - fuzz.token_set_ratio(s, t) / 100) <= 1e-9
        want = exact if exact >= cutoff else 0.0
        assert abs(g - want) <= 1e-12


YEARS = st.sampled_from([0, 1, 9, 10, 980, 1979, 1980, 1981, 1989, 1990, 1908, 2080, 9999]) | st.integers(0, 9999)
MONTHS = st.integers(0, 12)
DAYS = st.sampled_from([0, 1, 2, 5, 7, 10, 11, 12, 13, 21, 29, 31]) | st.integers(0, 31)


@st.composite
def date_batch(draw):
    n = draw(st.integers(1, 20))
    left = [(draw(YEARS), draw(MONTHS), draw(DAYS)) for _ in range(n)]
    right = []
    for y, m, d in left:
        op = draw(st.integers(0, 5))
        if op == 0:
            right.append((draw(YEARS), draw(MONTHS), draw(DAYS)))
        elif op == 1:
            right.append((y, m, d))
        elif op == 2 and 1 <= d <= 12:
            right.append((y, d, m))
        elif op == 3:
            right.append((y, 0 if draw(st.booleans()) else m, 0 if draw(st.booleans()) else d))
        else:
            y2, m2, d2 = y, m, d
            part = draw(st.integers(0, 2))
            if part == 0:
                y2 = min(9999, max(0, y + draw(st.sampled_from([-1, 1, 10, -100, 9]))))
            elif part == 1:
                m2 = draw(MONTHS)
            else:
                d2 = draw(DAYS)
            right.append((y2, m2, d2))
    return left, right


def _dates(rows):
    return (np.array([r[0] for r in rows], dtype=np.int16), np.array([r[1] for r in rows], dtype=np.int8),
            np.array([r[2] for r in rows], dtype=np.int8))


@given(date_batch())
def test_date_levels_match_twin(batch):
    left, right = batch
    idx = np.arange(len(left), dtype=np.int64)
    got = compare_dates(*_dates(left), *_dates(right), idx, idx[::-1].copy())
    assert got.tolist() == [naive.date_level(left[a], right[b]) for a, b in zip(idx, idx[::-1])]


@given(st.lists(st.tuples(st.sampled_from([0, 1, 2, 9]), st.sampled_from([0, 1, 2, 9])), min_size=1, max_size=30))
def test_sex_levels_match_twin(rows):
    left = np.array([a for a, _ in rows], dtype=np.int8)
    right = np.array([b for _, b in rows], dtype=np.int8)
    idx = np.arange(len(rows), dtype=np.int64)
    got = compare_sex(left, right, idx, idx)
    assert got.tolist() == [naive.sex_level(a, b) for a, b in rows]


ADDRESS_ROW = st.tuples(*[st.sampled_from([0, 1, 2, 2**64 - 1])] * 5)


@given(st.lists(st.tuples(ADDRESS_ROW, ADDRESS_ROW), min_size=1, max_size=30))
def test_address_levels_match_twin(rows):
    left = tuple(np.array([r[0][p] for r in rows], dtype=np.uint64) for p in range(5))
    right = tuple(np.array([r[1][p] for r in rows], dtype=np.uint64) for p in range(5))
    idx = np.arange(len(rows), dtype=np.int64)
    got = compare_address(left, right, idx, idx)
    assert got.tolist() == [naive.address_level(a, b) for a, b in rows]


def test_seeded_realistic_names_match_twin_and_cover_every_level():
    """Thousands of generated passport-name pairs: kernel == twin, and every level occurs."""
    rng = np.random.default_rng(2024)
    surnames = ["NGUYEN", "TRAN", "LE", "PHAM", "DELA CRUZ", "SANTOS", "GARCIA", "KIM", "LEE", "PARK",
                "SHRESTHA", "GURUNG", "WANG", "LI", "ZHANG", "SILVA", "OLIVEIRA", "WIJAYA"]
    given_names = ["VAN", "THI", "AN", "ANH", "BINH", "MARIA", "JOSE", "LUIS", "MIN", "JUN", "RAM",
                   "BAHADUR", "WEI", "FANG", "ANA", "JOAO", "BUDI", "CHRISTINA", "CRISTINA"]
    n = 3000
    left = [" ".join([rng.choice(surnames)] + list(rng.choice(given_names, rng.integers(1, 4))))
            for _ in range(n)]
    right = []
    for name in left:
        toks = name.split(" ")
        op = rng.integers(0, 7)
        if op == 0:
            right.append(name)
        elif op == 1:
            right.append(" ".join(rng.permutation(toks)))
        elif op == 2 and len(toks) > 2:
            right.append(" ".join(toks[:1] + toks[2:]))
        elif op == 3:
            i = rng.integers(0, len(toks))
            t = toks[i]
            j = rng.integers(0, len(t))
            toks[i] = t[:j] + chr(rng.integers(65, 91)) + t[j + 1:]
            right.append(" ".join(toks))
        elif op == 4:
            right.append(name.replace(" ", "", 1))
        else:
            right.append(left[rng.integers(0, n)])
    li = np.arange(n, dtype=np.int64)
    got = compare_names(to_codepoints(left), to_codepoints(right), li, li, kind="alpha")
    want = [naive.alpha_level(a, b) for a, b in zip(left, right)]
    assert got.tolist() == want
    assert set(want) >= {0, 1, 2, 3, 4, 5}


def test_long_strings_take_the_word_free_paths():
    """Names longer than a machine word (64 code points) use the textbook JW and the LCS
    table; both must agree with the twins and rapidfuzz like the short ones do."""
    rng = np.random.default_rng(64)
    letters = np.array(list("ABN"))

    def name(n_tokens):
        return " ".join("".join(rng.choice(letters, rng.integers(8, 30))) for _ in range(n_tokens))

    left = [name(int(rng.integers(3, 6))) for _ in range(60)]
    right = [(s[:-1] + "A" if i % 3 else name(int(rng.integers(1, 6)))) for i, s in enumerate(left)]
    right[0] = left[0].replace(" ", "", 1)
    assert max(map(len, left)) > 64
    lc, rc = to_codepoints(left), to_codepoints(right)
    idx = np.arange(len(left), dtype=np.int64)
    jw = jaro_winkler(lc, rc, idx, idx)
    for g, s, t in zip(jw.tolist(), left, right):
        assert abs(g - JaroWinkler.similarity(s, t)) <= 1e-6
    max_len = max(map(len, left + right))
    ts = token_set_ratio_pairs(lc.cp, lc.off, rc.cp, rc.off, idx, idx, max_len, 0.0)
    for g, s, t in zip(ts.tolist(), left, right):
        assert abs(g - fuzz.token_set_ratio(s, t) / 100) <= 1e-9
    levels = compare_names(lc, rc, idx, idx, kind="alpha")
    assert levels.tolist() == [naive.alpha_level(s, t) for s, t in zip(left, right)]
    assert compare_names(lc, rc, idx, idx, kind="kana").tolist() == [naive.kana_level(s, t) for s, t in zip(left, right)]
