"""The review workflow on the store: queue, leases, case views, decisions, four-eyes approval.

Rules that keep a number from reaching the wrong person, checked inside the write
transaction that acts (and backed by unique indexes): a number registered or proposed for
another person, or a person already holding a different number, is refused with HTTP 409. A
confirm is a *proposal* while four-eyes is on; a supervisor other than the proposer approves
it, and only then is the number written to ``registrations``. Two clerks never work one case:
opening or claiming it takes a lease that expires (``LEASE_S``), renewed while they work.
Every case opened, number revealed, decision and approval is appended to the audit log in
the same transaction; numbers leave this module masked unless revealed.
"""
from __future__ import annotations

import json
import sqlite3
import statistics
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from jukimatch.engine.masking import mask
from jukimatch.engine.reconcile.features import FIELDS
from jukimatch.engine.validate.checkdigit import my_number_errors

from jukimatch.api.service import audit
from jukimatch.api.service.auth import CLERK, SUPERVISOR, Principal
from jukimatch.api.service.canon import now_iso
from jukimatch.api.service.errors import Conflict, Forbidden, NotFound, Unprocessable
from jukimatch.api.service.store import Store


LEASE_S = 600.0
ACTIONS = ("confirm", "no_match", "reinquire", "escalate")
OPEN_STATUSES = ("open", "escalated")
STATUSES = ("open", "escalated", "proposed", "registered", "no_match", "reinquire", "superseded")
_CLOSED_BY = {"no_match": "no_match", "reinquire": "reinquire", "escalate": "escalated"}
MAX_PAGE = 200


@dataclass(frozen=True)
class Filters:
    """Queue filters; empty means any."""

    reason: str | None = None
    municipality: str | None = None
    nationality: str | None = None
    run: str | None = None
    status: str | None = None  # one of STATUSES; None: the work still to do (open, escalated)

    def where(self) -> tuple[str, list[Any]]:
        sql, args = [], []
        if self.status:
            sql.append("c.status = ?")
            args.append(self.status)
        else:
            sql.append("c.todo = 1")
        if self.municipality:  # a prefix: 東京都 takes in every ward of Tokyo
            sql.append("c.municipality >= ? AND c.municipality < ?")
            args += [self.municipality, self.municipality + "\U0010ffff"]
        for col, value in (("c.nationality", self.nationality), ("c.run_id", self.run)):
            if value:
                sql.append(f"{col} = ?")
                args.append(value)
        if self.reason:
            sql.append("c.case_id IN (SELECT case_id FROM review_case_reasons WHERE reason = ?)")
            args.append(self.reason)
        return " AND ".join(sql), args


def _case_row(conn: sqlite3.Connection, person_id: str) -> sqlite3.Row:
    """The person's current case: the newest one not superseded."""
    row = conn.execute("SELECT * FROM review_cases WHERE person_id = ? AND status != 'superseded'"
                       " ORDER BY case_id DESC LIMIT 1", (person_id,)).fetchone()
    if row is None:
        raise NotFound("unknown_case", "no review case for this person_id")
    return cast(sqlite3.Row, row)


def list_cases(store: Store, filters: Filters = Filters(), *, after: int = 0, limit: int = 50) -> list[dict[str, Any]]:
    """One page of cases in queue order (keyset paging on ``case_id``), with who holds each."""
    where, args = filters.where()
    rows = store.conn.execute(
        "SELECT c.case_id, c.person_id, c.run_id, c.status, c.reasons, c.municipality, c.nationality, c.candidates,"
        " l.user_id AS leased_by FROM review_cases c LEFT JOIN review_leases l ON l.case_id = c.case_id"
        f" AND l.expires_at > ? WHERE {where} AND c.case_id > ? ORDER BY c.case_id LIMIT ?",
        [now_iso(), *args, after, max(1, min(limit, MAX_PAGE))])
    return [dict(r) | {"reasons": json.loads(r["reasons"])} for r in rows]


