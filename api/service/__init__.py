"""The inquiry service: authenticity checks and information provision on a SQLite store.

In-process use needs only the core install::

    from jukimatch.api.service import Store, check_authenticity, provide
    store = Store("ims.sqlite")
    check_authenticity(store, "P0001", "123456789018", jukinet=responder, staff_id="s1")
    provide(store, "mhlw", 1, ["E", "C"], "SUBJ0001", user_id="gw-mhlw")

The ASGI app (:func:`create_app`) needs the ``service`` extra (Starlette, uvicorn, httpx);
like every name here, it is imported only when asked for.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_names

# Each name from the submodule that defines it, imported on first use: ``jukimatch reconcile``
# registers ``serve`` and ``audit`` on its command line through this package, and must not pay
# ~0.2 s for the store, the audit chain and the generator it never uses.
_LAZY = {
    **dict.fromkeys(("Verification", "verify"), ".audit"),
    **dict.fromkeys(("AUDITOR", "GATEWAY", "OPERATOR", "STAFF", "Principal", "add_user", "revoke_token"), ".auth"),
    **dict.fromkeys(("CheckResult", "Outcome", "check_authenticity", "get_check", "retry_provisional"),
                    ".authenticity"),
    "ServiceError": ".errors",
    **dict.fromkeys(("FourInfo", "HttpJukinet", "Jukinet", "JukinetUnavailable", "NoJukinet"), ".jukinet"),
    **dict.fromkeys(("ProvisionResult", "get_provision", "provide", "refuse_hold", "release_hold",
                     "seed_requesters"), ".provision"),
    **dict.fromkeys(("load_copies", "load_persons", "read_person", "register_bulk"), ".records"),
    "Store": ".store",
    "create_app": ".app",  # Starlette: the service extra
}

if TYPE_CHECKING:  # pragma: no cover
    from .app import create_app
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


__getattr__ = lazy_names(__name__, _LAZY)
