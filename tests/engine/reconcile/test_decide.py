"""Every hard rule of the decision step, on hand-made candidates."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jukimatch.engine.reconcile.decide import Pairs, Persons, Thresholds, decide, reason_lists

STRONG, WEAK, MIDDLE = 30.0, -25.0, 3.0


def run(cands, n=None, held=None, rejected=(), answered=None, invalid=()):
    """cands: list of dicts with person, weight and optional number/ok/sex/date/gaiji."""
    n = n if n is not None else (max(c["person"] for c in cands) + 1 if cands else 1)
    k = len(cands)
    pairs = Pairs(
        person=np.array([c["person"] for c in cands], np.int64),
        weight=np.array([c["weight"] for c in cands], float),
        number=np.array([c.get("number", 100 + i) for i, c in enumerate(cands)], np.int64),
        number_ok=np.array([c.get("ok", True) for c in cands], bool),
        sex_level=np.array([c.get("sex", 1) for c in cands], np.int8),
        date_level=np.array([c.get("date", 5) for c in cands], np.int8),
        gaiji=np.array([c.get("gaiji", False) for c in cands], bool),
    )
    if answered is None:
        answered = np.zeros(n, bool)
        answered[pairs.person] = True
    persons = Persons(
        rejected=np.isin(np.arange(n), list(rejected)),
        answered=np.asarray(answered, bool),
        response_invalid=np.isin(np.arange(n), list(invalid)),
        held_number=np.array(held if held is not None else [-1] * n, np.int64),
    )
    d = decide(pairs, persons, Thresholds())
    return d, reason_lists(d.reason_mask).to_pylist()


def test_strong_unique_matches():
    d, r = run([{"person": 0, "weight": STRONG}, {"person": 0, "weight": WEAK}])
    assert d.decision[0] == "match" and r[0] == ["strong_unique"] and d.best[0] == 0


def test_ambiguous_two_strong():
    d, r = run([{"person": 0, "weight": STRONG}, {"person": 0, "weight": STRONG - 2}])
    assert d.decision[0] == "review" and "ambiguous" in r[0]


def test_bad_check_digit_reviews():
    d, r = run([{"person": 0, "weight": STRONG, "ok": False}])
    assert d.decision[0] == "review" and "check_digit" in r[0]


def test_malformed_number_reviews():
    d, r = run([{"person": 0, "weight": STRONG, "number": -1, "ok": False}])
    assert d.decision[0] == "review" and "number_format" in r[0]


def test_number_to_two_persons_flags_both():
    d, r = run([{"person": 0, "weight": STRONG, "number": 555}, {"person": 1, "weight": STRONG, "number": 555}])
    assert list(d.decision) == ["review", "review"]
    assert all("number_shared" in x for x in r)


def test_weak_lookalike_sharing_a_number_does_not_block_the_owner():
    # person 1's record came back as a weak candidate for person 0 as well
    d, r = run([{"person": 0, "weight": WEAK, "number": 555}, {"person": 1, "weight": STRONG, "number": 555}])
    assert d.decision[1] == "match" and d.decision[0] == "no_match" and r[0] == ["weak_candidates"]


def test_number_held_by_another_person():
    d, r = run([{"person": 0, "weight": STRONG, "number": 777}], n=2, held=[-1, 777], answered=[True, False])
    assert d.decision[0] == "review" and "held_by_other" in r[0]
    assert d.decision[1] == "pending"  # the holder was not answered: resent, not reviewed
    # the holder answered too, with its own number: both need a look
    d, r = run([{"person": 0, "weight": STRONG, "number": 777}, {"person": 1, "weight": STRONG, "number": 777}],
               held=[-1, 777])
    assert list(d.decision) == ["review", "review"]
    assert "held_by_other" in r[0] and "number_shared" in r[1]


def test_held_number_differs():
    d, r = run([{"person": 0, "weight": STRONG, "number": 777}], held=[778])
    assert d.decision[0] == "review" and "held_number_differs" in r[0]


def test_held_number_confirmed_even_if_not_best():
    d, r = run([{"person": 0, "weight": STRONG, "number": 1}, {"person": 0, "weight": 8.0, "number": 2}], held=[2])
    assert d.decision[0] == "match" and r[0] == ["held_number_confirmed"] and d.best[0] == 1


def test_held_number_returned_for_a_stranger_reviews():
    d, r = run([{"person": 0, "weight": WEAK, "number": 2}], held=[2])
    assert d.decision[0] == "review" and "uncertain" in r[0]


@pytest.mark.parametrize("field, code", [("sex", "sex_mismatch"), ("date", "birth_date_mismatch")])
def test_contradictions_on_strong_candidate(field, code):
    d, r = run([{"person": 0, "weight": STRONG, field: 0}])
    assert d.decision[0] == "review" and code in r[0]


def test_gaiji_reviews():
    d, r = run([{"person": 0, "weight": STRONG, "gaiji": True}])
    assert d.decision[0] == "review" and "gaiji" in r[0]


def test_middle_candidate_reviews_weak_is_no_match():
    d, r = run([{"person": 0, "weight": MIDDLE}, {"person": 1, "weight": WEAK}])
    assert d.decision[0] == "review" and r[0] == ["uncertain"]
    assert d.decision[1] == "no_match" and r[1] == ["weak_candidates"]


def test_pending_not_found_rejected_and_invalid_response():
    # 0: unanswered, 1: not_found only, 2: rejected, 3: a quarantined response, 4: strong
    d, r = run([{"person": 4, "weight": STRONG}], n=5, rejected=[2], invalid=[3],
               answered=[False, True, False, True, True])
    assert list(d.decision) == ["pending", "no_match", "rejected", "review", "match"]
    assert r[0] == ["unanswered"] and r[1] == ["not_found"] and r[2] == [] and r[3] == ["response_invalid"]


def test_reason_lists_put_extras_first():
    d, _ = run([{"person": 0, "weight": STRONG, "gaiji": True}], n=2, rejected=[1], answered=[True, False])
    lists = reason_lists(d.reason_mask, {1: ["sex:invalid", "name:missing"]}).to_pylist()
    assert lists[1] == ["sex:invalid", "name:missing"] and lists[0] == ["gaiji"]


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_reason_lists_equal_a_plain_reading_of_the_mask(data):
    """Each row's codes in the vocabulary's order, the extras first: the columnar build (one
    flat pass over the mask) against a row-by-row reading."""
    from jukimatch.engine.reconcile.decide import REASON_CODES

    n = data.draw(st.integers(0, 30))
    mask = np.array(data.draw(st.lists(st.lists(st.booleans(), min_size=len(REASON_CODES),
                                                max_size=len(REASON_CODES)), min_size=n, max_size=n)),
                    dtype=bool).reshape(n, len(REASON_CODES))
    extra = data.draw(st.dictionaries(st.integers(0, max(n - 1, 0)), st.lists(
        st.sampled_from(["sex:invalid", "name:missing", "gaiji"]), min_size=1, max_size=2), max_size=n))
    plain = [list(extra.get(i, [])) + [c for c, on in zip(REASON_CODES, row) if on] for i, row in enumerate(mask)]
    assert reason_lists(mask, extra if n else None).to_pylist() == plain
