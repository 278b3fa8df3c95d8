"""An online Juki-net responder stand-in: My Number in, the resident register's 4 information out.

It plays the outside world for ``serve --demo``, ``serve --jukinet-file``, the tests and the
load runs of sim/; the service itself only knows the :class:`~jukimatch.api.service.jukinet.Jukinet`
protocol (the stand-in is injected when the app is built). It answers from a population table — the
register as Juki-net holds it, i.e. the ``found`` rows of a generated ``responses`` file —
with configurable latency, error rate and timeouts, drawn from a seeded generator so that a
load run can be repeated. The same object serves over HTTP (:func:`asgi_app`) in the wire
format :class:`jukimatch.api.service.jukinet.HttpJukinet` speaks, so the HTTP client's
timeouts and retries can be exercised against it too.
"""
from __future__ import annotations

import random
import threading
import time
from pathlib import Path
from typing import Any, Iterable, Mapping

from jukimatch.api.service.jukinet import FOUR_INFO_FIELDS, FourInfo, JukinetUnavailable


class OnlineJukinet:
    """In-process responder implementing the service's ``Jukinet`` protocol.

    ``latency_s`` (+ uniform ``jitter_s``) is slept on every call; with probability
    ``error_rate`` a call fails at once, with probability ``timeout_rate`` it hangs for
    ``timeout_s`` and then fails — both raise :class:`JukinetUnavailable`, as a client with
    a timeout would. ``available`` switches the whole responder off and on (an outage).
    Thread-safe; ``calls`` counts lookups for tests and load reports.
    """

    def __init__(self, population: Mapping[str, FourInfo | Mapping[str, Any]], *, latency_s: float = 0.0,
                 jitter_s: float = 0.0, error_rate: float = 0.0, timeout_rate: float = 0.0, timeout_s: float = 1.0,
                 seed: int = 0) -> None:
        for name, rate in (("error_rate", error_rate), ("timeout_rate", timeout_rate)):
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name} must lie in [0, 1], got {rate}")
        if latency_s < 0 or jitter_s < 0 or timeout_s < 0:
            raise ValueError("latency_s, jitter_s and timeout_s must not be negative")
        self._register = {str(k): (v if isinstance(v, FourInfo) else FourInfo.from_mapping(dict(v)))
                          for k, v in population.items()}
        self.latency_s, self.jitter_s = latency_s, jitter_s
        self.error_rate, self.timeout_rate, self.timeout_s = error_rate, timeout_rate, timeout_s
        self.available = True
        self.calls = 0
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._register)

    def lookup(self, my_number: str) -> FourInfo | None:
        with self._lock:
            self.calls += 1
            draw = self._rng.random()
            jitter = self._rng.uniform(0.0, self.jitter_s) if self.jitter_s else 0.0
        if not self.available:
            raise JukinetUnavailable("Juki-net stand-in is switched off (outage)")
        if draw < self.error_rate:
            raise JukinetUnavailable("Juki-net stand-in: injected error")
        if draw < self.error_rate + self.timeout_rate:
            time.sleep(self.timeout_s)
            raise JukinetUnavailable(f"Juki-net stand-in: no answer within {self.timeout_s}s")
        if self.latency_s or jitter:
            time.sleep(self.latency_s + jitter)
        return self._register.get(my_number)

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, Any]], **options: Any) -> "OnlineJukinet":
        """From response-like rows: ``found`` rows (or rows without ``status``) with a ``my_number``."""
        population: dict[str, FourInfo] = {}
        for r in rows:
            if r.get("status", "found") != "found" or not r.get("my_number"):
                continue
            population.setdefault(str(r["my_number"]), FourInfo.from_mapping({f: r.get(f) for f in FOUR_INFO_FIELDS}))
        return cls(population, **options)

    @classmethod
    def from_file(cls, path: str | Path, **options: Any) -> "OnlineJukinet":
        """From a responses file (.parquet or .csv, every column read as text)."""
        import pyarrow.csv as pcsv
        import pyarrow.parquet as pq

        p = Path(path)
        if p.suffix.lower() == ".parquet":
            table = pq.read_table(p)
        else:
            names = pcsv.read_csv(p, read_options=pcsv.ReadOptions(skip_rows_after_names=10**9)).column_names
            table = pcsv.read_csv(p, convert_options=pcsv.ConvertOptions(column_types={n: "string" for n in names}))
        cols = [c for c in ("status", "my_number", *FOUR_INFO_FIELDS) if c in table.column_names]
        return cls.from_rows(table.select(cols).to_pylist(), **options)


def asgi_app(responder: Any) -> Any:
    """Serve ``responder.lookup`` over HTTP: ``POST /v1/four-info`` ``{"my_number": ...}``.

    Unavailability is answered with 503 (so the client retries), a malformed body with 400.
    """
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def four_info(request: Request) -> JSONResponse:
        try:
            body = await request.json()
            number = body["my_number"]
            if not isinstance(number, str):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": "bad_request", "message": "expected {\"my_number\": \"...\"}"}, 400)
        try:
            info = await run_in_threadpool(responder.lookup, number)
        except JukinetUnavailable as exc:
            return JSONResponse({"error": "unavailable", "message": str(exc)}, 503)
        if info is None:
            return JSONResponse({"found": False})
        return JSONResponse({"found": True, "four_info": info.as_record()})

    return Starlette(routes=[Route("/v1/four-info", four_info, methods=["POST"])])
