"""The planner end to end on a small population, the go-live arithmetic and the CLI hook."""
import argparse
import json

import numpy as np
import pytest

from jukimatch.sim.calibrate import Calibration
from jukimatch.sim.commands import add_simulate_parser, parse_range
from jukimatch.sim.planner import golive_estimate, golive_rows, plan, recommend, reconcile_cost_from_summary, \
    write_plan


@pytest.fixture
def calibration(tmp_path):
    rng = np.random.default_rng(3)
    cal = Calibration({"provided": rng.gamma(4.0, 0.0005, 2000), "held": rng.gamma(4.0, 0.0005, 40),
                       "refused": rng.gamma(4.0, 0.0004, 50)}, {"created": "test"})
    path = cal.save(tmp_path / "cal.json")
    return Calibration.load(path)


def test_plan_of_a_year(calibration, tmp_path):
    r = plan(residents=200_000, year=2027, servers=[1, 2, 4], target_p99_ms=50, calibration=calibration, seed=1)
    assert abs(r["requests"] - r["expected_requests"]) < 5 * np.sqrt(r["expected_requests"])
    assert [row["servers"] for row in r["servers"]] == [1, 2, 4]
    util = [row["peak_hour_utilisation"] for row in r["servers"]]
    assert util[0] == pytest.approx(2 * util[1]) and util[0] == pytest.approx(4 * util[2])
    p99 = [row["p99_ms"] for row in r["servers"]]
    assert p99[0] >= p99[1] >= p99[2] > 0
    assert r["recommended_servers"] == recommend(r["servers"], 50)
    assert len(r["daily"]["p99_ms"]) == 365
    r["golive"] = {"rows": 10, "cost": {"per_row_s": 1e-5, "fixed_s": 1.0, "source": "test"},
                   "estimates": golive_estimate(10, {"per_row_s": 1e-5, "fixed_s": 1.0}, [1, 2])}
    paths = write_plan(r, tmp_path / "plan")
    assert json.loads(paths["json"].read_text())["recommended_servers"] == r["recommended_servers"]
    assert paths["plot"].stat().st_size > 1000 and "Recommended" in paths["markdown"].read_text()


def test_recommendation_is_the_smallest_count_meeting_the_target():
    rows = [{"servers": c, "p99_ms": p, "peak_hour_p99_ms": q, "peak_hour_utilisation": u}
            for c, p, q, u in [(1, 500, 900, 1.2), (2, 30, 300, 0.6), (3, 20, 40, 0.4), (4, 10, 20, 0.3)]]
    assert recommend(rows, 50) == 3
    assert recommend(rows, 5) is None


def test_golive_arithmetic(tmp_path):
    est = golive_estimate(1_000_000, {"per_row_s": 3.6e-5, "fixed_s": 6.0}, [1, 4])
    assert est[0]["minutes"] == pytest.approx((6 + 36) / 60) and est[1]["minutes"] == pytest.approx((6 + 9) / 60)
    assert 0.95 * 4_000_000 < golive_rows(4_000_000) < 4_000_000
    s = tmp_path / "summary.json"
    s.write_text(json.dumps({"rows": {"residents_in": 2000}, "timings_s": {"total": 4.0}}))
    assert reconcile_cost_from_summary(s)["per_row_s"] == pytest.approx(0.002)
    s.write_text("{}")
    with pytest.raises(ValueError, match="summary.json"):
        reconcile_cost_from_summary(s)


def test_cli_hook_parses_and_validates():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="command", required=True)
    add_simulate_parser(sub)
    args = p.parse_args(["simulate", "plan", "--residents", "4000000", "--year", "2027", "--servers", "1..8",
                         "--target-p99-ms", "200", "--out", "x"])
    assert args.func.__name__ == "_cmd_plan" and args.servers == "1..8"
    args = p.parse_args(["simulate", "load", "--users", "5", "--duration", "3", "--out", "x"])
    assert args.func.__name__ == "_cmd_load" and args.shape == "day"
    assert parse_range("1..3,8") == [1, 2, 3, 8]
    from jukimatch.engine.io import InputError

    with pytest.raises(InputError):
        parse_range("0..2")
    with pytest.raises(InputError):
        parse_range("a")


def test_simulate_is_imported_lazily():
    import subprocess
    import sys

    code = ("import sys, argparse; from jukimatch.sim.commands import add_simulate_parser; "
            "p=argparse.ArgumentParser(); add_simulate_parser(p.add_subparsers()); "
            "print(any(m in sys.modules for m in ('locust', 'jukimatch.sim.planner', 'jukimatch.sim.load', 'numba')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr
