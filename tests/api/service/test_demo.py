"""``serve --demo``: a generated population loaded into a new store, served by worker processes."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest
from tests.api.service.support import NUMBER_RE, auth

from jukimatch.api.service.demo import COPY_KINDS, copy_rows

LAUNCH = """
import argparse, sys
from jukimatch.api.service.commands import add_audit_parser, add_serve_parser
p = argparse.ArgumentParser(prog="jukimatch")
sub = p.add_subparsers(dest="command", required=True)
add_serve_parser(sub); add_audit_parser(sub)
args = p.parse_args(sys.argv[1:])
sys.exit(args.func(args))
"""


def test_copy_rows_from_the_wide_table():
    row = {"subject_id": "s1", "person_id": "p1", "entry_exit_date": "2024-01-01", "entry_exit_port": "NRT",
           "residence_card_status": "student", "residence_card_number": "AB12345678CD",
           "sp_certificate_number": None, "no_auto_response_entry_exit": "0", "no_auto_response_residence_card": "1",
           "no_auto_response_sp_certificate": "0"}
    out = list(copy_rows([row]))
    assert [(r["kind"], r["no_auto_response"]) for r in out] == [("E", False), ("C", True)]
    assert out[1]["data"] == {"status": "student", "number": "AB12345678CD"}
    assert set(COPY_KINDS) == {"E", "C", "S"}


def _free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("demo")
    db = tmp / "ims.sqlite"
    port = _free_port()
    log = open(tmp / "serve.log", "w")
    proc = subprocess.Popen([sys.executable, "-c", LAUNCH, "serve", "--db", str(db), "--demo", "400", "--seed", "5",
                             "--port", str(port), "--workers", "2", "--retry-interval", "1"],
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    try:
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((tmp / "serve.log").read_text())
            time.sleep(0.2)
        yield db, url, json.loads((tmp / "tokens.json").read_text()), tmp / "serve.log"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the process group this fixture started (server and workers)
        proc.wait(30)
        log.close()


def test_demo_store_is_filled_and_served(demo):
    import sqlite3

    db, url, tokens, _ = demo
    assert set(tokens) >= {"staff", "operator", "auditor", "gateway", "gateways"} and len(tokens["gateways"]) == 14
    assert oct(os.stat(db.with_name("tokens.json")).st_mode & 0o777) == "0o600"
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM persons").fetchone()[0] == 400
    assert conn.execute("SELECT count(*) FROM requesters").fetchone()[0] == 19
    subject = conn.execute("SELECT c.subject_id FROM copies c WHERE c.kind = 'E' AND c.no_auto_response = 0"
                           " AND NOT EXISTS (SELECT 1 FROM copies d WHERE d.subject_id = c.subject_id"
                           " AND d.no_auto_response = 1) LIMIT 1").fetchone()[0]
    person, number = conn.execute("SELECT person_id, my_number FROM registrations WHERE status = 'registered'"
                                  " LIMIT 1").fetchone()
    conn.close()
    with httpx.Client(base_url=url, timeout=30) as c:
        r = c.post("/v1/provisions", json={"requester": "mhlw", "office_work_row": 73, "info_kinds": ["E"],
                                           "subject": subject}, headers=auth(tokens["gateway"]))
        assert r.status_code == 200 and r.json()["copies"]["E"]
        r = c.post("/v1/authenticity-checks", json={"person_id": person, "my_number": number},
                   headers=auth(tokens["staff"]))
        assert r.status_code == 200 and r.json()["result"] == "authentic"
        assert c.get("/v1/audit/verify", headers=auth(tokens["auditor"])).json()["ok"]


def test_demo_refuses_an_existing_store_and_logs_no_numbers(demo):
    db, _, _, log = demo
    out = subprocess.run([sys.executable, "-c", LAUNCH, "audit", "verify", "--db", str(db)], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0 and "audit chain ok" in out.stdout
    assert not NUMBER_RE.search(log.read_text())
