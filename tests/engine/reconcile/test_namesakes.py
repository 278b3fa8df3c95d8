"""Namesakes and duplicate records through the whole reconciliation, on generated files."""
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from jukimatch.api import reconcile
from jukimatch.datasets import make_population
from jukimatch.datasets.score import score
from jukimatch.engine.validate.checkdigit import check_digits

N = 2_000


def _write(tables, folder):
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("residents", "responses"):
        pq.write_table(tables[name], folder / f"{name}.parquet")
    return folder / "residents.parquet", folder / "responses.parquet"


@pytest.fixture(scope="module")
def double_entries(tmp_path_factory):
    tables = make_population(N, seed=5, profile="double_entries")
    root = tmp_path_factory.mktemp("double")
    res, resp = _write(tables, root / "data")
    summary = reconcile(res, resp, root / "out", report=False)
    return tables, root / "out", summary


def test_every_duplicate_record_and_namesake_twin_goes_to_review(double_entries):
    """...unless Juki-net's answers told the twins apart: each matched to their own number."""
    tables, out, summary = double_entries
    s = score(pq.read_table(out / "decisions.parquet"), tables["truth"])
    assert s["duplicates_total"] > 0 and s["duplicates_flagged"] == s["duplicates_total"]
    assert s["twins_total"] > 0 and s["twins_flagged"] + s["twins_told_apart"] == s["twins_total"]
    assert s["twins_flagged"] > 0 and s["twins_told_apart"] > 0  # both happen in this profile
    assert s["wrong_numbers"] == 0 and s["numbers_to_two_persons"] == 0
    assert summary["reasons"].get("duplicate_record", 0) + summary["reasons"].get("namesake_twin", 0) > 0


def test_the_review_queue_names_the_other_row(double_entries):
    tables, out, _ = double_entries
    truth = tables["truth"]
    review = pq.read_table(out / "review.parquet", columns=["person_id", "reasons", "related_person_ids"])
    related = {}
    for pid, reasons, rel in zip(*(review.column(c).to_pylist() for c in review.column_names)):
        if {"duplicate_record", "namesake_twin"} & set(reasons):
            related.setdefault(pid, set()).update(rel)
    pairs = [(a, b) for a, b in zip(truth["person_id"].to_pylist(), truth["duplicate_of"].to_pylist()) if b]
    decided = pq.read_table(out / "decisions.parquet", columns=["person_id", "decision"])
    matched = {p for p, d in zip(*(decided.column(c).to_pylist() for c in decided.column_names)) if d == "match"}
    # twins told apart (both matched to their own numbers) are not in the queue
    pairs += [(a, b) for a, b in zip(truth["person_id"].to_pylist(), truth["twin_of"].to_pylist())
              if b and not {a, b} <= matched]
    assert pairs
    for a, b in pairs:
        assert b in related[a], (a, b)
    others = [r for pid, r in zip(review["person_id"].to_pylist(), review["related_person_ids"].to_pylist())
              if pid not in related]
    assert all(r == [] for r in others)


def test_summary_states_expected_wrong_numbers_and_the_curve(double_entries):
    _, out, summary = double_entries
    e = summary["expected_wrong_numbers"]
    assert e["matches"] == summary["decisions"]["match"] and e["low"] <= e["high"] and e["mean"] >= 0
    curve = summary["risk_curve"]
    assert [c["max_risk"] for c in curve] == sorted(c["max_risk"] for c in curve)
    assert all(a["matches"] <= b["matches"] for a, b in zip(curve, curve[1:]))
    risk = pq.read_table(out / "decisions.parquet").column("wrong_number_risk").to_numpy(zero_copy_only=False)
    dec = pq.read_table(out / "decisions.parquet").column("decision").to_numpy(zero_copy_only=False)
    assert (risk[dec == "match"] <= summary["thresholds"]["max_risk"]).all()
    assert e["mean"] == pytest.approx(float(np.nansum(risk[dec == "match"])))


# -- property: a namesake added beside a person's answers is never the one matched ----------

@pytest.fixture(scope="module")
def population(tmp_path_factory):
    tables = make_population(N, seed=8, profile="clustered")
    root = tmp_path_factory.mktemp("namesake")
    res, resp = _write(tables, root / "base")
    reconcile(res, resp, root / "base-out", report=False)
    base = pq.read_table(root / "base-out" / "decisions.parquet")
    matched = base.filter(pc.equal(base["decision"], "match"))
    return tables, root, dict(zip(matched["person_id"].to_pylist(), matched["my_number"].to_pylist()))


