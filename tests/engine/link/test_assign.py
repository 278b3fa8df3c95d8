"""One-to-one assignment and the chaining guard of duplicate clusters."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from jukimatch.engine.link.assign import cluster_pairs, one_to_one
from tests.naive.link import naive_greedy


@st.composite
def scored_pairs(draw):
    nl, nr = draw(st.integers(1, 8)), draw(st.integers(1, 8))
    cells = draw(st.lists(st.tuples(st.integers(0, nl - 1), st.integers(0, nr - 1)), unique=True, max_size=30))
    w = draw(st.lists(st.sampled_from([0.5, 1.0, 2.0, 7.5]), min_size=len(cells), max_size=len(cells)))
    return nl, nr, [c[0] for c in cells], [c[1] for c in cells], w


@given(scored_pairs())
def test_one_to_one_invariants(data):
    nl, nr, li, ri, w = data
    keep = one_to_one(np.array(w, float), np.array(li, np.int64), np.array(ri, np.int64), nl, nr)
    assert keep.tolist() == naive_greedy(w, li, ri)
    acc = [k for k in range(len(w)) if keep[k]]
    assert len({li[k] for k in acc}) == len(acc) and len({ri[k] for k in acc}) == len(acc)  # one-to-one
    for k in range(len(w)):  # maximal, and no refused pair beats the accepted pair that blocked it
        if not keep[k]:
            blockers = [a for a in acc if li[a] == li[k] or ri[a] == ri[k]]
            assert any(w[a] >= w[k] for a in blockers)


def test_one_to_one_tie_break_is_deterministic():
    w = np.array([1.0, 1.0, 1.0])
    li, ri = np.array([1, 0, 0]), np.array([0, 1, 0])
    # equal weights: (left 0, right 0) comes first and takes both records; the others are refused
    assert one_to_one(w, li, ri, 2, 2).tolist() == [False, False, True]


def test_chaining_guard_refuses_incomplete_joins():
    # A~B strong, B~C weaker, A and C never linked: C must not join {A, B}
    w = np.array([10.0, 5.0])
    c = cluster_pairs(w, np.array([0, 1]), np.array([1, 2]), 4, max_size=10)
    assert c.root.tolist() == [0, 0, 2, 3]
    assert c.size.tolist() == [2, 2, 1, 1]
    assert c.accepted.tolist() == [True, False]
    assert c.refused_incomplete == 1
    # with A~C too, the triangle is complete: one cluster of three
    c = cluster_pairs(np.array([10.0, 5.0, 4.0]), np.array([0, 1, 0]), np.array([1, 2, 2]), 3, max_size=10)
    assert c.root.tolist() == [0, 0, 0] and c.accepted.all()


def test_cluster_size_cap():
    n = 5
    li, ri = np.triu_indices(n, 1)
    c = cluster_pairs(np.ones(len(li)), li.astype(np.int64), ri.astype(np.int64), n, max_size=3)
    assert c.size.max() == 3 and c.refused_size > 0
    with pytest.raises(ValueError, match="max_size"):
        cluster_pairs(np.ones(1), np.array([0]), np.array([1]), 2, max_size=1)


def test_one_to_one_validates():
    with pytest.raises(ValueError, match="ri must index"):
        one_to_one(np.ones(1), np.array([0]), np.array([3]), 1, 1)
    with pytest.raises(ValueError, match="NaN"):
        one_to_one(np.array([np.nan]), np.array([0]), np.array([0]), 1, 1)
