import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, strategies as st

from jukimatch.engine.validate import rows


def test_space_table_is_arrows():
    every = pa.array([chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000], pa.string())
    codes = np.array([c for c in range(0x110000) if not 0xD800 <= c < 0xE000])
    assert sorted(codes[pc.utf8_is_space(every).to_numpy(zero_copy_only=False)].tolist()) == sorted(rows.SPACES)


_TEXT = st.text(st.sampled_from(list(" \t\n\u3000\u00a0\u2028\x1c\x85ab田\U00020000")), max_size=5)


@given(st.lists(_TEXT | st.none(), max_size=10), st.integers(0, 3), st.booleans())
def test_present_matches_arrow(values, start, chunked):
    col = pa.array(values, pa.string()).slice(min(start, len(values)))
    if chunked and len(col) > 1:
        col = pa.chunked_array([col.slice(0, 1), col.slice(1)])
    want = pc.fill_null(pc.and_not(pc.greater(pc.utf8_length(col), 0), pc.utf8_is_space(col)), False)
    assert rows._present(col).tolist() == want.to_pylist()
