"""My Numbers in generated data: official check digit, uniqueness, cases that break them."""
import numpy as np
import pyarrow as pa
import pytest
from stdnum.jp import in_ as stdnum_in

from jukimatch.datasets import make_population
from jukimatch.datasets.numbers import card_strings, corrupt_check_digit, unique_my_numbers, zero_padded
from jukimatch.engine.validate.checkdigit import valid_my_numbers

VALID = ["123456789018", "023456789013", "621498320257", "548836529885"]
INVALID = ["123456789019", "123456789010", "621498320258"]


@pytest.fixture(scope="module")
def pop():
    return make_population(20_000, seed=11)


def test_checker_agrees_with_domain_examples_and_stdnum():
    assert valid_my_numbers(VALID).all()
    assert not valid_my_numbers(INVALID).any()
    assert all(stdnum_in.is_valid(v) for v in VALID)
    assert not any(stdnum_in.is_valid(v) for v in INVALID)


def test_generated_numbers_pass_both_checks():
    rng = np.random.default_rng(0)
    text = zero_padded(unique_my_numbers(rng, 5000), 12).to_pylist()
    assert all(len(t) == 12 and t.isdigit() for t in text)
    assert valid_my_numbers(text).all()
    assert all(stdnum_in.is_valid(t) for t in text)
    assert any(t.startswith("0") for t in text)  # leading zeros really occur


def test_corrupted_check_digit_fails_both_checks():
    rng = np.random.default_rng(1)
    good = unique_my_numbers(rng, 3000)
    bad = zero_padded(corrupt_check_digit(rng, good), 12).to_pylist()
    assert not valid_my_numbers(bad).any()
    assert not any(stdnum_in.is_valid(b) for b in bad)
    assert [b[:11] for b in bad] == [g[:11] for g in zero_padded(good, 12).to_pylist()]


def test_card_numbers_have_the_shape():
    rng = np.random.default_rng(2)
    cards = card_strings(np.r_[rng.integers(0, 26**4 * 10**8, 1000), -1]).to_pylist()
    assert cards[-1] is None
    assert all(len(c) == 12 and c[:2].isalpha() and c[2:10].isdigit() and c[10:].isalpha() and c.isupper()
               for c in cards[:-1])


def test_true_numbers_valid_and_unique_except_duplicate_pairs(pop):
    truth = pop["truth"].to_pylist()
    true = [t["true_my_number"] for t in truth if t["true_my_number"]]
    assert valid_my_numbers(true).all()
    assert all(stdnum_in.is_valid(v) for v in true[:3000])
    counts = {}
    for t in truth:
        if t["true_my_number"]:
            counts.setdefault(t["true_my_number"], []).append(t)
    for number, rows in counts.items():
        if len(rows) > 1:
            assert len(rows) == 2
            a, b = rows
            assert a["case"] == b["case"] == "duplicate_registration"
            assert a["duplicate_of"] == b["person_id"] and b["duplicate_of"] == a["person_id"]


def test_all_numbers_handed_out_are_distinct(pop):
    truth = pop["truth"].to_pylist()
    residents = {r["person_id"]: r for r in pop["residents"].to_pylist()}
    true = {t["true_my_number"] for t in truth if t["true_my_number"]}
    look = [t["lookalike_my_number"] for t in truth if t["lookalike_my_number"]]
    wrong = [residents[t["person_id"]]["my_number"] for t in truth if t["held_number_kind"] == "wrong"]
    assert look and wrong
    assert valid_my_numbers(look).all() and valid_my_numbers(wrong).all()
    assert len(set(look)) == len(look) and len(set(wrong)) == len(wrong)
    assert not (set(look) & true) and not (set(wrong) & true) and not (set(look) & set(wrong))


def test_held_numbers_recorded_in_truth(pop):
    residents = {r["person_id"]: r for r in pop["residents"].to_pylist()}
    kinds = {"none": 0, "true": 0, "wrong": 0}
    for t in pop["truth"].to_pylist():
        held = residents[t["person_id"]]["my_number"]
        kinds[t["held_number_kind"]] += 1
        if t["held_number_kind"] == "none":
            assert held is None
        elif t["held_number_kind"] == "true":
            assert held == t["true_my_number"]
        else:
            assert held and held != t["true_my_number"]
    n = pop["truth"].num_rows
    assert 0.03 * n < kinds["true"] < 0.07 * n  # 5% of the ~98% with a record
    assert 0 < kinds["wrong"] < 0.006 * n


def test_response_numbers_valid_except_bad_check_digit(pop):
    case = dict(zip(pop["truth"]["person_id"].to_pylist(), pop["truth"]["case"].to_pylist()))
    found = pop["responses"].filter(pa.compute.equal(pop["responses"]["status"], "found")).to_pylist()
    numbers = [r["my_number"] for r in found]
    ok = valid_my_numbers(numbers)
    for r, good in zip(found, ok):
        assert good == (case[r["person_id"]] != "bad_check_digit"), r["person_id"]
