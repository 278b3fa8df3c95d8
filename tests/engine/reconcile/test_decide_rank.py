"""The one-pass ranking kernel against a plain-Python twin and the sorting path."""
import numpy as np
from hypothesis import given, settings, strategies as st

from jukimatch.engine.reconcile.decide import DECISIONS, Pairs, Persons, decide, rank_candidates, rank_candidates_sorting
from tests.naive.reconcile import naive_rank


pairs_st = st.lists(st.tuples(st.integers(0, 6), st.sampled_from([-20.0, 0.0, 3.5, 3.5, 30.0, 12.25])),
                    max_size=40)


@settings(max_examples=300)
@given(pairs_st, st.booleans())
def test_rank_kernel_matches_twin(cands, sort):
    if sort:  # the kernel's path: pairs sorted by person (as the pipeline gives them)
        cands = sorted(cands, key=lambda c: c[0])
    person = np.array([c[0] for c in cands], np.int64)
    weight = np.array([c[1] for c in cands], np.float64)
    n = 7
    best, runner, counts = rank_candidates(person, weight, n)
    nb, nr = naive_rank(person.tolist(), weight.tolist(), n)
    assert best.tolist() == nb and runner.tolist() == nr
    assert counts.tolist() == np.bincount(person, minlength=n).tolist()
    b2, r2, _ = rank_candidates_sorting(person, weight, n)
    assert b2.tolist() == nb and r2.tolist() == nr


def test_decision_codes_agree_with_strings():
    rng = np.random.default_rng(1)
    k, n = 200, 80
    person = np.sort(rng.integers(0, n, k))
    pairs = Pairs(person=person, weight=rng.choice([-30.0, 2.0, 40.0], k), number=rng.integers(0, 50, k),
                  number_ok=rng.random(k) < 0.9, sex_level=np.ones(k, np.int8), date_level=np.full(k, 5, np.int8),
                  gaiji=np.zeros(k, bool))
    persons = Persons(rejected=rng.random(n) < 0.1, answered=rng.random(n) < 0.9, response_invalid=np.zeros(n, bool),
                      held_number=np.where(rng.random(n) < 0.2, rng.integers(0, 50, n), -1))
    d = decide(pairs, persons)
    assert [DECISIONS[c] for c in d.codes()] == d.decision.tolist()
    assert len(set(d.decision.tolist())) >= 3
    part = d.take(slice(5, 20))
    assert part.decision.tolist() == d.decision[5:20].tolist() and part.codes().tolist() == d.code[5:20].tolist()


@given(st.lists(st.one_of(st.integers(0, 20), st.integers(10**11, 10**12 - 1), st.integers(2**40, 2**62)),
                max_size=60))
def test_number_sort_is_a_stable_argsort(values):
    from jukimatch.engine.reconcile.decide import sort_numbers

    v = np.array(values, dtype=np.int64)
    order, sv = sort_numbers(v)
    want = np.argsort(v, kind="stable")
    assert order.tolist() == want.tolist() and sv.tolist() == v[want].tolist()
