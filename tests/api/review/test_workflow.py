"""The review workbench below the pages: load, leases, four eyes, 409s, export, users, the JSON API."""
from __future__ import annotations

import json
import os
import re
import shutil
import stat

import httpx
import hypothesis.strategies as st
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from tests.api.review.support import count, make_desk, plain_cases, rank_of, shared_pair
from tests.api.service.support import live

from jukimatch.api.cli import main
from jukimatch.api.review import (approve, decide, decision_seconds, export, load_run, open_case, queue_counts,
                                  reveal)
from jukimatch.api.service import Principal, create_app, verify
from jukimatch.api.service.auth import principal_of_token
from jukimatch.api.service.errors import Conflict, Forbidden, Unprocessable
from jukimatch.engine.files.crypt import load_key, read_parquet, write_key_file

FULL_NUMBER = re.compile(r"(?<![\d.])\d{12}(?!\d)")  # not the digits of a probability
CLERK1, CLERK2 = Principal("clerk1", "clerk"), Principal("clerk2", "clerk")
SUP1, SUP2 = Principal("sup1", "supervisor"), Principal("sup2", "supervisor")


@pytest.fixture(scope="module")
def desk(tmp_path_factory):
    return make_desk(tmp_path_factory)


@pytest.fixture(scope="module")
def plain(desk):
    cases = plain_cases(desk.store)
    assert len(cases) >= 12, "the generated run should hold plain review cases"
    return iter(cases)


@pytest.fixture(scope="module")
def server(desk):
    yield from live(create_app(desk.store, retry_interval_s=None))


def _number(desk, pid, rank=1):
    return desk.store.conn.execute("SELECT k.my_number FROM review_candidates k JOIN review_cases c USING (case_id)"
                                   " WHERE c.person_id = ? AND k.rank = ?", (pid, rank)).fetchone()[0]


def test_load_takes_full_numbers_from_the_responses_and_is_idempotent(desk):
    decisions = pq.read_table(desk.run_dir / "decisions.parquet").to_pylist()
    review_persons = {d["person_id"] for d in decisions if d["decision"] == "review"}
    stored = {r[0] for r in desk.store.conn.execute("SELECT person_id FROM review_cases")}
    assert stored == review_persons
    masked = {(r["person_id"], r["candidate_rank"]): r["my_number_masked"]
              for r in pq.read_table(desk.run_dir / "review.parquet").to_pylist() if r["candidate_rank"]}
    for pid, rank, number in desk.store.conn.execute(
            "SELECT c.person_id, k.rank, k.my_number FROM review_candidates k JOIN review_cases c USING (case_id)"):
        assert number is None or ("*" * 8 + number[-4:] == masked[pid, rank] and re.fullmatch(r"\d{12}", number))
    again = load_run(desk.store, desk.run_dir)
    assert again.already_loaded and count(desk.store.path, "SELECT count(*) FROM review_cases") == len(stored)
    assert stat.S_IMODE(os.stat(desk.store.path).st_mode) == 0o600


def test_four_eyes_and_the_proposer_cannot_approve(desk, plain):
    pid = next(plain)
    open_case(desk.store, pid, CLERK1)
    res = decide(desk.store, pid, CLERK1, "confirm", candidate=1)
    assert res["decision"] == "proposed" and res["status"] == "proposed"
    assert count(desk.store.path, "SELECT count(*) FROM registrations WHERE person_id = ?", (pid,)) == 0
    with pytest.raises(Forbidden):
        approve(desk.store, pid, CLERK2, True)  # a clerk never approves
    own = next(plain)
    decide(desk.store, own, SUP1, "confirm", candidate=1)
    with pytest.raises(Forbidden, match="proposer"):
        approve(desk.store, own, SUP1, True)
    assert approve(desk.store, pid, SUP1, True)["status"] == "registered"
    assert count(desk.store.path, "SELECT count(*) FROM registrations WHERE person_id = ? AND my_number = ?"
                 " AND status = 'registered'", (pid, _number(desk, pid))) == 1


