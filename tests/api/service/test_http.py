"""The inquiry service over real HTTP: uvicorn on loopback, a real SQLite file in tmp_path."""
from __future__ import annotations

import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from tests.api.service.support import NUMBER_RE, LogCapture, auth, bad_number, build_world, live

from jukimatch.api.service import create_app
from jukimatch.api.service.standin import OnlineJukinet
from jukimatch.datasets.requesters import load_requesters

REQUESTERS = load_requesters()


@pytest.fixture(scope="module")
def logs():
    cap = LogCapture()
    cap.attach()
    yield cap
    cap.detach()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return build_world(tmp_path_factory.mktemp("svc") / "store.sqlite")


@pytest.fixture(scope="module")
def jukinet(world):
    return OnlineJukinet(world.register)


@pytest.fixture(scope="module")
def server(world, jukinet, logs):
    app = create_app(world.store, jukinet=jukinet, retry_interval_s=None, max_body_bytes=4096)
    yield from live(app)


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server.url, timeout=30) as c:
        yield c


def provision_body(requester="mhlw", row=1, kinds=("E",), subject="SUBJ0001", **extra):
    return {"requester": requester, "office_work_row": row, "info_kinds": list(kinds), "subject": subject, **extra}


def gw(world, code="mhlw"):
    return auth(world.gateway_tokens[code])


def count(world, table, where="1", args=()):
    conn = sqlite3.connect(world.store.path)
    try:
        return conn.execute(f"SELECT count(*) FROM {table} WHERE {where}", args).fetchone()[0]
    finally:
        conn.close()


# --- provisions -------------------------------------------------------------------------------

@pytest.mark.parametrize("req", REQUESTERS, ids=[f"row{r.ordinance_row}-{r.requester_code}" for r in REQUESTERS])
def test_every_requester_row_is_allowed_its_kinds(client, world, req):
    subject = "SUBJ0002" if "S" in req.info_kinds else "SUBJ0001"
    r = client.post("/v1/provisions", json=provision_body(req.requester_code, req.ordinance_row, req.info_kinds,
                                                          subject), headers=gw(world, req.requester_code))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "provided" and body["info_kinds"] == list(req.info_kinds)
    assert set(body["copies"]) == set(req.info_kinds)
    assert body["office_work"] == req.office_work_ja and body["time_provided"] and body["provider"]
    rec = sqlite3.connect(world.store.path).execute(
        "SELECT requester_code, ordinance_row, status, information_name, time_requested, time_provided"
        " FROM provision_records WHERE id = ?", (body["provision_id"],)).fetchone()
    assert rec[:3] == (req.requester_code, req.ordinance_row, "provided") and rec[3] and rec[4] <= rec[5]


FORBIDDEN = [
    ("municipal_mayors", 48, ("S",), "not_permitted"),        # row 48 is E and C only
    ("prefectural_governors", 49, ("C",), "not_permitted"),   # row 49 is E only
    ("jasso", 141, ("E",), "not_permitted"),                  # student loans: C and S only
    ("mhlw", 48, ("E",), "not_permitted"),                    # MHLW does not do local tax
    ("municipal_mayors", 1, ("E",), "not_permitted"),         # mayors are not row 1
    ("kokko_kyosai_federation", 67, ("E", "C"), "not_permitted"),
    ("chiho_kyosai_or_federation", 85, ("S",), "not_permitted"),
    ("mhlw", 999, ("E",), "not_permitted"),
]


@pytest.mark.parametrize("code,row,kinds,reason", FORBIDDEN)
def test_forbidden_combinations_are_refused_and_recorded(client, world, code, row, kinds, reason):
    r = client.post("/v1/provisions", json=provision_body(code, row, kinds), headers=gw(world, code))
    assert r.status_code == 403, r.text
    body = r.json()
    assert body["error"] == reason and "permission list" in body["message"]
    pid = body["details"]["provision_id"]
    assert count(world, "provision_records", "id = ? AND status = 'forbidden' AND reason LIKE 'not_permitted%'",
                 (pid,)) == 1
    assert "copies" not in body


