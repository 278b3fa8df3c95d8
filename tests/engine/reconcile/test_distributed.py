"""The Dask backend decides exactly like the local one: global u plan and EM, and the number
rules across hash partitions (a number given to two persons, a number held by another)."""
import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jukimatch.api import generate, reconcile
from jukimatch.engine.reconcile.chunks import PartPlan, plan_u_sample
from jukimatch.engine.reconcile.decide import REASON_CODES, Pairs, Persons, Thresholds, choose, decide
from jukimatch.engine.reconcile.partition import bucket_report, localize_plan, partition_of, resolve_numbers, split_rows
from jukimatch.engine.reconcile.score import decide_with_phantoms, number_report
from jukimatch.engine.validate.checkdigit import numbers_from_bodies

from tests.engine.reconcile.planted import PARTS, same_outputs as _same_outputs

pytest.importorskip("dask.distributed")
pytestmark = pytest.mark.timeout(240)  # a cluster that hangs fails the test, never the suite


@pytest.fixture(scope="module")
def cluster():
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                      env={"NUMBA_NUM_THREADS": "1"}) as c:
        yield c.scheduler_address


@pytest.fixture(scope="module")
def dask_run(data, cluster):
    """The planted data on the module's cluster, once for the tests that read it."""
    root, (res, resp), _ = data
    out = root / "dask"
    summary = reconcile(res, resp, out, chunk_rows=700, report=False, backend="dask", scheduler=cluster,
                        partitions=PARTS)
    return out, summary


def test_dask_decides_exactly_like_local(local, dask_run):
    out, summary = dask_run
    _same_outputs(local[0], out)
    assert summary["run"]["partitions"] == PARTS and summary["run"]["backend"] == "dask"
    assert summary["decisions"] == local[1]["decisions"] and summary["reasons"] == local[1]["reasons"]
    assert summary["rows"] == local[1]["rows"] and summary["rows"]["conserved"]
    # the global fit: one EM on the summed pattern counts, the u sample planned over all rows
    assert summary["model"] == local[1]["model"]
    assert summary["model"]["info"]["pairs"] == summary["rows"]["responses_compared"]
    assert summary["model"]["info"]["u_sample_pairs"] > 0


def test_conflicts_across_partitions_are_caught(data, local, dask_run):
    _, _, who = data
    parts = dict(zip(who.values(), partition_of(pa.array(list(who.values())), PARTS).tolist()))
    assert parts[who["a"]] != parts[who["b"]] and parts[who["c"]] != parts[who["d"]]
    for where in (local[0], dask_run[0]):
        d = {r["person_id"]: r for r in pq.read_table(where / "decisions.parquet").to_pylist()}
        for p in ("a", "b"):
            assert d[who[p]]["decision"] == "review" and "number_shared" in d[who[p]]["reasons"], (where, p)
        assert d[who["d"]]["decision"] == "review" and "held_by_other" in d[who["d"]]["reasons"]
        assert d[who["c"]]["decision"] == "review" and "number_shared" in d[who["c"]]["reasons"]


def test_local_cluster_started_by_the_run_with_report(data, local, tmp_path):
    _, (res, resp), _ = data
    summary = reconcile(res, resp, tmp_path, chunk_rows=700, backend="dask", dask_workers=2)
    _same_outputs(local[0], tmp_path)
    assert summary["run"]["workers"] == 2 and summary["run"]["partitions"] == 4
    assert (tmp_path / "report.html").exists()
    assert json.loads((tmp_path / "summary.json").read_text())["decisions"] == local[1]["decisions"]


def test_u_plan_is_the_same_whatever_the_partitioning():
    rng = np.random.default_rng(3)
    counts = rng.integers(0, 4, size=5_000)
    plan = plan_u_sample(counts, step=600, u_sample=3_000)
    assert len(plan.res) > 2_000
    ends = np.cumsum(counts)
    owner = np.searchsorted(ends, plan.pair, side="right")
    assert (owner != plan.res).all()  # pairs of different persons only
    part = rng.integers(0, 4, size=5_000)
    rows = split_rows(part, 4)
    local = localize_plan(plan, counts, part, rows)
    whole = PartPlan.whole(plan)
    # every sample pair has exactly one resident side and one pair side across the partitions
    assert sorted(np.concatenate([p.res_k for p in local]).tolist()) == sorted(whole.res_k.tolist())
    assert sorted(np.concatenate([p.pair_k for p in local]).tolist()) == sorted(whole.pair_k.tolist())
    for p, lp in enumerate(local):
        assert (rows[p][lp.res_row] == plan.res[lp.res_k]).all()
        local_ends = np.cumsum(counts[rows[p]])
        local_owner = np.searchsorted(local_ends, lp.pair_idx, side="right")
        assert (rows[p][local_owner] == owner[lp.pair_k]).all()