def test_a_number_goes_to_one_person_only(desk):
    a, b, number = shared_pair(desk.store)
    decide(desk.store, a, CLERK1, "confirm", candidate=rank_of(desk.store, a, number))
    with pytest.raises(Conflict, match="already proposed for another person"):
        decide(desk.store, b, CLERK2, "confirm", candidate=rank_of(desk.store, b, number))
    approve(desk.store, a, SUP2, True)
    with pytest.raises(Conflict, match="already registered for another person") as exc:
        decide(desk.store, b, CLERK2, "confirm", candidate=rank_of(desk.store, b, number))
    assert exc.value.status == 409


def test_returned_proposal_reopens_and_notes_are_required(desk, plain):
    pid = next(plain)
    with pytest.raises(Unprocessable, match="note"):
        decide(desk.store, pid, CLERK1, "no_match")
    decide(desk.store, pid, CLERK1, "confirm", candidate=1)
    with pytest.raises(Unprocessable, match="note"):
        approve(desk.store, pid, SUP1, False)
    assert approve(desk.store, pid, SUP1, False, note="birth date looks wrong")["status"] == "open"
    assert decide(desk.store, pid, CLERK1, "reinquire", note="ask Juki-net again")["status"] == "reinquire"


def test_two_clerks_never_hold_one_case_until_the_lease_expires(desk, plain):
    pid = next(plain)
    open_case(desk.store, pid, CLERK1)
    with pytest.raises(Conflict, match="another person"):
        decide(desk.store, pid, CLERK2, "no_match", note="x")
    with desk.store.write() as conn:
        conn.execute("UPDATE review_leases SET expires_at = '2000-01-01' WHERE user_id = 'clerk1'")
    assert open_case(desk.store, pid, CLERK2)["leased_by"] == "clerk2"


def test_reveal_is_audited_and_every_step_is_in_the_chain(desk, plain):
    pid = next(plain)
    number = reveal(desk.store, pid, 1, CLERK1)
    assert number == _number(desk, pid)
    ops = {r[0] for r in desk.store.conn.execute("SELECT operation FROM audit_log")}
    assert {"review_load", "review_case_open", "review_reveal", "review_decision", "review_approval"} <= ops
    assert count(desk.store.path, "SELECT count(*) FROM audit_log WHERE operation = 'review_reveal' AND"
                 " staff_id = 'clerk1' AND person_id = ? AND my_number = ?", (pid, number)) == 1
    assert verify(desk.store.path).ok


def test_export_has_approved_registrations_only_owner_readable_or_encrypted(desk, plain, tmp_path):
    done, again, pid = next(plain), next(plain), next(plain)
    decide(desk.store, done, CLERK1, "confirm", candidate=1)
    approve(desk.store, done, SUP1, True)
    decide(desk.store, again, CLERK1, "reinquire", note="no answer fits")
    decide(desk.store, pid, CLERK1, "confirm", candidate=1)  # proposed, not approved: not exported
    res = export(desk.store, tmp_path / "out")
    regs = pq.read_table(tmp_path / "out" / "registrations.parquet")
    assert regs.column_names == ["person_id", "my_number", "proposed_by", "approved_by", "decided_at", "run"]
    approved = {r[0] for r in desk.store.conn.execute(
        "SELECT person_id FROM review_decisions WHERE status = 'approved'")}
    assert set(regs.column("person_id").to_pylist()) == approved and pid not in approved
    for row in regs.to_pylist():
        assert row["proposed_by"] != row["approved_by"] and re.fullmatch(r"\d{12}", row["my_number"])
    pending = pq.read_table(tmp_path / "out" / "pending.parquet")
    assert "card_number" in pending.column_names and pending.num_rows == res["pending"] >= 1
    assert res["proposed"] >= 1 and res["open"] > 0
    for name in ("registrations.parquet", "pending.parquet"):
        assert stat.S_IMODE(os.stat(tmp_path / "out" / name).st_mode) == 0o600
    key = write_key_file(tmp_path / "k.bin")
    enc = export(desk.store, tmp_path / "enc", key=load_key(key))
    assert enc["written"]["registrations"].endswith(".enc")
    assert read_parquet(enc["written"]["registrations"], load_key(key)).num_rows == regs.num_rows
    assert count(desk.store.path, "SELECT count(*) FROM audit_log WHERE operation = 'review_export'") == 2


