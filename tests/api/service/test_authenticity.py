"""Authenticity checks: the flow's own rules (unit, with the comparison stubbed) and end to end.

The unit tests replace ``jukimatch.engine.reconcile.single.compare_records`` to pin the decision the
engine would give, so that they test this service's logic (conflicts, provisional state,
retries) and nothing else. The end-to-end tests at the bottom use the real comparison over
real HTTP.
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

import httpx
import pytest
from tests.api.service.support import auth, build_world, live

from jukimatch.api.service import (NoJukinet, check_authenticity, create_app, get_check, register_bulk,
                                   retry_provisional, verify)
from jukimatch.api.service.standin import OnlineJukinet


@dataclass
class Pinned:
    decision: str
    match_probability: float = 0.5
    match_weight: float = 0.0
    reasons: list = field(default_factory=list)
    levels: dict = field(default_factory=dict)


@pytest.fixture
def world(tmp_path):
    return build_world(tmp_path / "store.sqlite")


@pytest.fixture
def pin(monkeypatch):
    """Pin the engine's comparison to a decision; records what it was asked."""
    seen = []

    def set_decision(decision):
        import jukimatch.engine.reconcile.single as single

        def fake(ours, theirs, **kw):
            seen.append((ours, theirs))
            return Pinned(decision, 0.9999 if decision == "confirmed" else 0.01, reasons=[f"pinned_{decision}"],
                          levels={"name_alpha": 3})

        monkeypatch.setattr(single, "compare_records", fake, raising=False)
        return seen

    return set_decision


def _status(world, reg_id):
    return sqlite3.connect(world.store.path).execute("SELECT status FROM registrations WHERE id = ?",
                                                     (reg_id,)).fetchone()[0]


def test_confirmed_registers_the_number(world, pin):
    seen = pin("confirmed")
    jn = OnlineJukinet(world.register)
    res = check_authenticity(world.store, "P0002", world.numbers["P0002"], jukinet=jn, staff_id="s1")
    assert res.result == "confirmed" and _status(world, res.registration_id) == "registered"
    ours, theirs = seen[0]
    assert ours["name_alpha"] == "KIM MINJUN" and theirs["name_kanji"] == "金 民俊"
    # a second check of the same number is now authentic, without asking Juki-net
    calls = jn.calls
    again = check_authenticity(world.store, "P0002", world.numbers["P0002"], jukinet=jn, staff_id="s1")
    assert again.result == "authentic" and jn.calls == calls
    ops = [r[0] for r in sqlite3.connect(world.store.path).execute(
        "SELECT operation FROM audit_log WHERE person_id = 'P0002' ORDER BY seq")]
    assert ops == ["register_provisional", "registration_decision", "authenticity_check"]


def test_rejected_and_not_found(world, pin):
    pin("rejected")
    jn = OnlineJukinet(world.register)
    res = check_authenticity(world.store, "P0002", world.numbers["stranger"], jukinet=jn, staff_id="s1")
    assert res.result == "rejected" and _status(world, res.registration_id) == "rejected"
    from tests.api.service.support import my_number

    unknown = my_number(77_777_777_777)
    res = check_authenticity(world.store, "P0002", unknown, jukinet=jn, staff_id="s1")
    assert res.result == "rejected" and res.reasons == ["jukinet_not_found"]


def test_number_of_another_person_goes_to_review(world, pin):
    pin("confirmed")  # even if the 4 information agreed, P0001 holds this number
    res = check_authenticity(world.store, "P0002", world.numbers["P0001"], jukinet=OnlineJukinet(world.register),
                             staff_id="s1")
    assert res.result == "review" and "number_held_by_other_person" in res.reasons
    assert _status(world, res.registration_id) == "review"


def test_person_holding_another_number_goes_to_review(world, pin):
    pin("confirmed")
    register_bulk(world.store, [("P0003", world.numbers["P0003"])])
    res = check_authenticity(world.store, "P0003", world.numbers["P0004"], jukinet=OnlineJukinet(world.register),
                             staff_id="s1")
    assert res.result == "review" and "holds_other_number" in res.reasons


