"""Smoke test of the end-to-end benchmark at a tiny size: jukimatch and the pandas baseline.

Checks the shape of what the benchmark produces, never a speed. Skips when the ``bench``
extra (pandas, psutil) is not installed.
"""
from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

pytest.importorskip("pandas")
pytest.importorskip("psutil")
pytest.importorskip("rapidfuzz")

from jukimatch.bench import endtoend  # noqa: E402
from jukimatch.bench.peer_rules import valid_my_number  # noqa: E402


def test_peer_check_digit_matches_the_official_examples():
    valid = ["123456789018", "023456789013", "621498320257", "548836529885"]
    invalid = ["123456789019", "123456789010", "621498320258", "12345678901", "12345678901A", None, ""]
    assert valid_my_number(valid).tolist() == [True] * 4
    assert valid_my_number(invalid).tolist() == [False] * len(invalid)


def test_slope_of_linear_and_quadratic_growth():
    xs = [1e5, 1e6, 1e7]
    assert endtoend.slope(xs, [2.0 * x for x in xs]) == pytest.approx(1.0)
    assert endtoend.slope(xs, [x * x for x in xs]) == pytest.approx(2.0)
    assert endtoend.slope([1e5], [1.0]) is None


def test_bench_runs_jukimatch_and_pandas_at_2k(tmp_path):
    # no warm-up here: the smoke test checks shapes, and each warm-up costs a process start
    cfg = endtoend.Config(sizes=(2_000,), contestants=("jukimatch", "pandas"), repeats=1, warmup_size=0,
                          results_dir=tmp_path / "results", timeout_s=300, log=lambda *a: None)
    result = endtoend.run(cfg)
    paths = endtoend.save(result, cfg.results_dir)

    size = result["sizes"]["2000"]
    assert set(size["contestants"]) == {"jukimatch", "pandas"}
    for name, c in size["contestants"].items():
        assert c["ok"], (name, c.get("error"))
        assert c["rows_ok"]
        assert c["wall_s"] > 0 and c["peak_rss_bytes"] > 0
        assert isinstance(c["wrong_numbers"], int) and isinstance(c["numbers_to_two_persons"], int)
        for k in ("auto_recall", "review_rate", "unanswered_pending"):
            assert 0.0 <= c[k] <= 1.0
    assert set(size["ratios"]) == {"pandas"}
    assert all(math.isfinite(v) and v > 0 for v in size["ratios"]["pandas"].values())
    assert result["machine"]["cores"]["logical"] >= 1
    assert result["warmup"] == {} and "none" in result["method"]["warm_up"]

    saved = json.loads(paths["json"].read_text())
    assert saved["sizes"]["2000"]["contestants"]["jukimatch"]["ok"]
    md = paths["markdown"].read_text()
    assert "| jukimatch |" in md and "| pandas + rapidfuzz |" in md and "jukimatch / pandas" in md
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (cfg.results_dir / "latest.json").exists()


def test_module_help():
    out = subprocess.run([sys.executable, "-m", "jukimatch.bench", "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    assert "--sizes" in out.stdout and "--contestants" in out.stdout
