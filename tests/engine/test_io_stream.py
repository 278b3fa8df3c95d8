"""The streaming reader (a run taken in turn) reads exactly what the whole reader reads, and
the memory planner asks for partitions only when the whole input would not fit."""
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jukimatch.engine import io
from jukimatch.engine.io import ROW_COLUMN, InputError, TableStream, read_table, record_numbers

FIELD = st.sampled_from(["", "a", "ｱｲ", "山田 太郎", "x,y", 'say "hi"', "line\nbreak", " "])


def _csv_cell(v: str) -> str:
    return '"' + v.replace('"', '""') + '"' if any(c in v for c in ',"\n') else v


def _streamed(path, kind):
    stream = TableStream(path, kind)
    while True:
        try:
            tables = list(stream)
            break
        except TableStream.Restart:
            continue
    table = pa.concat_tables(tables) if tables else None
    return table, stream.malformed


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(FIELD, FIELD, FIELD, st.booleans()), min_size=1, max_size=40))
def test_stream_reads_a_csv_like_the_whole_reader(tmp_path, rows):
    path = tmp_path / "r.csv"
    lines = ["person_id,status,name_alpha"]
    for i, (a, b, c, bad) in enumerate(rows):
        cells = [f"P{i}", _csv_cell(a), _csv_cell(b)] + ([_csv_cell(c)] if bad else [])
        lines.append(",".join(cells))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    whole = read_table(path, "responses")
    table, malformed = _streamed(path, "responses")
    rows_, bad = record_numbers(0 if table is None else table.num_rows, malformed)
    assert bad == whole.malformed
    if table is None:
        assert whole.table.num_rows == 0
        return
    assert table.append_column(ROW_COLUMN, pa.array(rows_)).equals(whole.table.combine_chunks())


def test_stream_reads_parquet_like_the_whole_reader(tmp_path):
    path = tmp_path / "r.parquet"
    n = 3_000
    pq.write_table(pa.table({
        "person_id": [f"P{i}" for i in range(n)],
        "birth_date": pa.array([None if i % 5 == 0 else "1990-01-02" for i in range(n)]),
        "sex": pa.array([i % 3 for i in range(n)], pa.int8()),
        "name_alpha": pa.array(["" if i % 4 == 0 else f"N{i}" for i in range(n)]).dictionary_encode(),
    }), path, row_group_size=700)
    whole = read_table(path, "residents")
    table, malformed = _streamed(path, "residents")
    assert malformed == [] and table.num_rows == n
    assert table.append_column(ROW_COLUMN, pa.array(np.arange(1, n + 1))).equals(whole.table.combine_chunks())


def test_stream_refuses_what_the_whole_reader_refuses(tmp_path):
    bad = tmp_path / "r.parquet"
    pq.write_table(pa.table({"person_id": ["a"], "weight": [1.5]}), bad)
    with pytest.raises(InputError, match="weight: type double is not text"):
        list(TableStream(bad, "residents"))
    missing = tmp_path / "s.csv"
    missing.write_text("person_id,my_number\nP1,1\n")
    with pytest.raises(InputError, match="column status: required column missing"):
        list(TableStream(missing, "responses"))


def test_partitions_only_when_the_whole_would_not_fit(tmp_path, monkeypatch):
    path = tmp_path / "r.parquet"
    pq.write_table(pa.table({"person_id": [f"P{i}" for i in range(5_000)]}), path)
    assert io.estimate_rows(path) == 5_000
    csv = tmp_path / "r.csv"
    csv.write_text("person_id,name_alpha\n" + "".join(f"P{i:06d},NAME{i:06d}\n" for i in range(20_000)))
    assert 19_000 < io.estimate_rows(csv) < 21_000
    monkeypatch.setattr(io, "memory_available", lambda: 1 << 40)
    assert io.partitions_for(path) == 1
    monkeypatch.setattr(io, "memory_available", lambda: None)
    assert io.partitions_for(path) == 1  # nothing known: the whole input, as always
    monkeypatch.setattr(io, "memory_available", lambda: 1 << 20)  # 1 MiB: nothing fits
    monkeypatch.setattr(io, "ROWS_PER_TURN", 2_000)
    assert io.partitions_for(path) == 3
