"""Birth dates and sex codes: accepted notations, null semantics, kernel against naive twin."""
import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jukimatch.engine.normalize import Dates, normalize_sex, parse_dates

from tests.naive import normalize as naive


@pytest.mark.parametrize("value, expected", [
    ("1980-07-02", (1980, 7, 2, 1)),
    ("1980-00-00", (1980, 0, 0, 1)),
    ("1980-07-00", (1980, 7, 0, 1)),
    ("2023-02-29", (2023, 2, 29, 1)),  # off the calendar, a legitimate record
    ("1990-04-31", (1990, 4, 31, 1)),
    ("19800102", (1980, 1, 2, 1)),
    ("1980/1/2", (1980, 1, 2, 1)),
    ("1980.01.02", (1980, 1, 2, 1)),
    ("１９８０－０７－０２", (1980, 7, 2, 1)),
    (" 1980-07-02 ", (1980, 7, 2, 1)),
    ("1980年7月2日", (1980, 7, 2, 1)),
    ("1980-13-01", (0, 0, 0, 2)),
    ("1980-07-32", (0, 0, 0, 2)),
    ("0000-00-00", (0, 0, 0, 2)),
    ("1980-07/02", (0, 0, 0, 2)),
    ("198007", (0, 0, 0, 2)),
    ("abc", (0, 0, 0, 2)),
    ("", (0, 0, 0, 0)),
    ("  ", (0, 0, 0, 0)),
    (None, (0, 0, 0, 0)),
])
def test_parse_dates(value, expected):
    d = parse_dates(pa.array([value], pa.string()))
    assert (int(d.year[0]), int(d.month[0]), int(d.day[0]), int(d.status[0])) == expected


def test_dates_dtypes():
    d = parse_dates(["1980-07-02"])
    assert isinstance(d, Dates)
    assert [a.dtype for a in d] == [np.int16, np.int8, np.int8, np.int8]


_DATE = st.sampled_from(list("0123456789０９-/.－／年月日 　ax"))


@given(st.lists(st.text(_DATE, max_size=12) | st.none(), max_size=8)
       | st.lists(st.from_regex(r"[0-9]{4}[-/.][0-9]{1,2}[-/.][0-9]{1,2}|[0-9]{8}", fullmatch=True),
                  max_size=8))
def test_dates_match_naive(values):
    d = parse_dates(pa.array(values, pa.string()))
    got = list(zip(d.year.tolist(), d.month.tolist(), d.day.tolist(), d.status.tolist()))
    assert got == [naive.date(v) for v in values]


@pytest.mark.parametrize("value, code, ok", [
    ("1", 1, True), ("2", 2, True), ("0", 0, True), ("9", 9, True), ("１", 1, True), (" 2 ", 2, True),
    (None, 0, True), ("", 0, True), ("M", 0, False), ("3", 0, False), ("男", 0, False), ("12", 0, False),
])
def test_sex(value, code, ok):
    codes, oks = normalize_sex(pa.array([value], pa.string()))
    assert (int(codes[0]), bool(oks[0])) == (code, ok)
    assert codes.dtype == np.int8 and oks.dtype == np.bool_


@settings(max_examples=100)
@given(st.lists(st.text(st.sampled_from(list("01239１２ M")), max_size=3) | st.none(), max_size=8))
def test_sex_matches_naive(values):
    codes, oks = normalize_sex(pa.array(values, pa.string()))
    assert list(zip(codes.tolist(), oks.tolist())) == [naive.sex(v) for v in values]


@settings(max_examples=300)
@given(st.lists(st.one_of(st.none(), st.sampled_from(["0", "1", "2", "9", " 1", "１", "2 ", "\u3000", "", "M", "3", "①"]),
                          st.text(alphabet="0129 １２ＭF\u3000", max_size=3)), max_size=30))
def test_sex_fast_path_equals_normalising_everything(values):
    import pyarrow as pa

    from jukimatch.engine.normalize.dates import _normalize_sex_spelled

    got = normalize_sex(pa.array(values, pa.string()))
    want = _normalize_sex_spelled(pa.array(values, pa.string()))
    assert got[0].tolist() == want[0].tolist() and got[1].tolist() == want[1].tolist()


@given(st.lists(st.text(_DATE, max_size=12) | st.none(), min_size=1, max_size=12), st.integers(0, 11))
def test_dates_of_a_slice_with_nulls(values, start):
    """Read straight from Arrow's buffers: a slice (bit offset, offsets offset) parses as its rows."""
    whole = parse_dates(pa.array(values, pa.string()))
    part = parse_dates(pa.chunked_array([pa.array(values, pa.string()).slice(start)]))
    for a, b in zip(whole, part):
        assert a[start:].tolist() == b.tolist()


@settings(max_examples=200)
@given(st.lists(st.text(st.sampled_from(list("01239１ M")), max_size=2) | st.none(), max_size=12), st.integers(0, 5))
def test_bare_sex_codes_twin(values, skip):
    """The kernel that reads bare codes from the bytes, against plain Python (a sliced array too)."""
    from jukimatch.engine.normalize.dates import _bare_sex_codes
    from jukimatch.engine.text import utf8_buffers

    arr = pa.array(values, pa.string()).slice(min(skip, len(values)))
    want = [-2 if v is None else int(v) if v in ("0", "1", "2", "9") else -1 for v in arr.to_pylist()]
    assert _bare_sex_codes(*utf8_buffers(arr)).tolist() == want