def test_gateway_may_not_ask_in_another_requesters_name(client, world):
    r = client.post("/v1/provisions", json=provision_body("jasso", 141, ("C",)), headers=gw(world, "mhlw"))
    assert r.status_code == 403 and r.json()["error"] == "requester_not_bound_to_token"
    assert count(world, "provision_records", "id = ? AND status = 'forbidden' AND requester_code = 'mhlw'"
                 " AND bound_requester = 'mhlw' AND claimed_requester = 'jasso'",
                 (r.json()["details"]["provision_id"],)) == 1
    # the record is the asking gateway's, not the requester it named
    pid = r.json()["details"]["provision_id"]
    assert client.get(f"/v1/provisions/{pid}", headers=gw(world, "jasso")).status_code == 404
    assert client.get(f"/v1/provisions/{pid}", headers=gw(world, "mhlw")).json()["claimed_requester"] == "jasso"


def test_binding_is_checked_before_the_requester_exists(client, world):
    """A gateway cannot tell existing requester codes from made-up ones by probing."""
    answers = {code: client.post("/v1/provisions", json=provision_body(code, 1), headers=gw(world, "mhlw")).json()
               for code in ("ministry_of_magic", "jasso")}
    assert {a["error"] for a in answers.values()} == {"requester_not_bound_to_token"}
    assert len({a["message"] for a in answers.values()}) == 1


def test_unknown_requester_is_refused_and_recorded(world):
    from jukimatch.api.service import provide

    res = provide(world.store, "ministry_of_magic", 1, ["E"], "SUBJ0001", user_id="in-process")
    assert res.status == "forbidden" and res.reason == "unknown_requester"
    assert count(world, "provision_records", "id = ? AND reason = 'unknown_requester' AND bound_requester IS NULL",
                 (res.provision_id,)) == 1


def test_unknown_subject_is_404_and_recorded(client, world):
    r = client.post("/v1/provisions", json=provision_body(subject="NOSUCHSUBJECT"), headers=gw(world))
    assert r.status_code == 404 and r.json()["error"] == "unknown_subject"
    assert count(world, "provision_records", "id = ? AND status = 'not_found'",
                 (r.json()["details"]["provision_id"],)) == 1


def test_roles_other_than_gateway_cannot_request_provisions(client, world):
    for role in ("staff", "operator", "auditor"):
        r = client.post("/v1/provisions", json=provision_body(), headers=auth(world.tokens[role]))
        assert r.status_code == 403 and r.json()["error"] == "role_not_allowed"
    r = client.post("/v1/provisions", json=provision_body())
    assert r.status_code == 401
    r = client.post("/v1/provisions", json=provision_body(), headers=auth("not-a-token"))
    assert r.status_code == 401


def test_no_auto_response_is_held_then_released(client, world):
    # P0005's residence-card copy carries the no-auto-response flag
    r = client.post("/v1/provisions", json=provision_body(kinds=("E", "C"), subject="SUBJ0005"), headers=gw(world))
    assert r.status_code == 202, r.text
    held = r.json()
    assert held["status"] == "held" and "copies" not in held and held["hold_id"]
    pid, hid = held["provision_id"], held["hold_id"]
    # the gateway polls: still held
    assert client.get(f"/v1/provisions/{pid}", headers=gw(world)).status_code == 202
    # only operators see and decide holds
    assert client.get("/v1/holds", headers=gw(world)).status_code == 403
    listed = client.get("/v1/holds", headers=auth(world.tokens["operator"])).json()["holds"]
    assert hid in [h["id"] for h in listed]
    shown = client.get(f"/v1/holds/{hid}", headers=auth(world.tokens["operator"])).json()
    assert set(shown["payload"]) == {"E", "C"} and shown["kinds"] == "C"
    assert client.post(f"/v1/holds/{hid}/release", json={}, headers=auth(world.tokens["staff"])).status_code == 403
    rel = client.post(f"/v1/holds/{hid}/release", json={"note": "checked"}, headers=auth(world.tokens["operator"]))
    assert rel.status_code == 200 and rel.json()["status"] == "provided" and rel.json()["time_provided"]
    again = client.post(f"/v1/holds/{hid}/release", json={}, headers=auth(world.tokens["operator"]))
    assert again.status_code == 409
    got = client.get(f"/v1/provisions/{pid}", headers=gw(world))
    assert got.status_code == 200 and got.json()["copies"] == shown["payload"]
    # another requester cannot read it
    assert client.get(f"/v1/provisions/{pid}", headers=gw(world, "jasso")).status_code == 404


