"""CSV output: all text, leading zeros kept, CP932 round-trips by its documented rules."""
import pyarrow as pa
import pytest

from jukimatch.datasets import cp932_safe, make_population, read_table, write_population


@pytest.fixture(scope="module")
def tables():
    return make_population(5000, seed=9)


def _rows(table):
    return [{k: (v if v is not None else "") for k, v in r.items()} for r in table.to_pylist()]


def test_utf8_csv_round_trips_exactly(tables, tmp_path):
    paths = write_population(tables, tmp_path, fmt="csv")
    for name, table in tables.items():
        back = read_table(paths[name])
        assert back.column_names == table.column_names
        assert all(f.type == pa.string() for f in back.schema)
        assert _rows(back) == _rows(table), name


def test_leading_zeros_survive_csv(tables, tmp_path):
    paths = write_population(tables, tmp_path, fmt="csv")
    back = read_table(paths["truth"])
    numbers = [v for v in back["true_my_number"].to_pylist() if v]
    assert any(v.startswith("0") for v in numbers)
    assert all(len(v) == 12 for v in numbers)
    ids = back["person_id"].to_pylist()
    assert any(i.startswith("0") for i in ids) and all(len(i) == 10 for i in ids)


def test_cp932_round_trips_by_its_rules(tables, tmp_path):
    subs = {}
    paths = write_population(tables, tmp_path, fmt="csv", encoding="cp932", substitutions=subs)
    raw = paths["residents"].read_bytes()
    raw.decode("cp932")  # really CP932
    assert b"?" not in raw
    for name, table in tables.items():
        back = read_table(paths[name], encoding="cp932")
        want = [{k: cp932_safe(v) for k, v in r.items()} for r in _rows(table)]
        assert _rows(back) == want, name
    assert subs["truth"] == 0 and subs["copies"] == 0


def test_cp932_substitutions_are_deliberate():
    assert cp932_safe("𠮷田 花子") == "吉田 花子"
    assert cp932_safe("张 伟") == "張 伟".replace("伟", cp932_safe("伟"))
    assert cp932_safe("张") == "張" and cp932_safe("刘") == "劉"
    assert cp932_safe("1−2−3") == "1－2－3"
    assert cp932_safe("ゔぁ") == "ヴぁ"
    assert cp932_safe("髙橋 﨑 濵 齋 邊") == "髙橋 﨑 濵 齋 邊"  # in CP932 already: kept
    assert cp932_safe("\ue000") == "\ue000"  # the user-defined area round-trips
    assert cp932_safe("婷") == "\u3013"  # nothing better exists: the geta mark, never '?'


def test_bad_arguments(tables, tmp_path):
    with pytest.raises(ValueError):
        write_population(tables, tmp_path, fmt="xlsx")
    with pytest.raises(ValueError):
        write_population(tables, tmp_path, fmt="csv", encoding="latin-1")
    with pytest.raises(ValueError):
        write_population(tables, tmp_path, fmt="parquet", encoding="cp932")
