"""Information provision (情報提供): copy data to other agencies, checked and recorded.

A request names a requester, the ordinance table row of its office work, the information
kinds (E entry/exit, C residence card, S special permanent resident certificate) and the
subject's opaque identifier for information exchange — never a My Number. It is answered
only if every (requester, row, kind) triple is on the permission list (照会許可用照合リスト,
seeded from ``datasets/data/requesters.tsv``); anything else is refused and recorded. If any
requested information carries the no-auto-response flag (自動応答不可フラグ) the whole answer
is held, with a snapshot of exactly what would be sent, until an operator releases or
refuses it. Every request — provided, held, refused, or failed inside the service (``error``)
— leaves one provision record (情報提供等記録: office work, procedure, time requested, time
provided, information name, provider), which the database refuses to delete and whose every
state is chained under the audit key (:func:`.chain.record_provision`). A record names the
requester the gateway's token is bound to (``requester``, ``bound_requester``) apart from the
one the request claimed (``claimed_requester``); the binding is checked before anything else,
so a gateway cannot learn which requester codes exist by probing. Free text (procedure,
notes, reasons) is stored with possible My Numbers masked.
"""
from __future__ import annotations

import json
import logging
import sqlite3
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from jukimatch.datasets.requesters import INFO_KIND_NAMES, INFO_KINDS, Requester, load_requesters

from jukimatch.engine.masking import mask

from .chain import record_provision
from .errors import Conflict, NotFound
from .canon import dumps, inserted_id, now_iso
from .store import Store

log = logging.getLogger("jukimatch.service")
PROVIDER = "出入国在留管理庁"
PROVIDED, HELD, REFUSED, FORBIDDEN, NOT_FOUND, INVALID = "provided", "held", "refused", "forbidden", "not_found", "invalid"
ERROR = "error"


@dataclass
class ProvisionResult:
    """One provision record as the caller sees it; ``copies`` only when something is sent."""

    provision_id: int
    status: str
    requester: str | None
    office_work_row: int | None
    info_kinds: list[str]
    time_requested: str
    time_provided: str | None = None
    reason: str | None = None
    copies: dict[str, dict[str, Any] | None] | None = None
    hold_id: int | None = None
    office_work: str | None = None
    procedure: str | None = None
    information_name: str | None = None
    provider: str = PROVIDER
    claimed_requester: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self, *, with_copies: bool = True) -> dict[str, Any]:
        out = {"provision_id": self.provision_id, "status": self.status, "requester": self.requester,
               "office_work_row": self.office_work_row, "office_work": self.office_work,
               "procedure": self.procedure, "info_kinds": self.info_kinds,
               "information_name": self.information_name, "provider": self.provider,
               "time_requested": self.time_requested, "time_provided": self.time_provided,
               "reason": self.reason, "hold_id": self.hold_id, "claimed_requester": self.claimed_requester}
        if with_copies and self.copies is not None:
            out["copies"] = self.copies
        return out


def seed_requesters(store: Store, requesters: Iterable[Requester] | None = None) -> int:
    """Replace the requesters table and the permission list with ``requesters`` (default: the TSV).

    Returns the number of permission triples. One transaction: a provision never sees a
    half-written list.
    """
    rows = list(requesters if requesters is not None else load_requesters())
    with store.write() as conn:
        conn.execute("DELETE FROM permissions")
        conn.execute("DELETE FROM requesters")
        conn.executemany(
            "INSERT INTO requesters (number, requester_code, requester, requester_ja, ordinance_row, office_work,"
            " office_work_ja, info_kinds) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(r.number, r.requester_code, r.requester, r.requester_ja, r.ordinance_row, r.office_work,
              r.office_work_ja, "".join(r.info_kinds)) for r in rows])
        triples = {(r.requester_code, r.ordinance_row, k) for r in rows for k in r.info_kinds}
        conn.executemany("INSERT INTO permissions (requester_code, ordinance_row, kind) VALUES (?, ?, ?)",
                         sorted(triples))
    return len(triples)


def _information_name(kinds: Sequence[str]) -> str:
    return "、".join(INFO_KIND_NAMES[k] for k in kinds)


def _record(conn: sqlite3.Connection, *, status: str, requester: str | None, row: int | None, kinds: Sequence[str],
            subject: str | None, user_id: str | None, reason: str | None, office_work: str | None,
            procedure: str | None, requested: str, provided: str | None, bound: str | None = None
            ) -> ProvisionResult:
    """Insert and chain one record; ``requester`` is the claimed one, ``bound`` the token's."""
    kinds = list(kinds)
    info_name = _information_name(kinds) if kinds else None
    procedure, reason = (None if v is None else mask(v) for v in (procedure, reason))
    named = bound if bound is not None else requester
    cur = conn.execute(
        "INSERT INTO provision_records (requester_code, ordinance_row, office_work, procedure, info_kinds,"
        " information_name, subject_id, status, reason, time_requested, time_provided, provider, user_id,"
        " claimed_requester, bound_requester) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (named, row, office_work, procedure, "".join(kinds), info_name, subject, status, reason, requested,
         provided, PROVIDER, user_id, requester, bound))
    pid = inserted_id(cur)
    record_provision(conn, pid, "created")
    return ProvisionResult(pid, status, named, row, kinds, requested, provided, reason,
                           office_work=office_work, procedure=procedure, information_name=info_name,
                           claimed_requester=requester)