def _valid_number(rng):
    digits = rng.integers(0, 10, 11)
    return "".join(map(str, digits)) + str(int(check_digits(digits[None, :])[0]))


PLACES = ("same_room", "other_room", "same_town", "elsewhere")


@settings(max_examples=5, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(0, 10**6), st.sampled_from(PLACES))
def test_a_namesake_added_beside_a_person_is_never_matched(population, tmp_path, pick, place):
    tables, root, matched = population
    rng = np.random.default_rng(pick)
    pid = sorted(matched)[pick % len(matched)]
    S = tables["responses"]
    own = S.filter(pc.and_(pc.equal(S["person_id"], pid), pc.equal(S["my_number"], matched[pid])))
    row = own.to_pylist()[0]  # the record the person was matched to: the namesake copies it
    number = _valid_number(rng)
    address = row["address"] or ""
    if place == "other_room":
        address = address + " 別館" + str(rng.integers(100, 999))
    elif place == "same_town":
        other = tables["residents"]["address"][int(rng.integers(0, N))].as_py() or ""
        address = other
    elif place == "elsewhere":
        address = "北海道稚内市中央1丁目1番1号"
    namesake = dict(row, my_number=number, address=address)
    added = pa.concat_tables([S, pa.Table.from_pylist([namesake], schema=S.schema)])
    res, resp = _write({"residents": tables["residents"], "responses": added}, tmp_path / "data")
    reconcile(res, resp, tmp_path / "out", report=False)
    d = pq.read_table(tmp_path / "out" / "decisions.parquet")
    mine = d.filter(pc.equal(d["person_id"], pid)).to_pylist()[0]
    assert mine["my_number"] != number
    assert mine["decision"] != "match" or mine["my_number"] == matched[pid]


def _inputs(rows, answers, own=True, seed=0):
    from jukimatch.engine.reconcile.namesakes import PopulationInputs, ResidentKeys

    rng = np.random.default_rng(seed)
    u64 = lambda n: rng.integers(1, 2**63, n, dtype=np.int64).astype(np.uint64)  # noqa: E731
    return PopulationInputs(rows=np.asarray(rows, np.int64), keys=ResidentKeys(*(u64(len(rows)) for _ in range(6))),
                            valid=rng.random(len(rows)) < 0.9, card=u64(len(rows)),
                            held=rng.integers(-1, 5, len(rows)), answer_names=(u64(answers), u64(answers), u64(answers)),
                            answer_numbers=rng.integers(-1, 5, answers),
                            own_answer=rng.integers(-1, 5, len(rows)) if own else None)


def test_the_whole_population_input_is_its_parts_put_in_their_places():
    """``PopulationInputs.empty`` + ``put`` (parts in any order, as the runner's threads end
    them) hold each part's rows and answers in its own slices; a part of another size is
    refused; one part without own answers leaves the whole without them."""
    from jukimatch.engine.reconcile.namesakes import PopulationInputs

    parts = [_inputs([4, 0], 3, seed=1), _inputs([2], 0, seed=2), _inputs([1, 3], 2, seed=3)]
    whole = PopulationInputs.empty(5, 5)
    for p, rows, answers in ((2, slice(3, 5), slice(3, 5)), (0, slice(0, 2), slice(0, 3)), (1, slice(2, 3), slice(3, 3))):
        whole.put(rows, answers, parts[p])
    assert whole.rows.tolist() == [4, 0, 2, 1, 3]
    for name in ("valid", "card", "held", "own_answer"):
        assert np.array_equal(getattr(whole, name), np.concatenate([getattr(x, name) for x in parts])), name
    assert np.array_equal(whole.keys.room, np.concatenate([x.keys.room for x in parts]))
    assert np.array_equal(whole.answer_names[1], np.concatenate([x.answer_names[1] for x in parts]))
    assert np.array_equal(whole.answer_numbers, np.concatenate([x.answer_numbers for x in parts]))
    with pytest.raises(ValueError, match="holds 2 rows and 3 answers, not 2 and 2"):
        PopulationInputs.empty(5, 5).put(slice(0, 2), slice(0, 2), parts[0])
    without = PopulationInputs.empty(3, 3)
    without.put(slice(0, 2), slice(0, 3), parts[0])
    without.put(slice(2, 3), slice(3, 3), _inputs([2], 0, own=False))
    assert without.own_answer is None
