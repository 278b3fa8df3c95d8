"""The Juki-net responder as seen from the service: number in, basic 4 information out.

The authenticity check hands J-LIS a My Number and gets back the 4 information tied to it
(the assessment's 提供先20). The service depends only on the :class:`Jukinet` protocol; what
answers is injected when the app is built: :class:`HttpJukinet` for a real endpoint, or the
in-process stand-in of ``jukimatch.api.service.standin`` for demos, tests and load runs.
An unreachable responder raises :class:`JukinetUnavailable`: the caller then keeps the
registration provisional and retries later, it never guesses.

Wire format of :class:`HttpJukinet` (the stand-in serves the same): ``POST {base}/v1/four-info``
with ``{"my_number": "..."}`` — the number travels in the body, never in a URL that access
logs would keep — answered by ``{"found": true, "four_info": {...}}`` or ``{"found": false}``.
The number crosses the wire, so a plain ``http://`` URL is refused unless it is loopback or
the operator says so (``allow_insecure``); the bearer token, when given, goes in the
``Authorization`` header of every request.
"""
from __future__ import annotations

import ipaddress
import random
import time
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

FOUR_INFO_FIELDS = ("name_alpha", "name_kanji", "name_kana", "birth_date", "sex", "address")


@dataclass(frozen=True)
class FourInfo:
    """The basic 4 information as the resident register holds it (names in three scripts)."""

    name_alpha: str | None = None
    name_kanji: str | None = None
    name_kana: str | None = None
    birth_date: str | None = None
    sex: str | None = None
    address: str | None = None

    def as_record(self) -> dict[str, str | None]:
        # a plain dict: dataclasses.asdict deep-copies every value, on every check's path
        return {f: getattr(self, f) for f in FOUR_INFO_FIELDS}

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> "FourInfo":
        """Keep the known fields; anything else in the answer is ignored, non-text becomes text."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: (None if v is None or v == "" else str(v)) for k, v in data.items() if k in names})


class JukinetUnavailable(Exception):
    """Juki-net did not answer usably (timeout, connection refused, server error)."""


class InsecureJukinet(ValueError):
    """A plain-http Juki-net URL off loopback, not explicitly allowed."""


def _loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_url(base_url: str, *, allow_insecure: bool = False) -> None:
    """Refuse anything but https, or http to a loopback address (or with ``allow_insecure``)."""
    import httpx

    url = httpx.URL(base_url)
    if url.scheme == "https" or (url.scheme == "http" and (allow_insecure or _loopback(url.host))):
        return
    if url.scheme == "http":
        raise InsecureJukinet(f"{base_url}: plain http to a non-loopback Juki-net would send My Numbers in clear; "
                              "use https (or --allow-insecure-jukinet)")
    raise InsecureJukinet(f"{base_url}: the Juki-net URL must be http(s)")


def read_token(path: str | Path) -> str:
    """The Juki-net bearer token in ``path`` (one line; a file, so it never shows in ``ps``)."""
    from jukimatch.engine.files.crypt import check_secret_file

    check_secret_file(path)
    token = Path(path).read_text(encoding="utf-8").strip()
    if not token or any(c.isspace() for c in token):
        raise ValueError(f"{path}: expected one token on one line")
    return token


@runtime_checkable
class Jukinet(Protocol):
    """Anything that can look a My Number up on the resident register."""

    def lookup(self, my_number: str) -> FourInfo | None:
        """The 4 information tied to ``my_number``; None if no such number is registered.

        Raises :class:`JukinetUnavailable` when the register could not be asked.
        """
        ...


class HttpJukinet:
    """HTTP client for a Juki-net responder, with timeouts and retries with backoff.

    Retries connection errors, timeouts, 429 and 5xx up to ``retries`` more times, waiting
    ``backoff_s * 2**attempt`` (with ±50 % jitter so that many workers do not retry in step);
    then raises :class:`JukinetUnavailable`. Other 4xx mean our request is wrong: no retry.
    Thread-safe (one ``httpx.Client`` with a connection pool).
    """

    def __init__(self, base_url: str, *, timeout_s: float = 2.0, retries: int = 2, backoff_s: float = 0.05,
                 token: str | None = None, transport: Any = None, allow_insecure: bool = False,
                 verify: Any = True) -> None:
        """``verify``: True (system CAs), a CA bundle path, or an ``ssl.SSLContext``."""
        import httpx  # optional extra: only a service with a real responder needs it

        check_url(base_url, allow_insecure=allow_insecure)
        self._httpx = httpx
        self.retries = retries
        self.backoff_s = backoff_s
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout_s, headers=headers,
                                    transport=transport, verify=verify)

    def lookup(self, my_number: str) -> FourInfo | None:
        httpx = self._httpx
        last = "no attempt"
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff_s * (2 ** (attempt - 1)) * random.uniform(0.5, 1.5))
            try:
                resp = self._client.post("/v1/four-info", json={"my_number": my_number})
            except httpx.TimeoutException:
                last = "timeout"
                continue
            except httpx.TransportError as exc:
                last = f"transport error: {type(exc).__name__}"
                continue
            if resp.status_code == 429 or resp.status_code >= 500:
                last = f"HTTP {resp.status_code}"
                continue
            if resp.status_code == 404:
                return None
            if resp.status_code != 200:
                raise JukinetUnavailable(f"Juki-net refused the request: HTTP {resp.status_code}")
            try:
                body = resp.json()
                if not body.get("found"):
                    return None
                return FourInfo.from_mapping(body["four_info"])
            except (ValueError, KeyError, TypeError, AttributeError):
                raise JukinetUnavailable("Juki-net answered with an unreadable body") from None
        raise JukinetUnavailable(f"Juki-net unreachable after {self.retries + 1} attempts ({last})")

    def close(self) -> None:
        self._client.close()


class NoJukinet:
    """The responder of a service started without one: every lookup is unavailable.

    Checks that need Juki-net then stay provisional and are retried once a responder is
    configured: nothing is lost, nothing is guessed.
    """

    def lookup(self, my_number: str) -> FourInfo | None:
        raise JukinetUnavailable("no Juki-net responder configured")
