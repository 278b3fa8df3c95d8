"""bench_dedupe end to end on a small population (the bench scripts may use pandas: skipped without it)."""
from __future__ import annotations

import json

import pytest


def test_bench_dedupe_smoke(tmp_path, capsys):
    pytest.importorskip("pandas")
    from jukimatch.bench.bench_dedupe import main

    out = tmp_path / "dedupe.json"
    assert main(["--residents", "3000", "--seed", "5", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "automatic:" in printed and "found (automatic + review):" in printed and "review volume:" in printed
    figures = json.loads(out.read_text())
    auto, found = figures["automatic"], figures["found"]
    assert figures["true_pairs"] >= 1 and found["recall"] >= auto["recall"]
    assert found["pairs"] == auto["pairs"] + figures["review"]["pairs"]
    assert figures["thresholds"]["review_probability"] == 0.001
