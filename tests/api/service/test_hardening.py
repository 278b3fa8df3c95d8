"""Every access recorded, crafted requests refused with a 4xx, free text masked, and transport."""
from __future__ import annotations

import datetime
import ipaddress
import os
import sqlite3
import ssl

import httpx
import pytest
from tests.api.service.support import auth, build_world, live

from jukimatch.api.service import HttpJukinet, create_app, provide
from jukimatch.api.service.jukinet import InsecureJukinet, check_url, read_token
from jukimatch.engine.io import InputError


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return build_world(tmp_path_factory.mktemp("hard") / "store.sqlite")


@pytest.fixture(scope="module")
def client(world):
    app = create_app(world.store, jukinet=None, retry_interval_s=None)
    for srv in live(app):
        with httpx.Client(base_url=srv.url, timeout=30) as c:
            yield c


def _one(world, sql, args=()):
    conn = sqlite3.connect(world.store.path)
    try:
        return conn.execute(sql, args).fetchone()
    finally:
        conn.close()


def _last_provision(world):
    return _one(world, "SELECT id, status, reason, bound_requester FROM provision_records ORDER BY id DESC LIMIT 1")


def test_checking_a_number_against_an_unknown_person_is_audited(client, world):
    typed = world.numbers["P0003"]
    r = client.post("/v1/authenticity-checks", json={"person_id": "NOBODY", "my_number": typed},
                    headers=auth(world.tokens["staff"]))
    assert r.status_code == 404
    assert _one(world, "SELECT staff_id, my_number, detail FROM audit_log WHERE person_id = 'NOBODY'") == \
        ("staff-1", typed, '{"result":"unknown_person"}')


def test_a_provision_that_fails_inside_is_recorded(client, world):
    from jukimatch.api.service import load_copies

    load_copies(world.store, [{"subject_id": "SUBJ0006", "kind": "E", "data": "{broken json"}])
    r = client.post("/v1/provisions", json={"requester": "mhlw", "office_work_row": 1, "info_kinds": ["E"],
                                            "subject": "SUBJ0006"}, headers=auth(world.gateway_tokens["mhlw"]))
    assert r.status_code == 500 and r.json() == {"error": "internal_error", "message": "internal error"}
    _, status, reason, bound = _last_provision(world)
    assert (status, bound) == ("error", "mhlw") and reason.startswith("internal_error")
    assert _one(world, "SELECT count(*) FROM provision_records WHERE subject_id = 'SUBJ0006'")[0] == 1


CRAFTED = {
    "nested": "[" * 5000,
    "long_integer": '{"requester": "mhlw", "office_work_row": ' + "9" * 5000 + ', "info_kinds": ["E"], '
                    '"subject": "SUBJ0001"}',
    "lone_surrogate": '{"requester": "\\ud800", "office_work_row": 1, "info_kinds": ["E"], "subject": "SUBJ0001"}',
    "nested_object": '{"a": ' * 2000 + "1" + "}" * 2000,
}


