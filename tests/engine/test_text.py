"""The layout kernels (UTF-8 decode, byte offsets, hashing) and the number/card scanners
against plain-Python twins."""
import numpy as np
import pyarrow as pa
from hypothesis import given, settings, strategies as st

from jukimatch.engine.text import Codepoints, from_codepoints, hash_strings, to_codepoints
from jukimatch.engine.validate.checkdigit import scan_numbers, valid_card_numbers
from tests.naive.text import naive_hash, naive_layout, naive_number_kind

texts = st.lists(st.one_of(st.none(), st.text(max_size=12)), max_size=25)


@settings(max_examples=300)
@given(texts, st.integers(0, 4), st.booleans())
def test_decode_and_back(values, skip, large):
    arr = pa.array(values, pa.large_string() if large else pa.string()).slice(min(skip, len(values)))
    got = to_codepoints(arr)
    cp, off = naive_layout(arr.to_pylist())
    assert got.cp.tolist() == cp and got.off.tolist() == off
    back = from_codepoints(got).to_pylist()
    assert back == [v or None for v in arr.to_pylist()]
    assert hash_strings(got).tolist() == [naive_hash(v) for v in arr.to_pylist()]


def test_layout_from_an_offset_start():
    cps = to_codepoints(["ab", "𠮷田", "c"])
    tail = Codepoints(cps.cp, cps.off[1:])  # strings 1.. of the same buffer
    assert from_codepoints(tail).to_pylist() == ["𠮷田", "c"]


@settings(max_examples=300)
@given(st.lists(st.one_of(st.none(), st.text(alphabet="0123456789A１", max_size=13)), max_size=30))
def test_scan_numbers_twin(values):
    kind, num = scan_numbers(pa.array(values, pa.string()))
    want = [naive_number_kind(v) for v in values]
    assert kind.tolist() == [k for k, _ in want] and num.tolist() == [n for _, n in want]


@settings(max_examples=300)
@given(st.lists(st.one_of(st.none(), st.text(alphabet="AZaz09Ａ", max_size=13)), max_size=30))
def test_card_numbers_twin(values):
    import re

    want = [v is not None and re.fullmatch(r"[A-Z]{2}[0-9]{8}[A-Z]{2}", v) is not None for v in values]
    assert valid_card_numbers(pa.array(values, pa.string())).tolist() == want


@given(st.lists(st.text(max_size=4), max_size=8), st.lists(st.integers(0, 7), max_size=12))
def test_take_codepoints_twin(values, rows):
    from jukimatch.engine.text import take_codepoints

    rows = [r for r in rows if r < len(values)]
    got = take_codepoints(to_codepoints(values), np.array(rows, np.int64))
    assert [got.get(i) for i in range(len(got))] == [values[r] for r in rows]
    assert got.cp.dtype == np.uint32 and got.off.dtype == np.int64
