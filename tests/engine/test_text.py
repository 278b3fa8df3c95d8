"""The layout kernels (UTF-8 decode, byte offsets, hashing) and the number/card scanners
against plain-Python twins."""
import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings, strategies as st

from jukimatch.engine.text import Codepoints, from_codepoints, hash_strings, hash_texts, to_codepoints
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
    assert hash_texts(arr).tolist() == [naive_hash(v) for v in arr.to_pylist()]  # straight from UTF-8


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


@given(st.lists(st.text(max_size=4), max_size=8), st.lists(st.text(max_size=4), max_size=8),
       st.lists(st.integers(-8, 7), max_size=12))
def test_take_codepoints_from_two_twin(values, others, rows):
    """Negative rows take from the other layout: as if it were concatenated after."""
    from jukimatch.engine.text import take_codepoints

    rows = [r for r in rows if -len(others) <= r < len(values)]
    got = take_codepoints(to_codepoints(values), np.array(rows, np.int64), other=to_codepoints(others))
    assert [got.get(i) for i in range(len(got))] == [values[r] if r >= 0 else others[-1 - r] for r in rows]
    with pytest.raises(IndexError):
        take_codepoints(to_codepoints(values), np.array([-1 - len(others)], np.int64), other=to_codepoints(others))


@settings(max_examples=100)
@given(st.lists(st.lists(st.one_of(st.none(), st.text(max_size=4)), max_size=5), max_size=5), st.data())
def test_take_rows_chunk_by_chunk_twin(chunks, data):
    """take_rows over a chunked column equals plain indexing, nulls where not valid, both
    chunk by chunk and (a large share of the rows) by Arrow's own take."""
    import jukimatch.engine.text as text

    col = pa.chunked_array([pa.array(c, pa.string()) for c in chunks], pa.string())
    flat = [v for c in chunks for v in c]
    rows = data.draw(st.lists(st.integers(0, max(0, len(flat) - 1)), max_size=12)) if flat else []
    valid = data.draw(st.lists(st.booleans(), min_size=len(rows), max_size=len(rows)))
    share = text._WHOLE_SHARE
    try:
        for text._WHOLE_SHARE in (0, 10**9):  # chunk by chunk; Arrow's take
            assert text.take_rows(col, np.array(rows, np.int64)).to_pylist() == [flat[r] for r in rows]
            got = text.take_rows(col, np.array(rows, np.int64), np.array(valid, bool)).to_pylist()
            assert got == [flat[r] if ok else None for r, ok in zip(rows, valid)]
            if flat:
                with pytest.raises((IndexError, pa.ArrowIndexError)):
                    text.take_rows(col, np.array([len(flat)], np.int64))
    finally:
        text._WHOLE_SHARE = share
