"""A short headless Locust run and a calibration against a real service on a free loopback port."""
import importlib.util
import json

import numpy as np
import pytest

# find_spec, not importorskip: importing locust here would monkey-patch the whole test process with gevent
if importlib.util.find_spec("locust") is None or importlib.util.find_spec("uvicorn") is None:
    pytest.skip("needs the sim and service extras (locust, uvicorn)", allow_module_level=True)

from jukimatch.sim.calibrate import Calibration, calibrate
from jukimatch.sim.load import simulate_load, store_counts
from jukimatch.sim.mix import OK, PlannedRequest, RequestMix, check_response
from jukimatch.sim.profiles import load_profiles
from jukimatch.sim.service import LocalService


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    with LocalService(tmp_path_factory.mktemp("svc"), residents=800, seed=3) as target:
        yield target


def test_short_locust_run_has_no_failures_and_the_store_agrees(service, tmp_path):
    out = tmp_path / "load"
    s = simulate_load(out, users=6, duration_s=4, host=service.url, tokens=service.tokens_file,
                      subjects=service.subjects_file, db=service.db, shape="day", seed=5)
    loc = s["locust"]
    assert loc["requests"] > 50
    assert loc["failures"] == 0, s["failures"]
    assert loc["refused_row"] + loc["refused_kind"] > 0 or loc["requests"] < 500
    assert s["store_check"]["all_equal"], s["store_check"]
    for name in ("locust_stats.csv", "locust_stats_history.csv", "locust_failures.csv", "report.html", "report.png"):
        assert (out / name).is_file(), name
    assert json.loads((out / "report.json").read_text())["store"] == s["store"]
    assert sum(store_counts(service.db).values()) >= loc["requests"]


def test_calibration_measures_every_outcome_and_round_trips(service, tmp_path):
    path = tmp_path / "cal.json"
    cal = calibrate(path, requests=400, host=service.url, tokens=service.tokens_file, subjects=service.subjects_file,
                    saturation_s=0.5)
    assert sum(len(v) for v in cal.samples_s.values()) == 400
    assert len(cal.samples_s["provided"]) > 300 and (cal.pooled() > 0).all()
    back = Calibration.load(path)
    assert back.meta["saturation"]["requests"] > 0
    np.testing.assert_allclose(back.pooled(), cal.pooled(), atol=1e-6)
    path.write_text('{"format": "other"}')
    with pytest.raises(ValueError, match="not a calibration file"):
        Calibration.load(path)


def test_check_response_marks_wrong_answers():
    prof = load_profiles()[0]
    mix = RequestMix(prof, load_profiles(), ["S1"], seed=1)
    planned = PlannedRequest(OK, mix._body(prof.requester.ordinance_row, ["E"], "S1"))
    good = {"provision_id": 1, "status": "provided", "requester": prof.requester.requester_code,
            "office_work_row": prof.requester.ordinance_row, "info_kinds": ["E"], "copies": {"E": {}}}
    assert check_response(planned, 200, json.dumps(good)) == ("provided", None)
    assert check_response(planned, 200, json.dumps({**good, "copies": {}}))[1]
    assert check_response(planned, 500, json.dumps({"error": "internal_error"}))[1]
    assert check_response(planned, 200, "not json")[1]
    refused = PlannedRequest("refused_row", planned.body)
    assert check_response(refused, 200, json.dumps(good))[1]
    assert check_response(refused, 403, json.dumps({"error": "not_permitted", "details": {"provision_id": 3}})) \
        == ("refused", None)


def test_mix_draws_permitted_and_deliberately_forbidden_requests():
    profiles = load_profiles()
    perms = {(p.requester.requester_code, p.requester.ordinance_row): set(p.requester.info_kinds) for p in profiles}
    for prof in profiles:
        mix = RequestMix(prof, profiles, ["S1", "S2"], seed=2)
        seen = set()
        for _ in range(3000):
            r = mix.draw()
            b = r.body
            allowed = perms.get((b["requester"], b["office_work_row"]), set())
            assert (r.expect == OK) == (set(b["info_kinds"]) <= allowed)
            seen.add(r.expect)
        assert OK in seen and len(seen) >= 2