def test_a_later_run_is_added_beside_and_skips_registered_persons(desk, tmp_path):
    later = tmp_path / "later"
    shutil.copytree(desk.run_dir, later)
    table = pq.read_table(later / "review.parquet")
    ids = table.column("person_id").to_pylist()
    a, b = sorted(set(ids) - _registered(desk))[:2]  # the lead's duplicate_record / namesake_twin column
    related = [[b] if p == a else [a] if p == b else [] for p in ids]
    table = table.drop_columns([c for c in table.column_names if c == "related_person_ids"])
    table = table.append_column("related_person_ids", pa.array(related, pa.list_(pa.string())))
    pq.write_table(table, later / "review.parquet")  # another file: another run
    registered = _registered(desk)
    assert registered
    res = load_run(desk.store, later)
    assert not res.already_loaded and res.skipped_registered == len(registered) and res.superseded > 0
    assert count(desk.store.path, "SELECT count(*) FROM review_runs") == 2
    for pid in registered:
        assert count(desk.store.path, "SELECT count(*) FROM review_cases WHERE person_id = ?", (pid,)) == 1
    assert count(desk.store.path, "SELECT count(*) FROM (SELECT person_id FROM review_cases WHERE status IN"
                 " ('open', 'escalated') GROUP BY person_id HAVING count(*) > 1)") == 0
    shown = open_case(desk.store, a, SUP1)["related"]
    assert [r["person_id"] for r in shown] == [b] and shown[0]["resident"]["person_id"] == b


def _registered(desk):
    return {r[0] for r in desk.store.conn.execute("SELECT person_id FROM registrations WHERE status = 'registered'")}


def test_escalated_cases_go_to_supervisors(desk, plain):
    pid = next(plain)
    assert decide(desk.store, pid, CLERK1, "escalate", note="two plausible readings")["status"] == "escalated"
    with pytest.raises(Conflict, match="escalated"):
        decide(desk.store, pid, CLERK2, "no_match", note="x")
    assert decide(desk.store, pid, SUP1, "no_match", note="not this person")["status"] == "no_match"


def test_users_commands_tokens_expire_rotate_revoke(desk, capsys):
    db = str(desk.store.path)
    assert main(["users", "add", "--db", db, "--name", "clerk9", "--role", "clerk", "--expires", "30"]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1].split()[-1]
    assert principal_of_token(desk.store.conn, token).role == "clerk"
    assert main(["users", "list", "--db", db, "--json"]) == 0
    users = {u["user_id"]: u for u in json.loads(capsys.readouterr().out)}
    assert users["clerk9"]["live_tokens"] == 1 and token not in json.dumps(users)
    assert main(["users", "rotate", "--db", db, "--name", "clerk9"]) == 0
    new = capsys.readouterr().out.strip().split()[-1]
    assert principal_of_token(desk.store.conn, token) is None and principal_of_token(desk.store.conn, new)
    with desk.store.write() as conn:
        conn.execute("UPDATE tokens SET expires_at = '2000-01-01' WHERE user_id = 'clerk9'")
    assert principal_of_token(desk.store.conn, new) is None
    assert main(["users", "rotate", "--db", db, "--name", "clerk9"]) == 0
    assert main(["users", "revoke", "--db", db, "--name", "clerk9"]) == 0
    assert "1 token(s) revoked" in capsys.readouterr().out
    assert main(["users", "add", "--db", db, "--name", "x", "--role", "gateway"]) == 2  # a gateway needs a requester
    capsys.readouterr()
    assert main(["users", "rotate", "--db", db, "--name", "nobody"]) == 2
    assert capsys.readouterr().err.strip().endswith("no user 'nobody'")
    assert main(["review", "load", "--db", db, "--run", str(desk.run_dir / "nope")]) == 2


