"""The Juki-net responder: the HTTP client's timeouts and retries against the served stand-in."""
from __future__ import annotations

import httpx
import pytest
from tests.api.service.support import live, my_number

from jukimatch.api.service import FourInfo, HttpJukinet, Jukinet, JukinetUnavailable, NoJukinet
from jukimatch.api.service.standin import OnlineJukinet, asgi_app

KNOWN = my_number(31_415_926_535)
INFO = FourInfo(name_alpha="TRAN THI MAI", name_kana="チャン ティ マイ", birth_date="1999-12-31", sex="2",
                address="東京都豊島区池袋1-1-1")


@pytest.fixture(scope="module")
def standin():
    return OnlineJukinet({KNOWN: INFO})


@pytest.fixture(scope="module")
def url(standin):
    for srv in live(asgi_app(standin)):
        yield srv.url


def test_both_responders_satisfy_the_protocol(standin):
    assert isinstance(standin, Jukinet) and isinstance(HttpJukinet("http://127.0.0.1:9"), Jukinet)
    assert isinstance(NoJukinet(), Jukinet)


def test_http_client_found_and_not_found(url, standin):
    client = HttpJukinet(url)
    assert client.lookup(KNOWN) == INFO
    assert client.lookup(my_number(27_182_818_284)) is None
    standin.available = False
    try:
        with pytest.raises(JukinetUnavailable, match="3 attempts"):
            HttpJukinet(url, retries=2, backoff_s=0.001).lookup(KNOWN)
    finally:
        standin.available = True


def test_http_client_times_out(url, standin):
    standin.latency_s = 0.5
    try:
        with pytest.raises(JukinetUnavailable, match="timeout"):
            HttpJukinet(url, timeout_s=0.05, retries=1, backoff_s=0.001).lookup(KNOWN)
    finally:
        standin.latency_s = 0.0


def test_http_client_unreachable():
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    with pytest.raises(JukinetUnavailable, match="transport error"):
        HttpJukinet(f"http://127.0.0.1:{port}", retries=1, backoff_s=0.001).lookup(KNOWN)


def test_http_client_retries_then_succeeds():
    answers = iter([503, 429, 200])
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        code = next(answers)
        if code != 200:
            return httpx.Response(code)
        return httpx.Response(200, json={"found": True, "four_info": INFO.as_record()})

    client = HttpJukinet("https://jukinet.test", retries=2, backoff_s=0.001, transport=httpx.MockTransport(handler))
    assert client.lookup(KNOWN) == INFO
    assert len(seen) == 3
    assert all(KNOWN not in str(r.url) for r in seen)  # the number travels in the body only


def test_http_client_does_not_retry_our_own_mistakes():
    calls = []

    def handler(request):
        calls.append(1)
        return httpx.Response(400)

    client = HttpJukinet("https://jukinet.test", retries=3, transport=httpx.MockTransport(handler))
    with pytest.raises(JukinetUnavailable, match="refused"):
        client.lookup(KNOWN)
    assert len(calls) == 1


def test_standin_rates_are_seeded_and_bounded():
    a = OnlineJukinet({KNOWN: INFO}, error_rate=0.3, seed=7)
    b = OnlineJukinet({KNOWN: INFO}, error_rate=0.3, seed=7)

    def outcomes(j):
        out = []
        for _ in range(200):
            try:
                out.append(j.lookup(KNOWN) is not None)
            except JukinetUnavailable:
                out.append(None)
        return out

    oa = outcomes(a)
    assert oa == outcomes(b)
    assert 30 < oa.count(None) < 90
    with pytest.raises(ValueError):
        OnlineJukinet({}, error_rate=1.5)


def test_standin_from_rows_keeps_found_rows_only():
    rows = [{"person_id": "A", "status": "found", "my_number": KNOWN, **INFO.as_record()},
            {"person_id": "B", "status": "not_found", "my_number": None}]
    j = OnlineJukinet.from_rows(rows)
    assert len(j) == 1 and j.lookup(KNOWN) == INFO
