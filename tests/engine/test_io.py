"""Reading inputs: formats, encodings, all-text columns, unusable files, malformed rows."""
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from jukimatch.engine.io import InputError, detect_encoding, read_table

HEADER = "person_id,name_alpha,name_kanji,birth_date,sex,my_number\n"
ROWS = "0001,NGUYEN VAN AN,,1980-07-00,1,012345678901\n0002,,髙橋 花子,1990-01-02,2,\n"


@pytest.mark.parametrize("encoding, bom", [("utf-8", False), ("utf-8", True), ("cp932", False)])
def test_csv_encodings_detected(tmp_path, encoding, bom):
    path = tmp_path / "r.csv"
    data = (HEADER + ROWS).encode(encoding)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    t = read_table(path, "residents").table
    assert t.column_names[0] == "person_id"
    assert t.column("person_id").to_pylist() == ["0001", "0002"]
    assert t.column("name_kanji").to_pylist() == [None, "髙橋 花子"]
    assert t.column("my_number").to_pylist() == ["012345678901", None]
    assert t.column("__row").to_pylist() == [1, 2]
    assert all(pa.types.is_string(t.column(c).type) for c in t.column_names if c != "__row")


def test_forced_encoding(tmp_path):
    path = tmp_path / "r.csv"
    path.write_bytes((HEADER + ROWS).encode("cp932"))
    assert detect_encoding(path) == "cp932"
    assert read_table(path, "residents", encoding="cp932").table.num_rows == 2


def test_parquet_numbers_stay_text(tmp_path):
    path = tmp_path / "r.parquet"
    pq.write_table(pa.table({"person_id": ["007"], "name_alpha": ["A B"], "extra": [5]}), path)
    t = read_table(path, "residents").table
    assert t.column("person_id").to_pylist() == ["007"]
    assert t.column("extra").to_pylist() == ["5"]  # unknown extra columns carried through
    assert "my_number" in t.column_names  # absent optional columns exist as nulls


def test_empty_means_null(tmp_path):
    path = tmp_path / "r.parquet"
    pq.write_table(pa.table({"person_id": ["1"], "name_alpha": [""], "name_kana": ["ア"]}), path)
    assert read_table(path, "residents").table.column("name_alpha").to_pylist() == [None]


def test_csv_empty_and_quoted_empty_mean_null(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text('person_id,name_alpha,name_kana,address\n1,"",,\n2," ",ア,""\n', encoding="utf-8")
    t = read_table(path, "residents").table
    assert t.column("name_alpha").to_pylist() == [None, " "]
    assert t.column("name_kana").to_pylist() == [None, "ア"]
    assert t.column("address").to_pylist() == [None, None]


@pytest.mark.parametrize("content, kind, message", [
    ("name_alpha\nA\n", "residents", "column person_id: required column missing"),
    ("person_id,sex\n1,1\n", "residents", "column name_alpha: no name column"),
    ("person_id,my_number\n1,1\n", "responses", "column status: required column missing"),
    ("", "residents", "empty file"),
    ("person_id,person_id,name_alpha\n1,2,A\n", "residents", "appears twice"),
])
def test_unusable_files_name_file_and_column(tmp_path, content, kind, message):
    path = tmp_path / "x.csv"
    path.write_text(content)
    with pytest.raises(InputError, match=message) as exc:
        read_table(path, kind)
    assert str(path) in str(exc.value) and "\n" not in str(exc.value)


def test_missing_and_unknown_format(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_table(tmp_path / "nope.csv", "residents")
    (tmp_path / "x.xlsx").write_text("x")
    with pytest.raises(InputError, match="unknown format"):
        read_table(tmp_path / "x.xlsx", "residents")


def test_malformed_rows_are_returned_with_their_record_numbers(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("person_id,name_alpha,sex\n1,A,1\n2,B\n3,C,1,extra\n4,D,2\n")
    got = read_table(path, "residents")
    assert got.table.column("person_id").to_pylist() == ["1", "4"]
    assert got.table.column("__row").to_pylist() == [1, 4]
    assert [r for r, _ in got.malformed] == [2, 3]


def test_prefetched_read_is_the_same_read(tmp_path):
    """``prefetch`` reads in a thread; the next ``read_table`` of that file takes the result."""
    from jukimatch.engine.io import prefetch

    path = tmp_path / "r.csv"
    path.write_text(HEADER + ROWS, encoding="utf-8")
    direct = read_table(path, "residents")
    prefetch(path, "residents")
    taken = read_table(path, "residents")
    assert taken.table.equals(direct.table) and taken.malformed == direct.malformed and taken.path == direct.path
    assert read_table(path, "residents").table.equals(direct.table)  # taken once; then read again


def test_prefetched_error_is_raised_by_the_read(tmp_path):
    from jukimatch.engine.io import prefetch

    path = tmp_path / "r.csv"
    path.write_text("person_id,sex\n1,1\n", encoding="utf-8")
    prefetch(path, "residents")
    with pytest.raises(InputError, match="no name column"):
        read_table(path, "residents")
    prefetch(tmp_path / "absent.csv", "responses")
    with pytest.raises(InputError, match="no such file"):
        read_table(tmp_path / "absent.csv", "responses")


def test_a_file_changed_after_prefetch_is_read_again(tmp_path):
    from jukimatch.engine.io import prefetch

    path = tmp_path / "r.csv"
    path.write_text(HEADER + ROWS, encoding="utf-8")
    prefetch(path, "residents", encoding="utf-8")
    path.write_text(HEADER + ROWS + "0003,X Y,,2000-01-01,1,\n", encoding="utf-8")
    assert read_table(path, "residents", encoding="utf-8").table.num_rows == 3
    assert read_table(path, "residents").table.num_rows == 3  # another encoding: never the prefetched one
