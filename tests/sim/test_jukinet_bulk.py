"""The bulk Juki-net stand-in: answers from the corruption model's register, with transfer faults."""
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from jukimatch.sim.jukinet_bulk import GETA, BulkJukinet, answer_file


@pytest.fixture(scope="module")
def world():
    return BulkJukinet.from_population(600, seed=11)


def test_faultless_answer_is_the_register(world):
    stand_in, residents, _ = world
    ans = stand_in.answer(residents)
    reg = stand_in.register
    asked = set(residents.column("person_id").to_pylist())
    expected = reg.filter(pc.is_in(reg.column("person_id"), pa.array(sorted(asked))))
    assert ans.responses.num_rows == expected.num_rows
    assert sorted(map(str, ans.responses.to_pylist()), key=str) == sorted(map(str, expected.to_pylist()), key=str)
    assert ans.report["unanswered_rows"] == ans.report["silent_rows"] == len(stand_in.silent) > 0
    assert ans.report["unknown_to_register"] == 0 and ans.report["garbled"] == {}
    order = {p: i for i, p in enumerate(residents.column("person_id").to_pylist())}
    pos = [order[p] for p in ans.responses.column("person_id").to_pylist()]
    assert pos == sorted(pos)  # inquiry order


def test_lost_batches_garbled_rows_and_strangers(world):
    stand_in, residents, _ = world
    faulty = BulkJukinet(stand_in.register, batch_size=100, lost_batch_rate=0.3, garble_rate=0.5, seed=4)
    extra = pa.table({"person_id": pa.array(["STRANGER1", "STRANGER2"])})
    inquiry = pa.concat_tables([residents.select(["person_id"]), extra])
    ans = faulty.answer(inquiry)
    rep = ans.report
    assert rep["lost_batches"] >= 1 and rep["unanswered_rows"] >= 100
    answered = set(ans.responses.column("person_id").to_pylist())
    assert len(answered) == len(inquiry) - rep["unanswered_rows"]
    assert rep["unknown_to_register"] >= 1  # the strangers (unless their batch was lost)
    assert sum(rep["garbled"].values()) > 50
    if "STRANGER1" in answered:
        row = ans.responses.filter(pc.equal(ans.responses.column("person_id"), "STRANGER1")).to_pylist()[0]
        assert row["status"] == "not_found" and row["my_number"] is None
    again = faulty.answer(inquiry)
    assert again.responses.equals(ans.responses)  # seeded
    if rep["garbled"].get("geta"):
        texts = pc.binary_join_element_wise(*[pc.fill_null(ans.responses.column(c), "") for c in
                                              ("name_alpha", "name_kanji", "name_kana", "address")], "|")
        assert pc.any(pc.match_substring(texts, GETA)).as_py()


def test_answer_file_uses_the_responses_beside_the_residents(tmp_path):
    from jukimatch.datasets import generate

    made = generate(300, tmp_path / "data", seed=2)
    out = tmp_path / "answer.parquet"
    rep = answer_file(made["paths"]["residents"], out, lost_row_rate=0.1, seed=1)
    assert out.is_file() and rep["register"].endswith("responses.parquet")
    assert 10 <= rep["unanswered_rows"] <= 60
    with pytest.raises(ValueError, match="no responses file"):
        answer_file(tmp_path / "elsewhere" / "residents.parquet", out)
