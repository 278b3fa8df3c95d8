"""The inquiry service: authenticity checks and information provision on a SQLite store.

In-process use needs only the core install::

    from jukimatch.api.service import Store, check_authenticity, provide
    store = Store("ims.sqlite")
    check_authenticity(store, "P0001", "123456789018", jukinet=responder, staff_id="s1")
    provide(store, "mhlw", 1, ["E", "C"], "SUBJ0001", user_id="gw-mhlw")

The ASGI app (:func:`create_app`) needs the ``service`` extra (Starlette, uvicorn, httpx);
it is imported only when asked for.
"""
from __future__ import annotations

from typing import Any

from .audit import Verification, verify
from .auth import AUDITOR, GATEWAY, OPERATOR, STAFF, Principal, add_user, revoke_token
from .authenticity import CheckResult, Outcome, check_authenticity, get_check, retry_provisional
from .errors import ServiceError
from .jukinet import FourInfo, HttpJukinet, Jukinet, JukinetUnavailable, NoJukinet
from .provision import ProvisionResult, get_provision, provide, refuse_hold, release_hold, seed_requesters
from .records import load_copies, load_persons, read_person, register_bulk
from .store import Store

__all__ = [
    "AUDITOR", "CheckResult", "FourInfo", "GATEWAY", "HttpJukinet", "Jukinet", "JukinetUnavailable", "NoJukinet",
    "OPERATOR", "Outcome", "Principal", "ProvisionResult", "STAFF", "ServiceError", "Store", "Verification",
    "add_user", "check_authenticity", "create_app", "get_check", "get_provision", "load_copies", "load_persons",
    "provide", "read_person", "refuse_hold", "register_bulk", "release_hold", "retry_provisional",
    "revoke_token", "seed_requesters", "verify",
]


def __getattr__(name: str) -> Any:
    """``create_app`` imports Starlette: only on first use, so the core install stays small."""
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