def queue_counts(store: Store) -> dict[str, Any]:
    """Counts per status, per reason (work to do), per run; progress decided / remaining."""
    conn = store.conn
    by_status = {st: n for st, n in conn.execute("SELECT status, sum(n) FROM review_counts GROUP BY status") if n}
    by_reason = dict(conn.execute("SELECT reason, todo FROM review_reason_counts WHERE todo > 0"
                                  " ORDER BY todo DESC, reason"))
    remaining_of = dict(conn.execute("SELECT run_id, sum(n) FROM review_counts WHERE status IN ('open', 'escalated')"
                                     " GROUP BY run_id"))
    runs = [dict(r) | {"remaining": remaining_of.get(r["run_id"], 0)} for r in conn.execute(
        "SELECT run_id, loaded_at, cases FROM review_runs ORDER BY loaded_at")]
    remaining = sum(by_status.get(s, 0) for s in OPEN_STATUSES)
    decided = sum(n for s, n in by_status.items() if s not in OPEN_STATUSES and s != "superseded")
    return {"by_status": by_status, "by_reason": by_reason, "runs": runs,
            "progress": {"decided": decided, "remaining": remaining, "proposed": by_status.get("proposed", 0)}}


def nationalities(store: Store) -> list[str]:
    """Nationalities with work to do, for the filter's choices."""
    # A loose index scan: one index probe per distinct value, not a pass over every case.
    return [r[0] for r in store.conn.execute(
        "WITH RECURSIVE n(x) AS (SELECT min(nationality) FROM review_cases WHERE todo = 1"
        " UNION ALL SELECT (SELECT min(nationality) FROM review_cases WHERE todo = 1 AND nationality > x)"
        " FROM n WHERE x IS NOT NULL) SELECT x FROM n WHERE x IS NOT NULL")]


def _take_lease(conn: sqlite3.Connection, case_id: int, me: Principal) -> None:
    """Take or renew the case's lease; 409 while another person holds a live one."""
    now = now_iso()
    held = conn.execute("SELECT user_id, taken_at, expires_at FROM review_leases WHERE case_id = ?",
                        (case_id,)).fetchone()
    if held is not None and held["user_id"] != me.user_id and held["expires_at"] > now:
        raise Conflict("case_leased", f"another person ({held['user_id']}) is working this case until "
                                      f"{held['expires_at'][11:19]} UTC")
    keep = held is not None and held["user_id"] == me.user_id and held["expires_at"] > now
    conn.execute("INSERT OR REPLACE INTO review_leases (case_id, user_id, taken_at, expires_at) VALUES (?, ?, ?, ?)",
                 (case_id, me.user_id, held["taken_at"] if keep else now, now_iso(LEASE_S)))


def _may_work(case: sqlite3.Row, me: Principal) -> bool:
    return case["status"] == "open" or (case["status"] == "escalated" and me.role == SUPERVISOR)


def _candidates(conn: sqlite3.Connection, case_id: int) -> list[sqlite3.Row]:
    return conn.execute("SELECT * FROM review_candidates WHERE case_id = ? ORDER BY rank", (case_id,)).fetchall()


def open_case(store: Store, person_id: str, me: Principal) -> dict[str, Any]:
    """The case as a page shows it (numbers masked); takes the lease on work to do. Audited."""
    with store.write() as conn:
        case = _case_row(conn, person_id)
        if _may_work(case, me):
            _take_lease(conn, case["case_id"], me)
        audit.append(conn, staff_id=me.user_id, role=me.role, operation="review_case_open", person_id=person_id,
                     detail={"case_id": case["case_id"], "run_id": case["run_id"], "status": case["status"]})
        cands = _candidates(conn, case["case_id"])
        history = conn.execute("SELECT * FROM review_decisions WHERE case_id = ? ORDER BY id",
                               (case["case_id"],)).fetchall()
        lease = conn.execute("SELECT user_id, expires_at FROM review_leases WHERE case_id = ? AND expires_at > ?",
                             (case["case_id"], now_iso())).fetchone()
        related = []
        for rid in json.loads(case["related"]):
            other = conn.execute("SELECT person_id, status, resident FROM review_cases WHERE person_id = ?"
                                 " AND status != 'superseded' ORDER BY case_id DESC LIMIT 1", (rid,)).fetchone()
            related.append({"person_id": rid, "status": other["status"] if other else None,
                            "resident": _masked_resident(json.loads(other["resident"])) if other else None})
        run = conn.execute("SELECT run_id, loaded_at, thresholds FROM review_runs WHERE run_id = ?",
                           (case["run_id"],)).fetchone()
    return {
        "case_id": case["case_id"], "person_id": person_id, "run_id": case["run_id"], "status": case["status"],
        "reasons": json.loads(case["reasons"]), "municipality": case["municipality"],
        "nationality": case["nationality"], "resident": _masked_resident(json.loads(case["resident"])),
        "candidates": [_candidate_view(c) for c in cands], "related": related,
        "decisions": [_decision_view(d) for d in history],
        "leased_by": lease["user_id"] if lease else None, "lease_expires_at": lease["expires_at"] if lease else None,
        "may_decide": _may_work(case, me), "may_approve": case["status"] == "proposed" and me.role == SUPERVISOR,
        "thresholds": json.loads(run["thresholds"]) if run else {},
    }


