"""My Number check digits: DOMAIN.md's examples, python-stdnum as an oracle, a naive twin."""
import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings, strategies as st
from stdnum.jp import in_ as stdnum_in

from jukimatch.engine.validate.checkdigit import (
    check_digit_of_ints, my_number_errors, numbers_from_bodies, valid_card_numbers,
    valid_my_numbers,
)
from tests.naive.validate import naive_check_digit

VALID = ["123456789018", "023456789013", "621498320257", "548836529885"]
INVALID = ["123456789019", "123456789010", "621498320258"]


def test_domain_examples():
    assert valid_my_numbers(VALID).all()
    assert not valid_my_numbers(INVALID).any()


@pytest.mark.parametrize("value, error", [
    ("123456789018", None), ("123456789019", "check_digit"), ("", "empty"), (None, "empty"),
    ("12345678901", "format"), ("1234567890188", "format"), ("12345678901a", "format"),
    ("１２３４５６７８９０１８", "format"),
])
def test_errors(value, error):
    assert my_number_errors([value]) == [error]


@settings(max_examples=300)
@given(st.integers(min_value=0, max_value=10**11 - 1))
def test_against_stdnum_and_twin(body):
    number = numbers_from_bodies(np.array([body]))[0]
    text = f"{number:012d}"
    assert stdnum_in.is_valid(text)
    assert int(text[-1]) == naive_check_digit(text[:11]) == check_digit_of_ints(np.array([body]))[0]
    assert valid_my_numbers([text])[0]
    wrong = text[:11] + str((int(text[-1]) + 1) % 10)
    assert not valid_my_numbers([wrong])[0]
    assert not stdnum_in.is_valid(wrong)


@given(st.lists(st.one_of(st.none(), st.text(alphabet="0123456789a ", max_size=13)), max_size=30))
def test_vectorised_agrees_with_stdnum(values):
    got = valid_my_numbers(pa.array(values, pa.string()))
    want = [v is not None and len(v) == 12 and v.isdigit() and stdnum_in.is_valid(v) for v in values]
    assert got.tolist() == want


def test_card_numbers():
    got = valid_card_numbers(["AB12345678CD", "ab12345678cd", "AB1234567CD", None, "AB12345678CDE"])
    assert got.tolist() == [True, False, False, False, False]


@settings(max_examples=300)
@given(st.lists(st.one_of(st.none(), st.sampled_from(["123456789018", " 123456789018 ", "123456789019\t", "AB12345678CD",
                                                      " AB12345678CD", "AB12345678CD\u3000", " ", ""]),
                          st.text(alphabet="0123456789 AB\u3000", max_size=14)), max_size=30))
def test_trimmed_scans_equal_scanning_trimmed_values(values):
    import pyarrow as pa
    import pyarrow.compute as pc

    from jukimatch.engine.validate.checkdigit import scan_numbers, scan_numbers_trimmed, valid_card_numbers

    col = pa.array(values, pa.string())
    trimmed = pc.utf8_trim_whitespace(col)
    kind, num = scan_numbers_trimmed(col)
    want_kind, want_num = scan_numbers(trimmed)
    assert kind.tolist() == want_kind.tolist() and num.tolist() == want_num.tolist()
    assert valid_card_numbers(col, trim=True).tolist() == valid_card_numbers(trimmed).tolist()
