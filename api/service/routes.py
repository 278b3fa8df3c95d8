"""The route table: one entry per endpoint, with its roles, model and handler.

Handlers are plain synchronous functions from a :class:`Call` to ``(status, payload)``; the
app runs them on a thread pool (each thread has its own SQLite connection) — or, for
``inline`` routes whose work is a few short SQLite statements (provisions, the hot path),
directly on the event loop, which saves the thread hop and the GIL hand-offs — and turns
:class:`~jukimatch.api.service.errors.ServiceError` into JSON refusals. The same table
feeds ``/openapi.json``. Deliberately absent: any endpoint that deletes audit or provision
records, and any that lists My Numbers in clear.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from . import audit, authenticity, provision, records
from .auth import AUDITOR, GATEWAY, OPERATOR, STAFF, Principal
from .errors import Forbidden, NotFound, Unprocessable
from .jukinet import Jukinet
from .models import AUTHENTICITY_CHECK, PROVISION, REFUSE, RELEASE, RETRY, Model
from .store import Store


@dataclass
class Call:
    """Everything a handler may use: no Starlette objects reach the service code."""

    store: Store
    jukinet: Jukinet | None
    principal: Principal | None
    body: dict[str, Any] | None
    path: dict[str, Any]
    query: dict[str, str]
    settings: dict[str, Any] = field(default_factory=dict)

    def int_query(self, name: str, default: int, lo: int, hi: int) -> int:
        raw = self.query.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise Unprocessable("invalid_query", f"query parameter {name} must be an integer") from None
        if not lo <= value <= hi:
            raise Unprocessable("invalid_query", f"query parameter {name} must lie in {lo}..{hi}")
        return value


Handler = Callable[[Call], tuple[int, Any]]


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    name: str
    summary: str
    roles: tuple[str, ...]
    handler: Handler
    model: Model | None = None
    ok: dict[int, tuple[str, str]] = field(default_factory=dict)  # status -> (description, schema name)
    query: tuple[tuple[str, Any], ...] = ()
    inline: bool = False  # short SQLite-only work: run on the event loop, skip the thread hop


def caller(call: Call) -> Principal:
    assert call.principal is not None  # the app authenticates before any handler with roles runs
    return call.principal


def post_check(call: Call) -> tuple[int, Any]:
    me, b = caller(call), call.body or {}
    res = authenticity.check_authenticity(call.store, b["person_id"], b["my_number"], jukinet=call.jukinet,
                                          staff_id=me.user_id, role=me.role,
                                          retry_base_s=call.settings.get("retry_base_s", authenticity.RETRY_BASE_S))
    return (202 if res.result == authenticity.PROVISIONAL else 200), res.as_dict()


def get_check(call: Call) -> tuple[int, Any]:
    return 200, authenticity.get_check(call.store, call.path["check_id"]).as_dict()


def post_retry(call: Call) -> tuple[int, Any]:
    me, b = caller(call), call.body or {}
    outs = authenticity.retry_provisional(call.store, jukinet=call.jukinet, staff_id=me.user_id, role=me.role,
                                          limit=b.get("limit") or 100, force=bool(b.get("force")),
                                          retry_base_s=call.settings.get("retry_base_s", authenticity.RETRY_BASE_S))
    counts: dict[str, int] = {}
    for o in outs:
        counts[o.result] = counts.get(o.result, 0) + 1
    return 200, {"retried": len(outs), "results": counts,
                 "registrations": [{"registration_id": o.registration_id, "result": o.result, "reasons": o.reasons}
                                   for o in outs]}


def get_person(call: Call) -> tuple[int, Any]:
    return 200, records.read_person(call.store, call.path["person_id"], caller(call))


def post_provision(call: Call) -> tuple[int, Any]:
    me, b = caller(call), call.body or {}
    res = provision.provide(call.store, b["requester"], b["office_work_row"], b["info_kinds"], b["subject"],
                            procedure=b.get("procedure"), user_id=me.user_id, bound_requester=me.requester_code)
    if res.status == provision.PROVIDED:
        return 200, res.as_dict()
    if res.status == provision.HELD:
        return 202, res.as_dict()
    if res.status == provision.NOT_FOUND:
        raise NotFound("unknown_subject", "no person with this subject identifier",
                       details={"provision_id": res.provision_id}, recorded=True)
    code = (res.reason or "forbidden").split(":")[0]
    raise Forbidden(code, res.reason or "refused", details={"provision_id": res.provision_id}, recorded=True)


def get_provision(call: Call) -> tuple[int, Any]:
    me = caller(call)
    res = provision.get_provision(call.store, call.path["provision_id"])
    if me.role == GATEWAY and res.requester != me.requester_code:
        raise NotFound("unknown_provision", f"no provision record {call.path['provision_id']}")
    return (202 if res.status == provision.HELD else 200), res.as_dict(with_copies=me.role == GATEWAY)


def get_holds(call: Call) -> tuple[int, Any]:
    after = call.int_query("after", 0, 0, 2**62)
    limit = call.int_query("limit", 100, 1, records.MAX_PAGE)
    status = call.query.get("status", "held")
    if status not in ("held", "released", "refused"):
        raise Unprocessable("invalid_query", "query parameter status must be held, released or refused")
    return 200, {"holds": provision.list_holds(call.store, status=status, after=after, limit=limit)}


def get_hold(call: Call) -> tuple[int, Any]:
    return 200, provision.get_hold(call.store, call.path["hold_id"])


def post_release(call: Call) -> tuple[int, Any]:
    b = call.body or {}
    res = provision.release_hold(call.store, call.path["hold_id"], operator_id=caller(call).user_id, note=b.get("note"))
    return 200, res.as_dict(with_copies=False)


def post_refuse(call: Call) -> tuple[int, Any]:
    b = call.body or {}
    res = provision.refuse_hold(call.store, call.path["hold_id"], operator_id=caller(call).user_id, reason=b["reason"])
    return 200, res.as_dict(with_copies=False)


def get_provision_records(call: Call) -> tuple[int, Any]:
    after = call.int_query("after", 0, 0, 2**62)
    limit = call.int_query("limit", 100, 1, records.MAX_PAGE)
    return 200, {"records": records.provision_records(call.store, after=after, limit=limit,
                                                      requester=call.query.get("requester") or None)}


def get_audit(call: Call) -> tuple[int, Any]:
    after = call.int_query("after", 0, 0, 2**62)
    limit = call.int_query("limit", 100, 1, records.MAX_PAGE)
    return 200, {"entries": records.audit_entries(call.store, after=after, limit=limit,
                                                  person_id=call.query.get("person_id") or None)}


def get_audit_verify(call: Call) -> tuple[int, Any]:
    """The chains, checked against the service's own anchor file when it keeps one."""
    from .chain import read_anchors

    anchorer = call.store.anchorer
    anchors = read_anchors(anchorer.path) if anchorer is not None and anchorer.path.exists() else None
    return 200, audit.verify_connection(call.store.conn, anchors).as_dict()