def test_hold_refused_sends_nothing(client, world):
    r = client.post("/v1/provisions", json=provision_body(kinds=("C",), subject="SUBJ0005"), headers=gw(world))
    hid, pid = r.json()["hold_id"], r.json()["provision_id"]
    ref = client.post(f"/v1/holds/{hid}/refuse", json={"reason": "sensitive"}, headers=auth(world.tokens["operator"]))
    assert ref.status_code == 200 and ref.json()["status"] == "refused"
    got = client.get(f"/v1/provisions/{pid}", headers=gw(world)).json()
    assert got["status"] == "refused" and "copies" not in got
    assert client.post(f"/v1/holds/{hid}/refuse", json={}, headers=auth(world.tokens["operator"])).status_code == 422
    assert client.post("/v1/holds/999999/release", json={}, headers=auth(world.tokens["operator"])).status_code == 404


def test_provision_records_are_readable_by_auditors_not_deletable(client, world):
    # a record of its own: the tests before it may have run in another worker
    assert client.post("/v1/provisions", json=provision_body(), headers=gw(world)).status_code == 200
    r = client.get("/v1/provision-records?limit=5", headers=auth(world.tokens["auditor"]))
    assert r.status_code == 200 and 0 < len(r.json()["records"]) <= 5
    assert client.get("/v1/provision-records", headers=gw(world)).status_code == 403
    assert client.delete("/v1/provision-records").status_code in (404, 405)
    conn = sqlite3.connect(world.store.path)
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("DELETE FROM provision_records WHERE id = 1")
    conn.close()


# --- client mistakes are 4xx, never 500 ---------------------------------------------------------

@pytest.mark.parametrize("content,ctype,status,code", [
    (b"{not json", "application/json", 400, "malformed_json"),
    (b"\xff\xfe\x00", "application/json", 400, "malformed_json"),
    (b"[1, 2]", "application/json", 422, "invalid_request"),
    (b'{"requester": "mhlw"}', "text/plain", 415, "unsupported_media_type"),
    (b'{"requester": "mhlw", "office_work_row": 1, "info_kinds": ["E"], "subject": "S", "extra": 1}',
     "application/json", 422, "invalid_request"),
    (b'{"requester": "mhlw", "office_work_row": "1", "info_kinds": ["E"], "subject": "S"}',
     "application/json", 422, "invalid_request"),
    (b'{"requester": "mhlw", "office_work_row": true, "info_kinds": ["E"], "subject": "S"}',
     "application/json", 422, "invalid_request"),
    (b'{"requester": "mhlw", "office_work_row": 1, "info_kinds": "E", "subject": "S"}',
     "application/json", 422, "invalid_request"),
    (b'{"requester": "mhlw", "office_work_row": 1, "info_kinds": ["X"], "subject": "S"}',
     "application/json", 422, "invalid_request"),
    (b'{"requester": "mhlw", "office_work_row": 1, "info_kinds": [], "subject": "S"}',
     "application/json", 422, "invalid_request"),
    (b'{"requester": "mhlw", "office_work_row": 1, "info_kinds": ["E", "E"], "subject": "S"}',
     "application/json", 422, "invalid_request"),
    (b'{"requester": "mhlw", "info_kinds": ["E"], "subject": "S"}', "application/json", 422, "invalid_request"),
    (b'{"requester": 7, "office_work_row": 1, "info_kinds": ["E"], "subject": "S"}',
     "application/json", 422, "invalid_request"),
    (b'{"requester": "mhlw", "office_work_row": 1, "info_kinds": ["E"], "subject": "../etc"}',
     "application/json", 422, "invalid_request"),
])
def test_malformed_provision_requests_are_4xx_and_recorded(client, world, content, ctype, status, code):
    before = count(world, "provision_records")
    r = client.post("/v1/provisions", content=content, headers={**gw(world), "content-type": ctype})
    assert r.status_code == status, r.text
    assert r.json()["error"] == code and r.json()["message"]
    assert count(world, "provision_records") == before + 1


