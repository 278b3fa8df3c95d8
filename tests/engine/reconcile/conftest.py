"""Planted data for the partitioned backends (Dask, and local in turn): a generated population
plus number conflicts whose persons sit in different partitions, and its local-backend outputs."""
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from jukimatch.api import generate, reconcile
from jukimatch.engine.reconcile.partition import partition_of

from tests.engine.reconcile.planted import N, PARTS


def _write(tables: dict, root):
    root.mkdir(parents=True, exist_ok=True)
    for k, t in tables.items():
        pq.write_table(t, root / f"{k}.parquet")
    return root / "residents.parquet", root / "responses.parquet"


@pytest.fixture(scope="session")
def data(tmp_path_factory):
    """A generated population plus planted conflicts whose persons sit in different partitions."""
    root = tmp_path_factory.mktemp("scale")
    made = generate(N, root / "gen", seed=5)
    R = pq.read_table(made["paths"]["residents"])
    S = pq.read_table(made["paths"]["responses"])
    first = reconcile(made["paths"]["residents"], made["paths"]["responses"], root / "first", report=False)
    assert first["decisions"]["match"] > N // 2
    d = pq.read_table(root / "first" / "decisions.parquet")
    matched = [p for p, dec, held in zip(d["person_id"].to_pylist(), d["decision"].to_pylist(),
                                         R["my_number"].to_pylist()) if dec == "match" and held is None]
    part = dict(zip(matched, partition_of(pa.array(matched), PARTS).tolist()))
    # four matched persons, a/b and c/d in different partitions
    a = matched[0]
    b = next(p for p in matched if part[p] != part[a])
    c = next(p for p in matched if p not in (a, b) and part[p] != part[a])
    dd = next(p for p in matched if p not in (a, b, c) and part[p] != part[c])
    found = pc.equal(S["status"], "found")
    resp_num = {}
    for pid, st, num in zip(S["person_id"].to_pylist(), S["status"].to_pylist(), S["my_number"].to_pylist()):
        if st == "found" and pid in (a, b, c, dd):
            resp_num.setdefault(pid, num)
    shared = resp_num[a]
    held = resp_num[c]
    nums = S["my_number"].to_pylist()
    for i, (pid, f) in enumerate(zip(S["person_id"].to_pylist(), found.to_pylist())):
        if f and pid == b:
            nums[i] = shared  # b's answer carries a's number: given to two persons
        if f and pid == dd:
            nums[i] = held  # d's answer carries the number c already holds
    S = S.set_column(S.column_names.index("my_number"), "my_number", pa.array(nums, pa.string()))
    held_col = R["my_number"].to_pylist()
    held_col[R["person_id"].to_pylist().index(c)] = held
    R = R.set_column(R.column_names.index("my_number"), "my_number", pa.array(held_col, pa.string()))
    paths = _write({"residents": R, "responses": S}, root / "planted")
    return root, paths, {"a": a, "b": b, "c": c, "d": dd}


@pytest.fixture(scope="session")
def local(data):
    root, (res, resp), _ = data
    out = root / "local"
    summary = reconcile(res, resp, out, chunk_rows=700, report=False)
    return out, summary