@pytest.mark.parametrize("name", sorted(CRAFTED))
def test_crafted_provision_bodies_are_refused_and_recorded(client, world, name):
    before = _last_provision(world)[0]
    r = client.post("/v1/provisions", content=CRAFTED[name].encode("utf-8", "surrogatepass"),
                    headers={**auth(world.gateway_tokens["mhlw"]), "content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error"] == "malformed_json"
    pid, status, _, bound = _last_provision(world)
    assert pid == before + 1 and (status, bound) == ("invalid", "mhlw")
    assert r.json()["details"]["provision_id"] == pid


@pytest.mark.parametrize("name", sorted(CRAFTED))
def test_crafted_check_bodies_are_refused_and_audited(client, world, name):
    r = client.post("/v1/authenticity-checks", content=CRAFTED[name].encode("utf-8", "surrogatepass"),
                    headers={**auth(world.tokens["staff"]), "content-type": "application/json"})
    assert r.status_code == 400
    assert _one(world, "SELECT operation, detail FROM audit_log ORDER BY seq DESC LIMIT 1") == \
        ("authenticity_check_refused", '{"error":"malformed_json","status":400}')


@pytest.mark.parametrize("path", ["/v1/provisions/{}", "/v1/authenticity-checks/{}", "/v1/holds/{}"])
def test_ids_beyond_sqlite_integers_are_404(client, world, path):
    role = {"/v1/provisions/{}": "auditor", "/v1/authenticity-checks/{}": "staff", "/v1/holds/{}": "operator"}[path]
    for big in (2**63, 10**40):
        r = client.get(path.format(big), headers=auth(world.tokens[role]))
        assert r.status_code == 404, r.text


def test_refuse_hold_with_huge_id_and_query_integers(client, world):
    r = client.post(f"/v1/holds/{10**30}/refuse", json={"reason": "x"}, headers=auth(world.tokens["operator"]))
    assert r.status_code == 404
    r = client.get("/v1/audit", params={"after": "9" * 5000}, headers=auth(world.tokens["auditor"]))
    assert r.status_code == 422


def test_free_text_is_stored_masked(world):
    number = world.numbers["P0004"]
    spaced = f"{number[:4]} {number[4:8]} {number[8:]}"
    res = provide(world.store, "mhlw", 1, ["E", "C"], "SUBJ0005", user_id="gw-mhlw", bound_requester="mhlw",
                  procedure=f"asked about {spaced}")
    assert res.status == "held"
    from jukimatch.api.service import refuse_hold

    refuse_hold(world.store, res.hold_id, operator_id="op", reason=f"number {number} typed in the note")
    conn = sqlite3.connect(world.store.path)
    row = conn.execute("SELECT procedure, reason FROM provision_records WHERE id = ?", (res.provision_id,)).fetchone()
    assert row == (f"asked about **** **** {number[8:]}", f"refused by operator: number ********{number[8:]} "
                                                          "typed in the note")


# --- transport -------------------------------------------------------------------------------

def _self_signed(tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return cert_path, key_path


def _recording_jukinet(seen: list):
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def four_info(request):
        seen.append(request.headers.get("authorization"))
        return JSONResponse({"found": False})

    return Starlette(routes=[Route("/v1/four-info", four_info, methods=["POST"])])


def test_https_service_and_jukinet_client_with_its_token(tmp_path, world):
    from jukimatch.api.service.commands import tls_options

    cert, key = _self_signed(tmp_path)
    tls = tls_options(str(cert), str(key))
    ca = ssl.create_default_context(cafile=str(cert))
    seen: list = []
    token_file = tmp_path / "jukinet.token"
    token_file.write_text("s3cret-token\n")
    os.chmod(token_file, 0o600)
    for juki in live(_recording_jukinet(seen), **tls):
        client = HttpJukinet(juki.url, token=read_token(token_file), verify=ca, retries=0)
        assert client.lookup(world.numbers["P0002"]) is None
        client.close()
    assert seen == ["Bearer s3cret-token"]
    for srv in live(create_app(world.store, retry_interval_s=None), **tls):
        assert srv.url.startswith("https://")
        with httpx.Client(verify=ca) as c:
            assert c.get(srv.url + "/health").status_code == 200
        with pytest.raises(httpx.HTTPError):
            httpx.get(srv.url.replace("https", "http") + "/health", timeout=5)


def test_plain_http_jukinet_is_refused_off_loopback():
    for url in ("http://10.0.0.7:8080", "http://jukinet.example.jp", "ftp://127.0.0.1"):
        with pytest.raises(InsecureJukinet):
            HttpJukinet(url)
    check_url("http://10.0.0.7:8080", allow_insecure=True)
    for url in ("http://127.0.0.1:9", "http://[::1]:9", "http://localhost:9", "https://jukinet.example.jp"):
        check_url(url)


def test_serve_refuses_insecure_jukinet_and_half_tls(tmp_path):
    import argparse

    from jukimatch.api.service.commands import add_serve_parser

    p = argparse.ArgumentParser()
    add_serve_parser(p.add_subparsers(dest="command"))
    cert, key = _self_signed(tmp_path)
    for argv in (["serve", "--jukinet-url", "http://jukinet.example.jp"], ["serve", "--tls-cert", str(cert)],
                 ["serve", "--tls-cert", str(cert), "--tls-key", str(tmp_path / "missing.pem")]):
        args = p.parse_args(argv + ["--db", str(tmp_path / "s.sqlite")])
        with pytest.raises(InputError):
            args.func(args)

