"""Reading residents files: Parquet, CSV in UTF-8 and CSV in CP932, reported per GB of file.

The table is the seeded synthetic residents table (contract columns, all text) with one row
per micro-benchmark value; ``read_table`` reads it as the pipeline does (all columns text,
``__row`` added, encoding detected for CSV). Per GB of file and per GB of decoded text (the
Arrow table's size), since a Parquet file is compressed. Characters CP932 lacks (Ø, Ñ, É) become ``?``
in the CP932 file.
"""
from __future__ import annotations

import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

from jukimatch.bench import samples
from jukimatch.bench.micro import per_million
from jukimatch.engine.io import read_table


@pytest.fixture(scope="module")
def files(tmp_path_factory, n_values):
    folder = tmp_path_factory.mktemp("io")
    table = samples.residents_table(n_values)
    paths = {"parquet": folder / "residents.parquet", "csv-utf8": folder / "residents.csv",
             "csv-cp932": folder / "residents-cp932.csv"}
    pq.write_table(table, paths["parquet"])
    pcsv.write_csv(table, paths["csv-utf8"])
    text = paths["csv-utf8"].read_bytes().decode("utf-8")
    paths["csv-cp932"].write_bytes(text.encode("cp932", errors="replace"))
    return paths, table.num_rows, table.nbytes


@pytest.mark.benchmark(group="read residents, per GB of file")
@pytest.mark.parametrize("kind", ["parquet", "csv-utf8", "csv-cp932"])
def test_read_table(benchmark, files, kind):
    paths, rows, text_bytes = files
    path = paths[kind]
    out = benchmark.pedantic(read_table, args=(path, "residents"), rounds=3, iterations=1, warmup_rounds=1)
    assert out.table.num_rows == rows
    size = path.stat().st_size
    med = benchmark.stats.stats.median
    per_million(benchmark, rows, file_bytes=size, s_per_gb=med / (size / 1e9), mb_per_s=size / 1e6 / med,
                text_bytes=text_bytes, s_per_gb_of_text=med / (text_bytes / 1e9))