def test_oversized_bodies_are_413(client, world):
    big = {"requester": "mhlw", "office_work_row": 1, "info_kinds": ["E"], "subject": "S", "procedure": "x" * 10_000}
    r = client.post("/v1/provisions", json=big, headers=gw(world))
    assert r.status_code == 413 and r.json()["error"] == "body_too_large"

    def chunks():  # no Content-Length: the cap holds while streaming
        for _ in range(100):
            yield b" " * 1000

    r = client.post("/v1/provisions", content=chunks(), headers={**gw(world), "content-type": "application/json"})
    assert r.status_code == 413


def test_other_client_mistakes(client, world):
    staff, op = auth(world.tokens["staff"]), auth(world.tokens["operator"])
    assert client.post("/v1/authenticity-checks", content=b"{", headers={**staff, "content-type":
                                                                          "application/json"}).status_code == 400
    r = client.post("/v1/authenticity-checks", json={"person_id": "P0001", "my_number": 123456789018}, headers=staff)
    assert r.status_code == 422 and "123456789018" not in r.text
    assert client.get("/v1/authenticity-checks/abc", headers=staff).status_code == 404
    assert client.get("/v1/authenticity-checks/999999", headers=staff).status_code == 404
    assert client.get("/v1/holds?limit=abc", headers=op).status_code == 422
    assert client.get("/v1/holds?limit=0", headers=op).status_code == 422
    assert client.get("/v1/holds?status=gone", headers=op).status_code == 422
    assert client.put("/v1/provisions", json={}).status_code == 405
    assert client.get("/v1/nothing-here").status_code == 404
    assert client.post("/v1/registrations/retry", json={"limit": "ten"}, headers=op).status_code == 422


# --- authenticity checks, persons, masking, audit -----------------------------------------------

def test_authentic_when_registered_for_the_person(client, world):
    r = client.post("/v1/authenticity-checks", json={"person_id": "P0001", "my_number": world.numbers["P0001"]},
                    headers=auth(world.tokens["staff"]))
    assert r.status_code == 200 and r.json()["result"] == "authentic"
    assert r.json()["my_number"] == "********" + world.numbers["P0001"][-4:]


def test_bad_check_digit_is_rejected_at_once(client, world, jukinet):
    calls = jukinet.calls
    r = client.post("/v1/authenticity-checks", json={"person_id": "P0002", "my_number": bad_number(10_000_007_919)},
                    headers=auth(world.tokens["staff"]))
    assert r.status_code == 200
    assert r.json()["result"] == "rejected" and r.json()["reasons"] == ["my_number:check_digit"]
    assert jukinet.calls == calls  # Juki-net was not asked
    r = client.post("/v1/authenticity-checks", json={"person_id": "P0002", "my_number": "12345"},
                    headers=auth(world.tokens["staff"]))
    assert r.json()["result"] == "rejected" and r.json()["reasons"] == ["my_number:format"]


def test_unknown_person_and_roles(client, world):
    r = client.post("/v1/authenticity-checks", json={"person_id": "NOPE", "my_number": world.numbers["P0001"]},
                    headers=auth(world.tokens["staff"]))
    assert r.status_code == 404 and r.json()["error"] == "unknown_person"
    for role in ("operator", "auditor"):
        r = client.post("/v1/authenticity-checks", json={"person_id": "P0001", "my_number": world.numbers["P0001"]},
                        headers=auth(world.tokens[role]))
        assert r.status_code == 403
    r = client.post("/v1/authenticity-checks", json={"person_id": "P0001", "my_number": world.numbers["P0001"]},
                    headers=gw(world))
    assert r.status_code == 403