def test_unreachable_jukinet_keeps_it_provisional_then_retry_decides(world, pin):
    pin("confirmed")
    jn = OnlineJukinet(world.register)
    jn.available = False
    res = check_authenticity(world.store, "P0004", world.numbers["P0004"], jukinet=jn, staff_id="s1",
                             retry_base_s=0.0)
    assert res.result == "provisional" and res.reasons == ["jukinet_unavailable"]
    assert _status(world, res.registration_id) == "provisional"
    # still down: the retry keeps it and counts the attempt
    assert [o.result for o in retry_provisional(world.store, jukinet=jn, retry_base_s=0.0)] == ["provisional"]
    jn.available = True
    outs = retry_provisional(world.store, jukinet=jn, force=True)
    assert [o.result for o in outs] == ["confirmed"]
    assert get_check(world.store, res.check_id).result == "confirmed"
    assert retry_provisional(world.store, jukinet=jn, force=True) == []  # nothing left
    row = sqlite3.connect(world.store.path).execute(
        "SELECT attempts, status FROM registrations WHERE id = ?", (res.registration_id,)).fetchone()
    assert row == (3, "registered")
    assert verify(world.store.path).ok


def test_retry_waits_until_due(world, pin):
    pin("confirmed")
    res = check_authenticity(world.store, "P0004", world.numbers["P0004"], jukinet=NoJukinet(), staff_id="s1")
    assert res.result == "provisional"
    jn = OnlineJukinet(world.register)
    assert retry_provisional(world.store, jukinet=jn) == []  # first retry is 30 s away
    assert [o.result for o in retry_provisional(world.store, jukinet=jn, force=True)] == ["confirmed"]


def test_injected_errors_and_timeouts_never_lose_a_check(world, pin):
    pin("confirmed")
    jn = OnlineJukinet(world.register, error_rate=0.5, timeout_rate=0.2, timeout_s=0.01, seed=3)
    results = [check_authenticity(world.store, "P0006", world.numbers["P0006"], jukinet=jn, staff_id="s1",
                                  retry_base_s=0.0).result for _ in range(10)]
    assert set(results) <= {"provisional", "confirmed", "authentic"}
    for _ in range(50):
        if not retry_provisional(world.store, jukinet=jn, force=True):
            break
    conn = sqlite3.connect(world.store.path)
    assert conn.execute("SELECT count(*) FROM registrations WHERE status = 'provisional'").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM authenticity_checks WHERE result = 'provisional'").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM authenticity_checks").fetchone()[0] == 10


# --- end to end, with the engine's real comparison --------------------------------------------

@pytest.fixture
def served(world):
    jn = OnlineJukinet(world.register)
    app = create_app(world.store, jukinet=jn, retry_interval_s=0.2, retry_base_s=0.0)
    for srv in live(app):
        with httpx.Client(base_url=srv.url, timeout=30) as c:
            yield c, jn


def test_e2e_true_number_is_confirmed(world, served):
    client, _ = served
    r = client.post("/v1/authenticity-checks", json={"person_id": "P0002", "my_number": world.numbers["P0002"]},
                    headers=auth(world.tokens["staff"]))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["result"] == "confirmed" and body["match_probability"] > 0.99 and body["levels"]
    got = client.get(f"/v1/authenticity-checks/{body['check_id']}", headers=auth(world.tokens["operator"]))
    assert got.json()["result"] == "confirmed"


def test_e2e_someone_elses_number_is_not_confirmed(world, served):
    client, _ = served
    r = client.post("/v1/authenticity-checks", json={"person_id": "P0003", "my_number": world.numbers["stranger"]},
                    headers=auth(world.tokens["staff"]))
    assert r.status_code == 200 and r.json()["result"] in ("rejected", "review")
    assert r.json()["result"] == "rejected"


def test_e2e_outage_202_then_background_retry_confirms(world, served):
    import time

    client, jn = served
    jn.available = False
    r = client.post("/v1/authenticity-checks", json={"person_id": "P0005", "my_number": world.numbers["P0005"]},
                    headers=auth(world.tokens["staff"]))
    assert r.status_code == 202 and r.json()["result"] == "provisional"
    jn.available = True
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        got = client.get(f"/v1/authenticity-checks/{r.json()['check_id']}", headers=auth(world.tokens["staff"]))
        if got.json()["result"] != "provisional":
            break
        time.sleep(0.1)
    assert got.json()["result"] == "confirmed"


def test_e2e_retry_endpoint(world, served):
    client, jn = served
    jn.available = False
    r = client.post("/v1/authenticity-checks", json={"person_id": "P0006", "my_number": world.numbers["P0006"]},
                    headers=auth(world.tokens["staff"]))
    assert r.status_code == 202
    jn.available = True
    out = client.post("/v1/registrations/retry", json={"force": True}, headers=auth(world.tokens["operator"]))
    assert out.status_code == 200
    got = client.get(f"/v1/authenticity-checks/{r.json()['check_id']}", headers=auth(world.tokens["staff"]))
    assert got.json()["result"] == "confirmed"
