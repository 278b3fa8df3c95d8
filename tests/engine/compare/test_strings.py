"""Link comparisons: the edit-distance kernel against a plain OSA distance, level bands, nulls."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from jukimatch.engine.compare.person import KERNELS
from jukimatch.engine.compare.strings import compare_edit_distance, compare_exact, compare_jaro_winkler, edit_distance
from jukimatch.engine.link.comparisons import LINK_COMPARISONS, make_comparison
from jukimatch.engine.text import to_codepoints
from tests.naive.strings import naive_osa


words = st.lists(st.text(alphabet="abc1", min_size=0, max_size=8), min_size=1, max_size=8)


@given(words, words, st.integers(0, 4), st.data())
def test_edit_distance_matches_naive(left, right, cutoff, data):
    k = data.draw(st.integers(1, 20))
    li = np.array(data.draw(st.lists(st.integers(0, len(left) - 1), min_size=k, max_size=k)), dtype=np.int64)
    ri = np.array(data.draw(st.lists(st.integers(0, len(right) - 1), min_size=k, max_size=k)), dtype=np.int64)
    got = edit_distance(to_codepoints(left), to_codepoints(right), li, ri, cutoff=cutoff)
    for g, a, b in zip(got.tolist(), li, ri):
        s, t = left[a], right[b]
        if not s or not t:
            assert g == -1
        else:
            assert g == min(naive_osa(s, t), cutoff + 1), (s, t)
    levels = compare_edit_distance(to_codepoints(left), to_codepoints(right), li, ri, thresholds=(1, 2))
    for lv, a, b in zip(levels.tolist(), li, ri):
        s, t = left[a], right[b]
        if not s or not t:
            assert lv == -1
        else:
            d = naive_osa(s, t)
            assert lv == (3 if s == t else 2 if d <= 1 else 1 if d <= 2 else 0)


def test_exact_and_jaro_winkler_levels_and_nulls():
    left = to_codepoints(["martha", "dwayne", "", "dixon"])
    right = to_codepoints(["marhta", "duane", "x", "dixon"])
    idx = np.arange(4, dtype=np.int64)
    assert compare_exact(left, right, idx, idx).tolist() == [0, 0, -1, 1]
    # JW(martha, marhta) = 0.961, JW(dwayne, duane) = 0.84: thresholds 0.92, 0.88, 0.70
    assert compare_jaro_winkler(left, right, idx, idx).tolist() == [3, 1, -1, 4]


def test_registry_extends_compare_kernels():
    for name in ("name_alpha", "name_kanji", "name_kana", "date", "sex", "address"):
        assert name in KERNELS and name in LINK_COMPARISONS
    c = make_comparison("jaro_winkler", [0.9, 0.8])
    assert c.n_levels == 4 and c.exact_level == 3 and c.labels[3] == "exact"
    with pytest.raises(ValueError, match="unknown comparison 'nope'"):
        make_comparison("nope")
    with pytest.raises(ValueError, match="strictly decreasing"):
        make_comparison("jaro_winkler", [0.8, 0.9])
    with pytest.raises(ValueError, match="takes no thresholds"):
        make_comparison("date", [1])


def test_wrappers_validate():
    cps = to_codepoints(["a"])
    with pytest.raises(ValueError, match="li must index"):
        compare_exact(cps, cps, np.array([1]), np.array([0]))
    with pytest.raises(ValueError, match="Codepoints"):
        compare_exact(["a"], cps, np.array([0]), np.array([0]))
    with pytest.raises(ValueError, match="cutoff"):
        edit_distance(cps, cps, np.array([0]), np.array([0]), cutoff=-1)