_PAGE = (("after", {"type": "integer", "minimum": 0, "maximum": 2**62}),
         ("limit", {"type": "integer", "minimum": 1, "maximum": records.MAX_PAGE}))
_HOLD_STATUS = {"type": "string", "enum": ["held", "released", "refused"]}
ROUTES: tuple[Route, ...] = (
    Route("POST", "/v1/authenticity-checks", "createAuthenticityCheck",
          "Check a My Number handed in for a person (registered → authentic; else provisional, Juki-net, compare)",
          (STAFF,), post_check, AUTHENTICITY_CHECK,
          {200: ("decided: authentic, confirmed, rejected or review", "AuthenticityCheck"),
           202: ("provisional: Juki-net unreachable, retried later", "AuthenticityCheck")}),
    Route("GET", "/v1/authenticity-checks/{check_id:int}", "getAuthenticityCheck",
          "One authenticity check (number masked); poll a provisional one", (STAFF, OPERATOR), get_check,
          ok={200: ("the check", "AuthenticityCheck")}),
    Route("POST", "/v1/registrations/retry", "retryProvisional",
          "Ask Juki-net again for provisional registrations that are due", (OPERATOR, STAFF), post_retry, RETRY,
          {200: ("what became of each", "Object")}),
    Route("GET", "/v1/persons/{person_id}", "getPerson",
          "A person's record and registrations (numbers in clear for staff, masked for operators; audited)",
          (STAFF, OPERATOR), get_person, ok={200: ("the person", "Object")}),
    Route("POST", "/v1/provisions", "createProvision",
          "Information provision: checked against the permission list; held under no-auto-response",
          (GATEWAY,), post_provision, PROVISION,
          {200: ("provided, copies attached", "Provision"), 202: ("held for an operator", "Provision")},
          inline=True),
    Route("GET", "/v1/provisions/{provision_id:int}", "getProvision",
          "A provision record; a gateway gets the copies of its released hold", (GATEWAY, OPERATOR, AUDITOR),
          get_provision, ok={200: ("the record", "Provision"), 202: ("still held", "Provision")}),
    Route("GET", "/v1/holds", "listHolds", "Holds awaiting (or past) an operator's decision, one page",
          (OPERATOR,), get_holds, ok={200: ("one page", "Object")}, query=_PAGE + (("status", _HOLD_STATUS),)),
    Route("GET", "/v1/holds/{hold_id:int}", "getHold", "One hold with the exact answer that would be sent",
          (OPERATOR,), get_hold, ok={200: ("the hold", "Object")}),
    Route("POST", "/v1/holds/{hold_id:int}/release", "releaseHold", "Release a held answer: it is provided now",
          (OPERATOR,), post_release, RELEASE, {200: ("the provision record", "Provision")}),
    Route("POST", "/v1/holds/{hold_id:int}/refuse", "refuseHold", "Refuse a held answer: nothing is sent",
          (OPERATOR,), post_refuse, REFUSE, {200: ("the provision record", "Provision")}),
    Route("GET", "/v1/provision-records", "listProvisionRecords", "Provision records (情報提供等記録), one page",
          (AUDITOR, OPERATOR), get_provision_records, ok={200: ("one page", "Object")},
          query=_PAGE + (("requester", "string"),)),
    Route("GET", "/v1/audit", "listAudit", "The audit log, one page, numbers masked", (AUDITOR,), get_audit,
          ok={200: ("one page", "Object")}, query=_PAGE + (("person_id", "string"),)),
    Route("GET", "/v1/audit/verify", "verifyAudit",
          "Verify the keyed audit and provision chains (and the service's anchors)", (AUDITOR,),
          get_audit_verify, ok={200: ("ok, or the first broken entry", "Object")}),
)