def provide(store: Store, requester: str, office_work_row: int, info_kinds: Sequence[str], subject: str, *,
            procedure: str | None = None, user_id: str = "in-process", bound_requester: str | None = None
            ) -> ProvisionResult:
    """Answer one provision request; the result's ``status`` says what happened.

    ``provided`` (copies attached), ``held`` (awaiting an operator; ``hold_id`` set),
    ``forbidden`` (``reason`` says why: a gateway asking in another requester's name — checked
    first —, an unknown requester, or a triple not on the permission list) or ``not_found``
    (unknown subject). ``bound_requester`` is the requester a gateway's token is bound to.
    A failure inside (a broken copy, a database error) is recorded as ``error`` and re-raised.
    Raises ``ValueError`` for kinds outside E/C/S: callers validate shapes first.
    """
    bad = [k for k in info_kinds if k not in INFO_KINDS]
    if bad or not info_kinds:
        raise ValueError(f"info_kinds must be a non-empty subset of {', '.join(INFO_KINDS)}")
    kinds = [k for k in INFO_KINDS if k in set(info_kinds)]
    requested = now_iso()
    common: dict[str, Any] = dict(requester=requester, row=office_work_row, kinds=kinds, subject=subject, user_id=user_id,
                  requested=requested, bound=bound_requester)
    try:
        return _provide(store, requester, office_work_row, kinds, subject, procedure, bound_requester, common)
    except Exception as exc:
        try:
            with store.write() as conn:
                _record(conn, status=ERROR, reason=f"internal_error: {type(exc).__name__}", office_work=None,
                        procedure=procedure, provided=None, **common)
            setattr(exc, "provision_recorded", True)  # the HTTP layer must not record it twice
        except Exception:  # noqa: BLE001 - the store itself failed: say so, raise the first error
            log.exception("a failed provision request could not be recorded")
        raise


def _provide(store: Store, requester: str, office_work_row: int, kinds: list[str], subject: str,
             procedure: str | None, bound_requester: str | None, common: dict[str, Any]) -> ProvisionResult:
    with store.write() as conn:
        if bound_requester is not None and requester != bound_requester:
            return _record(conn, status=FORBIDDEN, reason="requester_not_bound_to_token", office_work=None,
                           procedure=procedure, provided=None, **common)
        work = conn.execute("SELECT office_work_ja FROM requesters WHERE requester_code = ? AND ordinance_row = ?",
                            (requester, office_work_row)).fetchone()
        office_work = work[0] if work else None
        proc = procedure or office_work
        if not conn.execute("SELECT 1 FROM requesters WHERE requester_code = ? LIMIT 1", (requester,)).fetchone():
            return _record(conn, status=FORBIDDEN, reason="unknown_requester", office_work=None, procedure=procedure,
                           provided=None, **common)
        allowed = {r[0] for r in conn.execute(
            "SELECT kind FROM permissions WHERE requester_code = ? AND ordinance_row = ?", (requester, office_work_row))}
        missing = [k for k in kinds if k not in allowed]
        if missing:
            reason = ("not_permitted: office work row not on the permission list for this requester" if not allowed
                      else f"not_permitted: kinds {''.join(missing)} not on the permission list for this row")
            return _record(conn, status=FORBIDDEN, reason=reason, office_work=office_work, procedure=proc,
                           provided=None, **common)
        if not conn.execute("SELECT 1 FROM persons WHERE subject_id = ?", (subject,)).fetchone():
            return _record(conn, status=NOT_FOUND, reason="unknown_subject", office_work=office_work, procedure=proc,
                           provided=None, **common)
        found = {r[0]: (r[1], r[2]) for r in conn.execute(
            "SELECT kind, data, no_auto_response FROM copies WHERE subject_id = ?", (subject,))}
        copies = {k: (json.loads(found[k][0]) if k in found else None) for k in kinds}
        flagged = [k for k in kinds if k in found and found[k][1]]
        if flagged:
            res = _record(conn, status=HELD, reason=f"no_auto_response: {''.join(flagged)}", office_work=office_work,
                          procedure=proc, provided=None, **common)
            res.hold_id = inserted_id(conn.execute(
                "INSERT INTO holds (provision_id, kinds, payload, status, created_at) VALUES (?, ?, ?, 'held', ?)",
                (res.provision_id, "".join(flagged), dumps(copies), now_iso())))
            return res
        res = _record(conn, status=PROVIDED, reason=None, office_work=office_work, procedure=proc,
                      provided=now_iso(), **common)
        res.copies = copies
        return res