def _masked_resident(resident: dict[str, Any]) -> dict[str, Any]:
    out = dict(resident)
    if out.get("my_number"):
        out["my_number"] = mask(out["my_number"], whole=True)
    return out


def _candidate_view(c: sqlite3.Row) -> dict[str, Any]:
    response = json.loads(c["response"])
    return {"rank": c["rank"], "my_number": mask(c["my_number"], whole=True), "match_weight": c["match_weight"],
            "match_probability": c["match_probability"], "fields": {f: response.get(f) for f in FIELDS},
            "normal": response.get("normal", {}), "levels": json.loads(c["levels"]),
            "weights": json.loads(c["weights"])}


def _decision_view(d: sqlite3.Row) -> dict[str, Any]:
    return {"action": d["action"], "candidate": d["candidate"],
            "my_number": mask(d["my_number"], whole=True) if d["my_number"] else None, "note": d["note"],
            "status": d["status"], "decided_by": d["decided_by"], "decided_at": d["decided_at"],
            "approved_by": d["approved_by"], "approved_at": d["approved_at"], "approval_note": d["approval_note"]}


def reveal(store: Store, person_id: str, rank: int, me: Principal) -> str:
    """A candidate's number in full: a deliberate act, audited with who and when."""
    with store.write() as conn:
        case = _case_row(conn, person_id)
        row = conn.execute("SELECT my_number FROM review_candidates WHERE case_id = ? AND rank = ?",
                           (case["case_id"], rank)).fetchone()
        if row is None or not row["my_number"]:
            raise NotFound("unknown_candidate", f"case has no candidate {rank} with a number")
        audit.append(conn, staff_id=me.user_id, role=me.role, operation="review_reveal", person_id=person_id,
                     my_number=row["my_number"], detail={"case_id": case["case_id"], "candidate": rank})
    return str(row["my_number"])


# a condition on review_cases ``c``: no live lease of another user (parameters: user id, now)
NOT_HELD_BY_OTHERS = (" AND NOT EXISTS (SELECT 1 FROM review_leases l WHERE l.case_id = c.case_id"
                      " AND l.user_id != ? AND l.expires_at > ?)")


def next_case(store: Store, me: Principal, filters: Filters = Filters(), *, after: int = 0) -> str | None:
    """Claim the first case after ``after`` that this person may work and nobody else holds."""
    where, args = (Filters(filters.reason, filters.municipality, filters.nationality, filters.run,
                           None if me.role == SUPERVISOR else "open")).where()
    with store.write() as conn:
        row = conn.execute(
            f"SELECT c.case_id, c.person_id FROM review_cases c WHERE {where} AND c.case_id > ?{NOT_HELD_BY_OTHERS}"
            " ORDER BY c.case_id LIMIT 1", [*args, after, me.user_id, now_iso()]).fetchone()
        if row is None:
            return None
        _take_lease(conn, row["case_id"], me)
    return cast(str | None, row["person_id"])


def neighbour(store: Store, person_id: str, *, forward: bool, me: Principal | None = None) -> str | None:
    """The next (or previous) case with work to do, by queue order, for page navigation;
    with ``me``, skipping cases another person holds (a step should land on a case one can work)."""
    conn = store.conn
    case = _case_row(conn, person_id)
    op, order = (">", "ASC") if forward else ("<", "DESC")
    held, args = "", [case["case_id"]]
    if me is not None:
        held = NOT_HELD_BY_OTHERS
        args += [me.user_id, now_iso()]
    row = conn.execute(f"SELECT c.person_id FROM review_cases c WHERE c.todo = 1 AND c.case_id {op} ?{held}"
                       f" ORDER BY c.case_id {order} LIMIT 1", args).fetchone()
    return row[0] if row else None


