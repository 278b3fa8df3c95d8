"""Blocking: the Numba pair kernels against a plain double loop, the explosion guard, key kernels."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jukimatch.engine.link.blocking import BlockingLimitError, block, combine_keys, count_rule_pairs
from jukimatch.engine.link.features import token_keys
from jukimatch.engine.text import to_codepoints
from tests.naive.link import naive_block, naive_token_key

SETTINGS = settings(max_examples=150)


@st.composite
def key_matrices(draw):
    rules = draw(st.integers(1, 3))
    keys = st.integers(0, 3)  # tiny key space: many equal keys and many nulls (0)
    nl = draw(st.integers(0, 25))
    nr = draw(st.integers(0, 25))
    lk = np.array(draw(st.lists(st.lists(keys, min_size=rules, max_size=rules), min_size=nl, max_size=nl)),
                  dtype=np.uint64).reshape(nl, rules)
    rk = np.array(draw(st.lists(st.lists(keys, min_size=rules, max_size=rules), min_size=nr, max_size=nr)),
                  dtype=np.uint64).reshape(nr, rules)
    return lk, rk, draw(st.integers(1, 30))


@SETTINGS
@given(key_matrices(), st.booleans())
def test_block_matches_naive_union(data, dedupe):
    lk, rk, chunk = data
    right = None if dedupe else rk
    names = [f"rule{r}" for r in range(lk.shape[1])]
    got = block(lk, right, names, chunk_pairs=chunk)
    expected, raw = naive_block(lk, right)
    pairs = list(zip(got.li.tolist(), got.ri.tolist()))
    assert len(pairs) == len(set(pairs)), "a pair was emitted twice"
    assert dict(zip(pairs, got.rule.tolist())) == expected
    assert [c.pairs for c in got.counts] == raw
    assert [c.new_pairs for c in got.counts] == [sum(1 for r in expected.values() if r == k) for k in range(len(raw))]
    for r in range(lk.shape[1]):
        assert count_rule_pairs(lk[:, r], None if dedupe else rk[:, r]) == raw[r]
    if dedupe:
        assert all(i < j for i, j in pairs)


def test_explosion_guard_names_rule_and_count_before_emitting():
    lk = np.ones((300, 2), dtype=np.uint64)  # one run of 300: 44,850 pairs for each rule
    lk[:, 0] = np.arange(1, 301)  # rule 0 yields nothing
    seen = []
    with pytest.raises(BlockingLimitError) as err:
        block(lk, None, ["by id", "everyone"], max_pairs_per_rule=10_000, on_counts=seen.append)
    msg = str(err.value)
    assert "'everyone'" in msg and "44,850" in msg and "10,000" in msg and "\n" not in msg
    assert [(c.name, c.pairs) for c in seen[0]] == [("by id", 0), ("everyone", 44_850)]


def test_block_validates_inputs():
    with pytest.raises(ValueError, match="uint64"):
        block(np.ones((3, 1), dtype=np.int64), None, ["a"])
    with pytest.raises(ValueError, match="rule names"):
        block(np.ones((3, 1), dtype=np.uint64), None, ["a", "b"])
    with pytest.raises(ValueError, match="rules"):
        block(np.ones((3, 1), dtype=np.uint64), np.ones((3, 2), dtype=np.uint64), ["a"])


def test_combine_keys_null_and_order():
    parts = np.array([[1, 2], [2, 1], [1, 0], [0, 0]], dtype=np.uint64)
    ordered = combine_keys(parts)
    unordered = combine_keys(parts, unordered=True)
    assert ordered[0] != ordered[1] and unordered[0] == unordered[1]
    assert ordered[2] == 0 and ordered[3] == 0 and unordered[2] == 0
    assert (ordered[:2] != 0).all()


normalised = st.lists(st.text(alphabet="ABN", min_size=1, max_size=3), min_size=0, max_size=3).map(" ".join)


@SETTINGS
@given(st.lists(normalised, min_size=1, max_size=12),
       st.sampled_from(["first_token", "last_token", "sorted_tokens", "nospace", "prefix1", "prefix2", "prefix3"]))
def test_token_keys_match_naive(values, transform):
    keys = token_keys(to_codepoints(values), transform).tolist()
    naive = [naive_token_key(v, transform) for v in values]
    for k, v in zip(keys, naive):
        assert (k == 0) == (v is None)
    for a in range(len(values)):
        for b in range(len(values)):
            if naive[a] is not None and naive[b] is not None:
                assert (keys[a] == keys[b]) == (naive[a] == naive[b]), (values[a], values[b])
