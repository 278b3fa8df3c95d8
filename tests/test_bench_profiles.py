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


def test_bench_profiles_at_3k(tmp_path, capsys):
    out_json = tmp_path / "profiles.json"
    rc = bench_profiles.main(["--residents", "3000", "--profiles", "default,clustered", "--data-dir",
                              str(tmp_path / "data"), "--json", str(out_json)])
    assert rc == 0
    table = capsys.readouterr().out
    assert table.count("| clustered |") == 2 and table.count("| default |") == 2
    rows = json.loads(out_json.read_text())["rows"]
    assert [(r["profile"], r["run"]) for r in rows] == [("default", "engine"), ("default", "blunt"),
                                                        ("clustered", "engine"), ("clustered", "blunt")]
    for r in rows:
        assert r["residents"] == 3000 and 0 <= r["auto_recall"] <= 1 and 0 <= r["review_rate"] <= 1
        assert r["twins"][0] <= r["twins"][1] and r["duplicates"][0] <= r["duplicates"][1]
    engine = {r["profile"]: r for r in rows if r["run"] == "engine"}
    assert engine["clustered"]["twins"][1] > 0 and engine["default"]["twins"][1] == 0
    assert engine["default"]["wall_s"] > 0
    # the blunt rule only ever withdraws matches: never more wrong numbers, never more recall
    for e, b in zip(rows[0::2], rows[1::2]):
        assert b["wrong"] <= e["wrong"] and b["auto_recall"] <= e["auto_recall"]
