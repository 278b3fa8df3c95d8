"""Parts back into one run: rows merged into input order."""
import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jukimatch.engine.reconcile.merge import merged_blocks


def test_merged_blocks_put_rows_in_key_order_and_refuse_a_lost_or_doubled_key():
    """Parts whose keys together are 0..n-1 (each ascending) come back in key order, block by
    block, the key dropped; a key missing or held twice fails the merge."""
    @settings(max_examples=60, deadline=None)
    @given(st.lists(st.integers(0, 3), max_size=40), st.integers(1, 7))
    def check(owner, block):
        n = len(owner)
        owner = np.array(owner, dtype=np.int64)
        parts = [pa.table({"__k": np.flatnonzero(owner == p), "v": [f"r{i}" for i in np.flatnonzero(owner == p)]})
                 for p in range(4)]
        blocks = list(merged_blocks(parts, "__k", n, block=block))
        assert [b.num_rows for b in blocks] == [min(block, n - a) for a in range(0, n, block)]
        got = pa.concat_tables(blocks).column("v").to_pylist() if blocks else []
        assert got == [f"r{i}" for i in range(n)]

    check()
    doubled = [pa.table({"__k": [0, 1], "v": ["a", "b"]}), pa.table({"__k": [1], "v": ["c"]})]
    with pytest.raises(RuntimeError, match="rows lost"):
        list(merged_blocks(doubled, "__k", 3))
    missing = [pa.table({"__k": [0, 2], "v": ["a", "b"]})]
    with pytest.raises(RuntimeError, match="rows lost"):
        list(merged_blocks(missing, "__k", 3))


def test_a_row_lost_on_the_way_to_the_decisions_file_fails_the_write(tmp_path):
    """The decisions are counted as they stream (on the thread that merges them) and a count
    short of the residents fails the write before the file is in place."""
    from jukimatch.engine.files.crypt import write_parquet
    from jukimatch.engine.reconcile.common import _Kept
    from jukimatch.engine.runtime import one_ahead

    t = pa.table({"decision": ["match", "review"], "candidates": [1, 2]})
    kept = _Kept()
    with pytest.raises(RuntimeError, match="rows lost: 3 residents in, 2 decisions out"):
        write_parquet(one_ahead(kept.keep(iter([t]), 3)), tmp_path / "d.parquet", None, schema=t.schema)
    assert not (tmp_path / "d.parquet").exists()
    kept = _Kept()
    write_parquet(one_ahead(kept.keep(iter([t]), 2)), tmp_path / "d.parquet", None, schema=t.schema)
    assert kept.rows == 2 and kept.codes.tolist() == [0, 1] and kept.candidates.tolist() == [1, 2]


def test_the_decisions_write_checks_its_rows_against_a_count_of_its_own(tmp_path):
    """``DecisionsWrite`` is told how many residents came in, apart from the decision rows it
    writes: rows short of that fail the write before the file is in place."""
    from pathlib import Path

    from jukimatch.engine.io import InputTable
    from jukimatch.engine.reconcile.common import DecisionsWrite
    from jukimatch.engine.reconcile.tables import malformed_decisions

    schema = malformed_decisions(0).schema
    rows = {"person_id": ["a", "b"], "decision": ["match", "review"], "my_number": [None, None],
            "match_probability": [0.5, 0.5], "match_weight": [1.0, 1.0], "candidates": [1, 2],
            "reasons": [[], []], "wrong_number_risk": [0.5, 0.5]}
    part = pa.table(rows, schema=schema).append_column("__g", pa.array([0, 1], pa.int64()))
    r_in = InputTable(pa.table({}), [], Path("r.csv"))
    short = DecisionsWrite(tmp_path, None, [part], r_in, 3)
    with pytest.raises(RuntimeError, match="rows lost"):
        short.result()
    short.close()
    assert not (tmp_path / "decisions.parquet").exists()
    whole = DecisionsWrite(tmp_path, None, [part], r_in, 2)
    assert whole.result() == tmp_path / "decisions.parquet"
    whole.close()
    assert whole.kept.rows == 2 and whole.kept.codes.tolist() == [0, 1]