def test_json_api_same_rules_and_in_openapi(desk, server, plain):
    h = {"Authorization": f"Bearer {desk.tokens['clerk2']}"}
    with httpx.Client(base_url=server.url, timeout=30) as c:
        page = c.get("/v1/review/cases", params={"limit": 5}, headers=h)
        assert page.status_code == 200 and len(page.json()["cases"]) == 5
        assert page.json()["counts"]["progress"]["remaining"] > 0
        assert not FULL_NUMBER.search(page.text)
        pid = next(plain)
        case = c.get(f"/v1/review/cases/{pid}", headers=h)
        assert case.status_code == 200 and not FULL_NUMBER.search(case.text)
        assert c.get("/v1/review/cases", headers={"Authorization": f"Bearer {desk.tokens['aud1']}"}).status_code == 403
        assert c.get("/v1/review/cases").status_code == 401
        assert c.post(f"/v1/review/cases/{pid}/decision", json={"action": "maybe"}, headers=h).status_code == 422
        assert c.post(f"/v1/review/cases/{pid}/decision", json={"action": "no_match"}, headers=h).status_code == 422
        assert c.get("/v1/review/cases/nobody", headers=h).status_code == 404
        r = c.post(f"/v1/review/cases/{pid}/decision", json={"action": "confirm", "candidate": 1}, headers=h)
        assert r.status_code == 200 and r.json()["decision"] == "proposed"
        own = c.post(f"/v1/review/cases/{pid}/approval", json={"approve": True}, headers=h)
        assert own.status_code == 403
        ok = c.post(f"/v1/review/cases/{pid}/approval", json={"approve": True},
                    headers={"Authorization": f"Bearer {desk.tokens['sup2']}"})
        assert ok.status_code == 200 and ok.json()["status"] == "registered"
        again = c.post(f"/v1/review/cases/{pid}/approval", json={"approve": True},
                       headers={"Authorization": f"Bearer {desk.tokens['sup1']}"})
        assert again.status_code == 409 and again.json()["message"]
        spec = c.get("/openapi.json").json()
        for path in ("/v1/review/cases", "/v1/review/cases/{person_id}", "/v1/review/cases/{person_id}/decision",
                     "/v1/review/cases/{person_id}/approval"):
            assert path in spec["paths"]
        assert {"ReviewDecision", "ReviewApproval"} <= set(spec["components"]["schemas"])
        assert spec["components"]["schemas"]["ReviewDecision"]["allOf"][0]["else"]["required"] == ["note"]
        pref = c.get("/v1/review/cases", params={"municipality": "東京都", "limit": 200}, headers=h).json()["cases"]
        assert pref and all(x["municipality"].startswith("東京都") for x in pref)


def _one_timed_decision(desk, plain) -> None:
    """A case opened and then decided: the seconds between are measured (so that a test
    reading them does not rest on what the tests before it did)."""
    pid = next(plain)
    open_case(desk.store, pid, CLERK2)
    decide(desk.store, pid, CLERK2, "confirm", candidate=1)


def test_seconds_per_decision_are_measured(desk, plain):
    _one_timed_decision(desk, plain)
    secs = decision_seconds(desk.store)
    assert secs["all"] >= 0 and len(secs) >= 2


def test_four_eyes_off_registers_at_once(desk, plain):
    pid = next(plain)
    res = decide(desk.store, pid, CLERK1, "confirm", candidate=1, four_eyes=False)
    assert res["decision"] == "approved" and res["status"] == "registered"
    assert count(desk.store.path, "SELECT count(*) FROM registrations WHERE person_id = ?", (pid,)) == 1