def _random_case(rng, n):
    """Persons with candidates drawn from a small pool of numbers: many collisions."""
    pool = numbers_from_bodies(rng.integers(10**10, 10**11, size=12))
    k = rng.integers(0, 3, size=n)
    person = np.repeat(np.arange(n), k)
    m = len(person)
    pairs = Pairs(person=person, weight=rng.choice([-20.0, 0.0, 5.0, 30.0, 40.0], size=m),
                  number=rng.choice(pool, size=m), number_ok=rng.random(m) > 0.1,
                  sex_level=rng.integers(-1, 2, size=m).astype(np.int8), date_level=np.full(m, 5, np.int8),
                  gaiji=np.zeros(m, bool), name_full=np.ones(m, bool), name_conflict=np.zeros(m, bool),
                  address_level=np.full(m, 4, np.int8))
    held = np.where(rng.random(n) < 0.3, rng.choice(pool, size=n), -1)
    persons = Persons(rejected=rng.random(n) < 0.05, answered=rng.random(n) < 0.95,
                      response_invalid=np.zeros(n, bool), held_number=np.where(rng.random(n) < 0.95, held, -1))
    return pairs, persons


def _subset(pairs, persons, rows):
    pos = np.full(len(persons.rejected), -1)
    pos[rows] = np.arange(len(rows))
    keep = np.flatnonzero(np.isin(pairs.person, rows))
    def cut(x, idx):
        return None if x is None else x[idx]

    sub_pairs = Pairs(**{f: (pos[pairs.person[keep]] if f == "person" else cut(getattr(pairs, f), keep))
                         for f in pairs.__dataclass_fields__})
    sub_persons = Persons(**{f: cut(getattr(persons, f), rows) for f in persons.__dataclass_fields__})
    return sub_pairs, sub_persons


@pytest.mark.parametrize("seed", range(12))
def test_stand_ins_make_partitioned_number_rules_exact(seed):
    rng = np.random.default_rng(seed)
    n, n_parts = 60, int(rng.integers(2, 5))
    pairs, persons = _random_case(rng, n)
    th = Thresholds()
    whole = decide(pairs, persons, th)
    part = rng.integers(0, n_parts, size=n)
    rows = split_rows(part, n_parts)
    subs = [_subset(pairs, persons, r) for r in rows]
    reports = [number_report(sp, sq, choose(sq, sp), th) for sq, sp in subs]  # as the first pass reports
    for (sq, sp), rep in zip(subs, reports):  # what decide would judge, without its rules
        assert all(np.array_equal(a, b) for a, b in zip(rep, number_report(sp, sq, decide(sq, sp, th), th)))
    stand_ins = resolve_numbers(reports)
    naive_differs = False
    for p, (sq, sp) in enumerate(subs):
        d = decide_with_phantoms(sq, sp, th, stand_ins[p])
        assert (d.decision == whole.decision[rows[p]]).all()
        assert (d.reason_mask == whole.reason_mask[rows[p]]).all(), [REASON_CODES[j] for j in
                                                                     np.flatnonzero((d.reason_mask != whole.reason_mask[rows[p]]).any(0))]
        naive_differs |= bool((decide(sq, sp, th).reason_mask != whole.reason_mask[rows[p]]).any())
    if seed == 0:
        assert naive_differs  # the case does exercise conflicts that cross partitions


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10**12 - 1), st.booleans()), max_size=40),
       st.lists(st.integers(0, 10**12 - 1), max_size=40), st.integers(1, 12))
def test_bucket_report_keeps_each_buckets_events_in_order(chosen, held, n_buckets):
    """Each bucket holds exactly the report's events whose number falls in it, in the report's order."""
    c = np.array([x for x, _ in chosen], np.int64)
    h = np.array([x for _, x in chosen], bool)
    k = np.array(held, np.int64)
    got = bucket_report((c, h, k), n_buckets)
    assert len(got) == n_buckets
    for b, (gc, gh, gk) in enumerate(got):
        assert gc.tolist() == [x for x, _ in chosen if x % n_buckets == b]
        assert gh.tolist() == [y for x, y in chosen if x % n_buckets == b]
        assert gk.tolist() == [x for x in held if x % n_buckets == b]
