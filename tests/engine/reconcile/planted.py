"""What the tests of the partitioned backends share: sizes and the output comparison."""
import pyarrow.parquet as pq

N = 2_500
PARTS = 3
OUTPUTS = ("decisions", "review", "pending", "rejected")


def same_outputs(x, y):
    """Every output table of two runs equal (``Table.equals``), and the same model."""
    for name in OUTPUTS:
        a, b = pq.read_table(x / f"{name}.parquet"), pq.read_table(y / f"{name}.parquet")
        assert a.equals(b), name
    assert (x / "model.json").read_text() == (y / "model.json").read_text()
