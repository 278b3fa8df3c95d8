"""The person_id index against a dict: repeats and first-occurrence positions, exactly."""
import pyarrow as pa
from hypothesis import given, settings, strategies as st

from jukimatch.engine.validate.keys import index_keys
from tests.naive.validate import naive_key_positions

ids = st.one_of(st.none(), st.sampled_from(["", "0001", "0002", "00010", "ｱ", "名前", "a b", "0001 "]),
                st.text(max_size=6))


@settings(max_examples=300)
@given(st.lists(ids, max_size=60), st.lists(ids, max_size=60), st.integers(1, 4))
def test_index_matches_dict(keys, values, chunks):
    step = max(1, len(keys) // chunks)
    col = pa.chunked_array([pa.array(keys[i:i + step], pa.string()) for i in range(0, len(keys), step)] or
                           [pa.array([], pa.string())])
    index = index_keys(col)
    repeated, pos = naive_key_positions(keys, values)
    assert index.repeated().tolist() == repeated
    assert index.positions(pa.array(values, pa.string())).tolist() == pos


def test_sliced_and_large_string_inputs():
    keys = pa.array(["x", "y", "z", "y", None, "w"], pa.large_string()).slice(1)
    index = index_keys(keys)
    assert index.repeated().tolist() == [True, False, True, False, False]
    assert index.positions(pa.array(["w", "y", None, "q"]).slice(0)).tolist() == [4, 0, -1, -1]


@given(st.lists(ids, max_size=60), st.lists(st.integers(0, 3), max_size=60))
def test_values_in_key_order_take_the_walk(keys, repeats):
    # answers in inquiry order, some persons answered 0..3 times: the walk's path
    values = [k for k, r in zip(keys, repeats + [1] * len(keys)) for _ in range(r)]
    _, pos = naive_key_positions(keys, values)
    assert index_keys(pa.array(keys, pa.string())).positions(pa.array(values, pa.string())).tolist() == pos
