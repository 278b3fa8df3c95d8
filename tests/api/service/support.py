"""Shared helpers for the service tests: a real uvicorn server on loopback, a small store."""
from __future__ import annotations

import logging
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from jukimatch.api.service import FourInfo, Store, add_user, load_copies, load_persons, seed_requesters
from jukimatch.engine.validate.checkdigit import check_digit_of_ints

NUMBER_RE = re.compile(r"(?<![0-9])[0-9]{12}(?![0-9])")
LOGGERS = ("uvicorn", "jukimatch.service", "httpx")


def my_number(body: int) -> str:
    """A valid My Number from an 11-digit body."""
    import numpy as np

    return f"{body:011d}{int(check_digit_of_ints(np.array([body]))[0])}"


def bad_number(body: int) -> str:
    """The same body with a wrong check digit."""
    good = my_number(body)
    return good[:11] + str((int(good[11]) + 1) % 10)


PEOPLE = [
    # person_id, resident class, alpha, kanji, kana, birth date, sex, address
    ("P0001", "mid_long_term", "NGUYEN VAN AN", None, "グエン ヴァン アン", "1990-04-12", "1",
     "東京都新宿区西新宿二丁目8番1号"),
    ("P0002", "special_permanent", "KIM MINJUN", "金 民俊", "キム ミンジュン", "1975-11-03", "1",
     "大阪府大阪市生野区桃谷3-4-5"),
    ("P0003", "mid_long_term", "SANTOS MARIA CLARA", None, "サントス マリア クララ", "1988-02-29", "2",
     "愛知県名古屋市中区栄4-1-1"),
    ("P0004", "mid_long_term", "ZHANG WEI", "張 偉", "チョウ イ", "2001-07-21", "1", "神奈川県横浜市中区山下町1"),
    ("P0005", "mid_long_term", "GURUNG SITA", None, "グルン シタ", "1996-09-09", "2", "埼玉県川口市本町1-2-3"),
    ("P0006", "mid_long_term", "SILVA JOAO", None, "シルバ ジョアン", "1983-01-15", "1", "静岡県浜松市中区砂山町6"),
]


@dataclass
class World:
    """A small store with persons, copies, requesters, users — and the register Juki-net holds."""

    store: Store
    tokens: dict[str, str]
    numbers: dict[str, str]  # person_id -> the person's true My Number
    register: dict[str, FourInfo]  # my_number -> 4 information on the resident register
    gateway_tokens: dict[str, str] = field(default_factory=dict)


def build_world(path) -> World:
    """Persons P0001-P0006; P0001 has its number registered; copies with one no-auto-response flag."""
    store = Store(path)
    seed_requesters(store)
    load_persons(store, [dict(person_id=p[0], subject_id=f"SUBJ{p[0][1:]}", resident_class=p[1], name_alpha=p[2],
                              name_kanji=p[3], name_kana=p[4], birth_date=p[5], sex=p[6], address=p[7],
                              nationality="VNM", card_number=f"AB{i:08d}CD") for i, p in enumerate(PEOPLE)])
    copies = []
    for i, p in enumerate(PEOPLE):
        subject = f"SUBJ{p[0][1:]}"
        copies.append({"subject_id": subject, "kind": "E", "data": {"nationality": "VNM", "last_entry": "2024-04-01"}})
        if p[1] == "special_permanent":
            copies.append({"subject_id": subject, "kind": "S", "data": {"certificate_number": f"SP{i:08d}XY"}})
        else:
            copies.append({"subject_id": subject, "kind": "C", "data": {"status": "engineer", "card_number":
                                                                         f"AB{i:08d}CD"},
                           "no_auto_response": p[0] == "P0005"})
    load_copies(store, copies)
    numbers = {p[0]: my_number(10_000_000_000 + 7919 * i) for i, p in enumerate(PEOPLE)}
    register = {numbers[p[0]]: FourInfo(name_alpha=p[2], name_kanji=p[3], name_kana=p[4], birth_date=p[5], sex=p[6],
                                        address=p[7]) for p in PEOPLE}
    # someone else entirely, on the register only
    stranger = my_number(55_555_555_555)
    register[stranger] = FourInfo(name_alpha="OKAFOR CHIDI", name_kana="オカフォー チディ", birth_date="1960-01-01",
                                  sex="1", address="北海道札幌市中央区北1条西2丁目")
    numbers["stranger"] = stranger
    from jukimatch.api.service import register_bulk

    register_bulk(store, [("P0001", numbers["P0001"])])
    tokens = {role: add_user(store, f"{role}-1", role)
              for role in ("staff", "operator", "auditor", "clerk", "supervisor")}
    gateways = {}
    import jukimatch.datasets.requesters as rq

    for code in sorted({r.requester_code for r in rq.load_requesters()}):
        gateways[code] = add_user(store, f"gw-{code}", "gateway", requester_code=code)
    tokens["gateway"] = gateways["mhlw"]
    return World(store, tokens, numbers, register, gateways)


class LogCapture(logging.Handler):
    """Collects every formatted record of the service's loggers (after their filters ran)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def attach(self) -> None:
        for name in LOGGERS:
            lg = logging.getLogger(name)
            lg.addHandler(self)
            lg.setLevel(logging.INFO)

    def detach(self) -> None:
        for name in LOGGERS:
            logging.getLogger(name).removeHandler(self)


class LiveServer:
    """A real uvicorn server on 127.0.0.1 and a free port, in a thread of this process."""

    def __init__(self, app: Any, **config: Any) -> None:
        """``config``: more uvicorn options, e.g. ``ssl_certfile``/``ssl_keyfile`` for HTTPS."""
        import uvicorn

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        # accepted connections inherit this; without it small responses wait for delayed ACKs (~40 ms)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.port = self.sock.getsockname()[1]
        self.url = f"{'https' if config.get('ssl_certfile') else 'http'}://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=True, lifespan="on",
                                                    timeout_graceful_shutdown=5, **config))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def start(self) -> "LiveServer":
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)
        self.sock.close()


def live(app: Any, **config: Any):
    """Context-manager-like generator for fixtures: yields a started server, stops it after."""
    srv = LiveServer(app, **config).start()
    try:
        yield srv
    finally:
        srv.stop()


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}