def test_operators_see_numbers_masked_staff_in_clear_both_audited(client, world):
    before = count(world, "audit_log")
    number = world.numbers["P0001"]
    staff = client.get("/v1/persons/P0001", headers=auth(world.tokens["staff"])).json()
    op = client.get("/v1/persons/P0001", headers=auth(world.tokens["operator"])).json()
    assert staff["registrations"][0]["my_number"] == number and not staff["masked"]
    assert op["registrations"][0]["my_number"] == "********" + number[-4:] and op["masked"]
    assert number not in client.get("/v1/persons/P0001", headers=auth(world.tokens["operator"])).text
    assert client.get("/v1/persons/P0001", headers=auth(world.tokens["auditor"])).status_code == 403
    assert client.get("/v1/persons/P0001", headers=gw(world)).status_code == 403
    rows = sqlite3.connect(world.store.path).execute(
        "SELECT staff_id, operation, my_number FROM audit_log WHERE seq > ? ORDER BY seq", (before,)).fetchall()
    assert ("staff-1", "read_number", number) in rows and ("operator-1", "read_number_masked", number) in rows
    # the auditor's view of the log is masked too
    entries = client.get(f"/v1/audit?after={before}", headers=auth(world.tokens["auditor"])).json()["entries"]
    assert entries and all(e["my_number"] in ("", "********" + number[-4:]) for e in entries)
    assert client.get("/v1/audit", headers=auth(world.tokens["operator"])).status_code == 403


def test_audit_verify_endpoint(client, world):
    r = client.get("/v1/audit/verify", headers=auth(world.tokens["auditor"]))
    assert r.status_code == 200 and r.json()["ok"] and r.json()["entries"] > 0


def test_openapi_describes_every_endpoint(client, server):
    spec = client.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    from starlette.routing import Route

    app_routes = {(m, r.path.replace(":int", "")) for r in server.server.config.app.routes
                  if isinstance(r, Route) for m in r.methods if m != "HEAD"}
    documented = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    assert {r for r in app_routes if r[1].startswith("/v1/")} <= documented
    assert spec["paths"]["/v1/provisions"]["post"]["requestBody"]
    assert spec["components"]["schemas"]["ProvisionRequest"]["additionalProperties"] is False
    # nothing that deletes, and nothing that lists numbers
    assert not any("delete" in ops for ops in spec["paths"].values())


# --- concurrency and logs -----------------------------------------------------------------------

def test_parallel_requests_lose_no_records(server, world):
    n = 200
    before_prov = count(world, "provision_records")
    before_checks = count(world, "authenticity_checks")
    before_audit = count(world, "audit_log")

    local = threading.local()
    clients = []

    def one(i):
        c = getattr(local, "client", None)
        if c is None:  # one connection per thread: 16 concurrent connections in flight
            c = local.client = httpx.Client(base_url=server.url, timeout=60)
            clients.append(c)
        if i % 4 == 0:
            return c.post("/v1/authenticity-checks", json={"person_id": "P0001", "my_number": world.numbers["P0001"]},
                          headers=auth(world.tokens["staff"])).status_code
        return c.post("/v1/provisions", json=provision_body(subject=f"SUBJ000{1 + i % 4}"),
                      headers=gw(world)).status_code

    with ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(one, range(n)))
    for c in clients:
        c.close()
    assert statuses.count(200) == n
    assert count(world, "provision_records") - before_prov == n - n // 4
    assert count(world, "authenticity_checks") - before_checks == n // 4
    assert count(world, "audit_log") - before_audit == n // 4
    from jukimatch.api.service import verify

    assert verify(world.store.path).ok


def test_no_number_in_any_log_line(client, world, logs):
    # a number typed into a URL still must not reach the logs in clear
    client.get(f"/v1/persons/{world.numbers['P0003']}", headers=auth(world.tokens["staff"]))
    client.post("/v1/authenticity-checks", json={"person_id": "P0003", "my_number": world.numbers["P0003"]},
                headers=auth(world.tokens["staff"]))
    assert logs.lines, "the log capture saw nothing"
    leaked = [ln for ln in logs.lines if NUMBER_RE.search(ln)]
    assert not leaked, leaked[:3]
    assert any("********" + world.numbers["P0003"][-4:] in ln for ln in logs.lines)
