"""Smoke test of bench_profiles at a tiny size: the table's shape and the blunt rule, never a speed."""
from __future__ import annotations

import json

import pyarrow as pa

from jukimatch.bench import bench_profiles


def test_blunt_rule_reviews_matches_whose_address_changed():
    here = "東京都新宿区大久保2-8-1"
    residents = pa.table({"person_id": ["a", "b", "c"], "address": ["東京都新宿区大久保二丁目8番1号", here, here]})
    responses = pa.table({"person_id": ["a", "b", "c"], "status": ["found"] * 3, "my_number": ["1", "2", "3"],
                          "address": ["新宿区大久保2-8-1", "東京都新宿区大久保二丁目9番1号", here]})
    decisions = pa.table({"person_id": ["a", "b", "c"], "decision": ["match", "match", "review"],
                          "my_number": ["1", "2", None]})
    changed = bench_profiles.address_changed(residents, responses, decisions)
    assert changed.tolist() == [False, True, False]  # notation is not a move; a review stays as it is
    out = bench_profiles.blunt(decisions, changed)
    assert out["decision"].to_pylist() == ["match", "review", "review"]
    assert out["my_number"].to_pylist() == ["1", None, None]


def test_bench_profiles_at_2k(tmp_path, capsys):
    out_json = tmp_path / "profiles.json"
    args = ["--residents", "2000", "--profiles", "clustered", "--data-dir", str(tmp_path / "data"),
            "--json", str(out_json), "--budgets", "0.5"]
    assert bench_profiles.main(args) == 0
    table = capsys.readouterr().out
    assert table.count("| clustered |") == 4 and "| expected wrong |" in table
    engine, unbudgeted, rule, loose = json.loads(out_json.read_text())["rows"]
    assert loose["run"] == "max-risk 0.5"  # a looser budget: never more to review, never fewer wrong
    assert loose["review_rate"] <= engine["review_rate"] and loose["wrong"] >= engine["wrong"]
    assert (engine["run"], unbudgeted["run"], rule["run"]) == ("engine", "no budget", "blunt")
    for r in (engine, unbudgeted, rule):
        assert r["residents"] == 2000 and 0 <= r["auto_recall"] <= 1 and 0 <= r["review_rate"] <= 1
        assert r["twins"][0] <= r["twins"][1] and r["duplicates"][0] <= r["duplicates"][1]
        assert sum(r["wrong_by_case"].values()) == r["wrong"]
    assert engine["twins"][1] == 4 and engine["wall_s"] > 0
    expected = engine["expected_wrong"]
    assert expected["low"] <= expected["high"] and expected["mean"] >= 0 and rule["expected_wrong"] is None
    # a budget and the blunt rule only ever withdraw matches: never more wrong numbers, never more recall
    for r in (engine, rule):
        assert r["wrong"] <= unbudgeted["wrong"] and r["auto_recall"] <= unbudgeted["auto_recall"]
    # a second run reuses the generated inputs
    (folder,) = (tmp_path / "data").iterdir()
    stamp = (folder / "truth.parquet").stat().st_mtime_ns
    assert bench_profiles._data("clustered", 2000, bench_profiles.SEED, tmp_path / "data") == folder
    assert (folder / "truth.parquet").stat().st_mtime_ns == stamp