def record_refusal(store: Store, *, user_id: str | None, requester: str | None, reason: str,
                   status: str = INVALID) -> int:
    """Record a request refused before it could be checked (unreadable body, wrong role) or
    failed inside the service (``error``); ``requester`` is the token's binding. Its id."""
    if status not in (INVALID, FORBIDDEN, ERROR):
        raise ValueError(f"status must be {INVALID}, {FORBIDDEN} or {ERROR}")
    with store.write() as conn:
        return _record(conn, status=status, requester=None, bound=requester, row=None, kinds=[], subject=None,
                       user_id=user_id, reason=reason[:300], office_work=None, procedure=None, requested=now_iso(),
                       provided=None).provision_id


def _result_of(conn: sqlite3.Connection, provision_id: int) -> ProvisionResult:
    r = conn.execute("SELECT p.*, h.id AS hold_id, h.payload, h.status AS hold_status FROM provision_records p"
                     " LEFT JOIN holds h ON h.provision_id = p.id WHERE p.id = ?", (provision_id,)).fetchone()
    if r is None:
        raise NotFound("unknown_provision", f"no provision record {provision_id}")
    copies = json.loads(r["payload"]) if r["hold_status"] == "released" else None
    return ProvisionResult(r["id"], r["status"], r["requester_code"], r["ordinance_row"], list(r["info_kinds"] or ""),
                           r["time_requested"], r["time_provided"], r["reason"], copies, r["hold_id"],
                           r["office_work"], r["procedure"], r["information_name"], r["provider"],
                           r["claimed_requester"])


def get_provision(store: Store, provision_id: int) -> ProvisionResult:
    """One provision record; a released hold's copies are attached (what the operator confirmed)."""
    return _result_of(store.conn, provision_id)


def _decide_hold(store: Store, hold_id: int, *, operator_id: str, release: bool, note: str | None) -> ProvisionResult:
    with store.write() as conn:
        h = conn.execute("SELECT provision_id, status FROM holds WHERE id = ?", (hold_id,)).fetchone()
        if h is None:
            raise NotFound("unknown_hold", f"no hold {hold_id}")
        if h["status"] != "held":
            raise Conflict("hold_decided", f"hold {hold_id} was already {h['status']}")
        now = now_iso()
        note = None if note is None else mask(note)
        conn.execute("UPDATE holds SET status = ?, decided_at = ?, decided_by = ?, note = ? WHERE id = ?",
                     ("released" if release else "refused", now, operator_id, note, hold_id))
        if release:
            conn.execute("UPDATE provision_records SET status = 'provided', time_provided = ? WHERE id = ?",
                         (now, h["provision_id"]))
        else:
            conn.execute("UPDATE provision_records SET status = 'refused', reason = ? WHERE id = ?",
                         (f"refused by operator: {note or 'no reason given'}"[:300], h["provision_id"]))
        record_provision(conn, h["provision_id"], "released" if release else "refused")
        return _result_of(conn, h["provision_id"])


def release_hold(store: Store, hold_id: int, *, operator_id: str, note: str | None = None) -> ProvisionResult:
    """An operator confirmed the held answer: it is provided now (``time_provided`` set)."""
    return _decide_hold(store, hold_id, operator_id=operator_id, release=True, note=note)


def refuse_hold(store: Store, hold_id: int, *, operator_id: str, reason: str) -> ProvisionResult:
    """An operator refused the held answer: nothing is sent, the record says why."""
    return _decide_hold(store, hold_id, operator_id=operator_id, release=False, note=reason)


def list_holds(store: Store, *, status: str = "held", after: int = 0, limit: int = 100) -> list[dict[str, Any]]:
    """Holds in id order after ``after``, without payloads (one page, at most ``limit``)."""
    rows = store.conn.execute(
        "SELECT h.id, h.provision_id, h.kinds, h.status, h.created_at, h.decided_at, h.decided_by,"
        " p.requester_code, p.ordinance_row, p.subject_id FROM holds h JOIN provision_records p"
        " ON p.id = h.provision_id WHERE h.status = ? AND h.id > ? ORDER BY h.id LIMIT ?", (status, after, limit))
    return [dict(r) for r in rows]


def get_hold(store: Store, hold_id: int) -> dict[str, Any]:
    """One hold with the payload the operator is asked to confirm."""
    r = store.conn.execute("SELECT h.*, p.requester_code, p.ordinance_row, p.subject_id, p.office_work"
                           " FROM holds h JOIN provision_records p ON p.id = h.provision_id WHERE h.id = ?",
                           (hold_id,)).fetchone()
    if r is None:
        raise NotFound("unknown_hold", f"no hold {hold_id}")
    out = dict(r)
    out["payload"] = json.loads(out["payload"])
    return out
