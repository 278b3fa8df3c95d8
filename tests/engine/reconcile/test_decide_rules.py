"""The rules kernel of the decision against its plain twin (the numpy masks it replaced)."""
import numpy as np
from hypothesis import given, settings, strategies as st

from jukimatch.engine.reconcile.decide import _CODE_OF, _RULE_COLUMNS, _rules, REASON_CODES
from tests.naive.reconcile import naive_rules


@st.composite
def inputs(draw):
    n = draw(st.integers(1, 12))
    k = draw(st.integers(0, 8))
    bools = lambda m: np.array(draw(st.lists(st.booleans(), min_size=m, max_size=m)), bool)  # noqa: E731
    has = bools(n) & (k > 0)
    ch = np.array([draw(st.integers(0, k - 1)) if h else 0 for h in has], np.int64)
    rival = np.array([draw(st.integers(-1, k - 1)) if h else -1 for h in has], np.int64)
    w = np.array([draw(st.floats(-20, 20)) if h else np.nan for h in has])
    w_run = np.array([draw(st.floats(-20, 20)) if r >= 0 else -np.inf for r in rival])
    p_run = np.array([draw(st.floats(0, 1)) if r >= 0 else 0.0 for r in rival])
    risk = np.array([draw(st.sampled_from([0.0, 1e-6, 1e-4, 0.3])) if h else np.nan for h in has])
    rejected = bools(n)
    twin = np.where(rejected, 0, np.array(draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)), np.int8))
    return dict(
        has=has, strong=bools(n) & has, plausible=bools(n) & has, confirmed=bools(n) & has, shared=bools(n),
        held_by_other=bools(n), held=np.array(draw(st.lists(st.integers(-1, 3), min_size=n, max_size=n)), np.int64),
        ch=ch, rival=rival, w=w, w_run=w_run, p_run=p_run, risk=risk, risk_given=draw(st.booleans()),
        number_ok=bools(k), number=np.array(draw(st.lists(st.integers(-1, 5), min_size=k, max_size=k)), np.int64),
        sex_level=np.array(draw(st.lists(st.integers(-1, 1), min_size=k, max_size=k)), np.int8),
        date_level=np.array(draw(st.lists(st.integers(-1, 3), min_size=k, max_size=k)), np.int8),
        gaiji=bools(k), conflict=bools(k), elsewhere=bools(k), thin=bools(k), twin=twin, rejected=rejected,
        answered=bools(n), response_invalid=bools(n),
        counts=np.array(draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)), np.int32),
        min_margin=draw(st.sampled_from([0.0, 2.0, 5.0])), runner_up=draw(st.sampled_from([0.1, 0.5, 0.9])),
        max_risk=draw(st.sampled_from([1e-5, 0.01])))


@settings(max_examples=150, deadline=None)
@given(inputs())
def test_rules_kernel_equals_the_masks(x):
    n = len(x["has"])
    code = np.empty(n, np.int8)
    mask = np.zeros((n, len(REASON_CODES)), bool)
    _rules(*x.values(), _RULE_COLUMNS, _CODE_OF, code, mask)
    want_code, want_flags = naive_rules(*x.values())
    assert code.tolist() == want_code.tolist()
    for j, reason in enumerate(REASON_CODES):
        assert mask[:, j].tolist() == want_flags[reason].tolist(), reason


@given(st.lists(st.integers(0, 2**64 - 1), max_size=60), st.sampled_from([0, 1, 2**40 - 1]))
def test_radix_sort_equals_numpy_sort(keys, mask):
    """Keys sharing digits (the mask keeps low bits only) skip passes; the order is numpy's."""
    from jukimatch.engine.reconcile.decide import _radix_sort

    a = np.array(keys, np.uint64)
    if mask:
        a &= np.uint64(mask)
    assert _radix_sort(a).tolist() == np.sort(a).tolist()