def _conflicts(conn: sqlite3.Connection, case: sqlite3.Row, number: str, *, proposal_id: int | None = None) -> None:
    """Refuse (409) a number registered or proposed for another person, or a person holding another number
    (registered in the store, or held in the agency's records the run read)."""
    person_id = case["person_id"]
    on_file = json.loads(case["resident"]).get("my_number")
    if on_file and on_file != number:
        raise Conflict("person_holds_other_number", "the agency's record already holds a different number for "
                                                    f"this person ({mask(on_file, whole=True)})")
    other = conn.execute("SELECT person_id FROM registrations WHERE my_number = ? AND status = 'registered'"
                         " AND person_id != ?", (number, person_id)).fetchone()
    if other:
        raise Conflict("number_registered_elsewhere", "this number is already registered for another person "
                                                      f"({other[0]}); it cannot be registered twice")
    held = conn.execute("SELECT my_number FROM registrations WHERE person_id = ? AND status = 'registered'",
                        (person_id,)).fetchone()
    if held and held[0] != number:
        raise Conflict("person_holds_other_number", "this person already holds a different registered number "
                                                    f"({mask(held[0], whole=True)})")
    prop = conn.execute("SELECT person_id FROM review_decisions WHERE my_number = ? AND status = 'proposed'"
                        " AND person_id != ? AND id IS NOT ?", (number, person_id, proposal_id)).fetchone()
    if prop:
        raise Conflict("number_proposed_elsewhere", "this number is already proposed for another person "
                                                    f"({prop[0]}) and awaits approval")


def _register(conn: sqlite3.Connection, case: sqlite3.Row, number: str, candidate: int, approver: str) -> None:
    prob = conn.execute("SELECT match_probability FROM review_candidates WHERE case_id = ? AND rank = ?",
                        (case["case_id"], candidate)).fetchone()
    now = now_iso()
    try:
        conn.execute("INSERT INTO registrations (person_id, my_number, status, source, match_probability, reasons,"
                     " staff_id, created_at, decided_at) VALUES (?, ?, 'registered', 'bulk', ?, ?, ?, ?, ?)",
                     (case["person_id"], number, prob[0] if prob else None, case["reasons"], approver, now, now))
    except sqlite3.IntegrityError:
        raise Conflict("number_registered_elsewhere", "the number or the person is already registered") from None
    conn.execute("UPDATE review_cases SET status = 'registered', closed_at = ? WHERE case_id = ?",
                 (now, case["case_id"]))


def decide(store: Store, person_id: str, me: Principal, action: str, *, candidate: int | None = None,
           note: str | None = None, four_eyes: bool = True) -> dict[str, Any]:
    """Record a clerk's or supervisor's decision on a case; returns the case's new state."""
    if me.role not in (CLERK, SUPERVISOR):
        raise Forbidden("role_not_allowed", f"role {me.role} may not decide review cases")
    if action not in ACTIONS:
        raise Unprocessable("invalid_request", f"action must be one of {', '.join(ACTIONS)}")
    note = (note or "").strip() or None
    if action != "confirm" and not note:
        raise Unprocessable("note_required", f"a note is required for {action}")
    if action == "confirm" and candidate is None:
        raise Unprocessable("candidate_required", "confirm needs the candidate's rank")
    with store.write() as conn:
        case = _case_row(conn, person_id)
        if not _may_work(case, me):
            raise Conflict("case_not_open", f"the case is {case['status']}: it cannot be decided now")
        lease = conn.execute("SELECT taken_at, user_id, expires_at FROM review_leases WHERE case_id = ?",
                             (case["case_id"],)).fetchone()
        _take_lease(conn, case["case_id"], me)  # refuses while another person holds it
        opened = lease["taken_at"] if lease and lease["user_id"] == me.user_id else None
        number, status, now = None, "final", now_iso()
        if action == "confirm":
            row = conn.execute("SELECT my_number FROM review_candidates WHERE case_id = ? AND rank = ?",
                               (case["case_id"], candidate)).fetchone()
            if row is None:
                raise Unprocessable("unknown_candidate", f"the case has no candidate {candidate}")
            number = row["my_number"]
            error = my_number_errors([number])[0]
            if error:
                raise Conflict("number_invalid", f"candidate {candidate}'s number is not registrable ({error})")
            _conflicts(conn, case, number)
            status = "proposed" if four_eyes else "approved"
        cur = conn.execute(
            "INSERT INTO review_decisions (case_id, person_id, action, candidate, my_number, note, status, decided_by,"
            " decided_at, opened_at, approved_by, approved_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (case["case_id"], person_id, action, candidate if action == "confirm" else None, number, note, status,
             me.user_id, now, opened, None if status != "approved" else me.user_id,
             None if status != "approved" else now))
        if status == "approved":
            _register(conn, case, cast(str, number), cast(int, candidate), me.user_id)
        else:
            new = "proposed" if action == "confirm" else _CLOSED_BY[action]
            conn.execute("UPDATE review_cases SET status = ?, closed_at = ? WHERE case_id = ?",
                         (new, None if new in ("proposed", "escalated") else now, case["case_id"]))
        conn.execute("DELETE FROM review_leases WHERE case_id = ?", (case["case_id"],))
        audit.append(conn, staff_id=me.user_id, role=me.role, operation="review_decision", person_id=person_id,
                     my_number=number, detail={"case_id": case["case_id"], "action": action, "candidate": candidate,
                                                "status": status, "decision_id": cur.lastrowid})
        new_status = conn.execute("SELECT status FROM review_cases WHERE case_id = ?",
                                  (case["case_id"],)).fetchone()[0]
    return {"person_id": person_id, "case_id": case["case_id"], "action": action, "decision": status,
            "status": new_status, "my_number": mask(number, whole=True) if number else None}