def test_planner_turns_measured_seconds_into_clerk_days(desk, plain, tmp_path, capsys):
    import datetime as dt

    from jukimatch.sim.planner import REVIEW_SECONDS_ASSUMED, review_plan, review_seconds

    _one_timed_decision(desk, plain)
    measured = review_seconds(desk.store.path)
    assert measured["median_s"]["all"] >= 0 and measured["open_by_reason"]
    start, by = dt.date(2027, 3, 1), dt.date(2027, 3, 31)  # 21 business days before 3/31 (3/22 is a holiday)
    assumed = review_plan(60_000, by, start=start)
    assert assumed["seconds_per_decision"] == REVIEW_SECONDS_ASSUMED and assumed["business_days"] == 21
    assert assumed["clerk_days"] == round(60_000 * REVIEW_SECONDS_ASSUMED / (6 * 3600), 1)
    assert assumed["clerks_needed"] == -(-assumed["clerk_days"] // 21)
    fast = review_plan(60_000, by, start=start, seconds={"median_s": {"all": 30.0, "gaiji": 90.0},
                                                         "open_by_reason": {"gaiji": 1, "uncertain": 3}})
    assert fast["seconds_per_decision"] == (90 + 3 * 30) / 4
    with pytest.raises(ValueError):
        review_plan(10, start, start=start)
    assert main(["simulate", "plan", "--review-only", "--review-queue", "60000", "--review-by", "2099-01-01",
                 "--review-db", str(desk.store.path), "--out", str(tmp_path)]) == 0
    assert "clerk-days" in capsys.readouterr().out and (tmp_path / "review_plan.json").is_file()


def test_counts_kept_by_triggers_equal_a_recount(desk):
    counts = queue_counts(desk.store)
    conn = desk.store.conn
    assert counts["by_status"] == dict(conn.execute("SELECT status, count(*) FROM review_cases GROUP BY status"))
    assert counts["by_reason"] == dict(conn.execute(
        "SELECT r.reason, count(*) FROM review_case_reasons r JOIN review_cases c ON c.case_id = r.case_id"
        " WHERE c.status IN ('open', 'escalated') GROUP BY r.reason"))
    assert {r["run_id"]: r["remaining"] for r in counts["runs"]} == {
        run: n for run, n in conn.execute("SELECT run_id, count(*) FROM review_cases WHERE status IN"
                                          " ('open', 'escalated') GROUP BY run_id")} | \
        {r["run_id"]: 0 for r in counts["runs"] if r["remaining"] == 0}


def test_an_encrypted_run_loads_with_its_key(desk, tmp_path, capsys):
    from jukimatch.engine.files.crypt import encrypt_file

    enc = tmp_path / "enc"
    shutil.copytree(desk.run_dir, enc)
    table = pq.read_table(enc / "review.parquet")
    pq.write_table(table.slice(0, 5), enc / "plain.parquet")
    key = write_key_file(tmp_path / "k.bin")
    encrypt_file(enc / "plain.parquet", enc / "review.parquet.enc", load_key(key))
    (enc / "review.parquet").unlink()
    (enc / "plain.parquet").unlink()
    db = str(desk.store.path)
    assert main(["review", "load", "--db", db, "--run", str(enc)]) == 2
    assert "key file" in capsys.readouterr().err
    assert main(["review", "load", "--db", db, "--run", str(enc), "--key-file", str(key)]) == 0
    assert "cases" in capsys.readouterr().out


@given(st.text(max_size=30), st.text(max_size=30))
def test_highlight_marks_only_and_escapes(a, b):
    from html import unescape

    from jukimatch.api.review.diff import highlight

    for shown, original in zip(highlight(a, b), (a, b)):
        text = str(shown)
        assert "<" not in text.replace("<mark>", "").replace("</mark>", "")  # everything else escaped
        assert unescape(text.replace("<mark>", "").replace("</mark>", "")) == original
    if a == b:
        assert "<mark>" not in str(highlight(a, b)[0])