def approve(store: Store, person_id: str, me: Principal, approve: bool, *, note: str | None = None) -> dict[str, Any]:
    """A supervisor approves (the number is registered) or returns (the case reopens) a proposal."""
    if me.role != SUPERVISOR:
        raise Forbidden("role_not_allowed", "only a supervisor approves or returns proposals")
    note = (note or "").strip() or None
    if not approve and not note:
        raise Unprocessable("note_required", "a note is required to return a proposal")
    with store.write() as conn:
        case = _case_row(conn, person_id)
        prop = conn.execute("SELECT * FROM review_decisions WHERE case_id = ? AND status = 'proposed'"
                            " ORDER BY id DESC LIMIT 1", (case["case_id"],)).fetchone()
        if case["status"] != "proposed" or prop is None:
            raise Conflict("nothing_to_approve", f"the case is {case['status']}: there is no proposal to approve")
        if prop["decided_by"] == me.user_id:
            raise Forbidden("four_eyes", "the proposer cannot approve their own proposal: another supervisor must")
        now = now_iso()
        if approve:
            _conflicts(conn, case, prop["my_number"], proposal_id=prop["id"])
            conn.execute("UPDATE review_decisions SET status = 'approved', approved_by = ?, approved_at = ?,"
                         " approval_note = ? WHERE id = ?", (me.user_id, now, note, prop["id"]))
            _register(conn, case, prop["my_number"], prop["candidate"], me.user_id)
        else:
            conn.execute("UPDATE review_decisions SET status = 'returned', approved_by = ?, approved_at = ?,"
                         " approval_note = ? WHERE id = ?", (me.user_id, now, note, prop["id"]))
            conn.execute("UPDATE review_cases SET status = 'open' WHERE case_id = ?", (case["case_id"],))
        audit.append(conn, staff_id=me.user_id, role=me.role, operation="review_approval", person_id=person_id,
                     my_number=prop["my_number"], detail={"case_id": case["case_id"], "approve": approve,
                                                          "decision_id": prop["id"], "proposed_by": prop["decided_by"]})
    return {"person_id": person_id, "case_id": case["case_id"], "approved": approve,
            "status": "registered" if approve else "open", "my_number": mask(prop["my_number"], whole=True)}


def proposals(store: Store, *, after: int = 0, limit: int = 50) -> list[dict[str, Any]]:
    """Proposals awaiting a supervisor, oldest first, numbers masked."""
    rows = store.conn.execute(
        "SELECT d.id, d.person_id, d.candidate, d.my_number, d.decided_by, d.decided_at, c.reasons"
        " FROM review_decisions d JOIN review_cases c ON c.case_id = d.case_id WHERE d.status = 'proposed'"
        " AND d.id > ? ORDER BY d.id LIMIT ?", (after, max(1, min(limit, MAX_PAGE))))
    return [dict(r) | {"my_number": mask(r["my_number"], whole=True), "reasons": json.loads(r["reasons"])}
            for r in rows]


def decision_seconds(store: Store) -> dict[str, float]:
    """Median seconds from opening a case to deciding it, by the case's first reason (and ``all``)."""
    rows = store.conn.execute(
        "SELECT c.reasons, d.opened_at, d.decided_at FROM review_decisions d JOIN review_cases c"
        " ON c.case_id = d.case_id WHERE d.opened_at IS NOT NULL")
    by: dict[str, list[float]] = {}
    for reasons, opened, decided in rows:
        s = (datetime.fromisoformat(decided) - datetime.fromisoformat(opened)).total_seconds()
        first = (json.loads(reasons) or ["none"])[0]
        by.setdefault(first, []).append(s)
        by.setdefault("all", []).append(s)
    return {k: round(statistics.median(v), 3) for k, v in sorted(by.items())}
