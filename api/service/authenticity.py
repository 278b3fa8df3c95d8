"""The authenticity check (真正性確認) of a My Number an applicant handed in.

The assessment's flow: if the number is registered for this person, it is authentic.
Otherwise register it provisionally (仮登録), ask Juki-net for the 4 information tied to the
number, compare them with the agency's, and confirm or reject the provisional registration.
A number that fails its check digit is rejected at once, Juki-net is not asked.

Rules that protect against the failure the agency fears most, a number registered for the
wrong person: a confirmation never overrides a number registered for another person or a
different number already registered for this one — both go to ``review`` for a person; the
database's unique indexes enforce the same once more. If Juki-net cannot be reached the
registration stays ``provisional`` with a due time for the next attempt
(:func:`retry_provisional`), never dropped.

Every step that reads or writes a number appends an audit entry in the same transaction.
A new number takes two commits, no more: the provisional registration (before the number
leaves for Juki-net, so that a crash leaves it due for a retry) and the decision.
"""
from __future__ import annotations

import json
import logging
import sqlite3
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jukimatch.engine.masking import mask
from jukimatch.engine.validate.checkdigit import my_number_errors

from . import audit
from .errors import NotFound
from .jukinet import FOUR_INFO_FIELDS, Jukinet, JukinetUnavailable
from .canon import dumps, inserted_id, now_iso
from .store import Store

if TYPE_CHECKING:  # pragma: no cover
    from jukimatch.engine.reconcile.single import SingleResult

log = logging.getLogger("jukimatch.service")

AUTHENTIC, CONFIRMED, REJECTED, REVIEW, PROVISIONAL = "authentic", "confirmed", "rejected", "review", "provisional"
_RESULT_OF_STATUS = {"registered": CONFIRMED, "rejected": REJECTED, "review": REVIEW, "provisional": PROVISIONAL}
_STATUS_OF_DECISION = {CONFIRMED: "registered", REJECTED: "rejected", REVIEW: "review"}
RETRY_BASE_S = 30.0  # first retry after a failed Juki-net call; doubles per attempt
RETRY_MAX_S = 3600.0
CLAIM_LEASE_S = 120.0  # a claimed retry is not claimed again by another worker for this long


@dataclass
class CheckResult:
    """Outcome of one authenticity check; the number is only ever carried masked."""

    check_id: int
    person_id: str
    result: str  # authentic | confirmed | rejected | review | provisional
    number_masked: str
    reasons: list[str] = field(default_factory=list)
    match_probability: float | None = None
    levels: dict[str, int] | None = None
    registration_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"check_id": self.check_id, "person_id": self.person_id, "result": self.result,
                "my_number": self.number_masked, "reasons": self.reasons,
                "match_probability": self.match_probability, "levels": self.levels,
                "registration_id": self.registration_id}


def retry_delay(attempts: int, base_s: float = RETRY_BASE_S) -> float:
    """Seconds until the next Juki-net attempt after ``attempts`` failed ones."""
    return float(min(base_s * 2 ** max(attempts - 1, 0), RETRY_MAX_S))


def _insert_check(conn: sqlite3.Connection, person_id: str, number: str, result: str, reasons: list[str],
                  staff_id: str, registration_id: int | None, decided: bool) -> int:
    now = now_iso()
    cur = conn.execute(
        "INSERT INTO authenticity_checks (person_id, number_masked, registration_id, result, reasons,"
        " staff_id, requested_at, decided_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (person_id, mask(number, whole=True), registration_id, result, dumps(reasons), staff_id, now,
         now if decided else None))
    return inserted_id(cur)


# The person and the registrations that decide the path, in one statement: the number
# registered for the person and an open provisional registration of this very number (the
# partial unique indexes allow at most one of each).
_PERSON_SQL = ("SELECT " + ", ".join(f"p.{f}" for f in FOUR_INFO_FIELDS) + ", h.id, h.my_number, v.id, v.attempts"
               " FROM persons p"
               " LEFT JOIN registrations h ON h.person_id = p.person_id AND h.status = 'registered'"
               " LEFT JOIN registrations v ON v.person_id = p.person_id AND v.my_number = ?"
               " AND v.status = 'provisional'"
               " WHERE p.person_id = ?")
_N4 = len(FOUR_INFO_FIELDS)


def check_authenticity(store: Store, person_id: str, my_number: str, *, jukinet: Jukinet | None,
                       staff_id: str, role: str = "staff", retry_base_s: float = RETRY_BASE_S) -> CheckResult:
    """Check a My Number handed in for ``person_id``; see the module docstring for the flow.

    Raises :class:`~jukimatch.api.service.errors.NotFound` for an unknown person (the
    attempt is still audited). ``jukinet=None`` behaves as an unreachable Juki-net.
    The provisional registration is committed before Juki-net is asked, so a crash after
    that leaves it ``provisional`` and due for :func:`retry_provisional`.
    """
    if not isinstance(person_id, str) or not isinstance(my_number, str):
        raise TypeError("person_id and my_number must be text")
    number = my_number.strip()
    error = my_number_errors([number])[0]
    masked = mask(number, whole=True)
    with store.write() as conn:
        row = conn.execute(_PERSON_SQL, (number, person_id)).fetchone()
        if row is None:  # the typed number leaves a trace: the entry commits, then the refusal
            audit.append(conn, staff_id=staff_id, role=role, operation="authenticity_check",
                         person_id=person_id, my_number=number, detail={"result": "unknown_person"})
            started = None
        else:
            started = _start(conn, row, person_id, number, error, masked, staff_id, role)
    if started is None:
        raise NotFound("unknown_person", "no person with this person_id")
    if isinstance(started, CheckResult):
        return started
    reg_id, attempts, cid = started
    ours = dict(zip(FOUR_INFO_FIELDS, row[:_N4]))
    outcome = _ask_and_decide(store, reg_id, person_id, number, ours, attempts, jukinet=jukinet,
                              staff_id=staff_id, role=role, retry_base_s=retry_base_s)
    return CheckResult(cid, person_id, outcome.result, masked, outcome.reasons,
                       outcome.match_probability, outcome.levels, reg_id)


def _start(conn: sqlite3.Connection, row: tuple[Any, ...], person_id: str, number: str, error: str | None, masked: str,
           staff_id: str, role: str) -> CheckResult | tuple[int, int, int]:
    """The check's first transaction for a known person: a final result, or the provisional
    registration to ask Juki-net about as ``(registration_id, attempts, check_id)``."""
    if error is not None:
        reasons = [f"my_number:{error}"]
        cid = _insert_check(conn, person_id, number, REJECTED, reasons, staff_id, None, True)
        audit.append(conn, staff_id=staff_id, role=role, operation="authenticity_check",
                     person_id=person_id, my_number=number, detail={"check_id": cid, "result": REJECTED,
                                                                     "reasons": reasons})
        return CheckResult(cid, person_id, REJECTED, masked, reasons)
    held_id, held_number, reg_id, attempts = row[_N4:]
    if held_id is not None and held_number == number:
        reasons = ["registered_for_person"]
        cid = _insert_check(conn, person_id, number, AUTHENTIC, reasons, staff_id, held_id, True)
        audit.append(conn, staff_id=staff_id, role=role, operation="authenticity_check",
                     person_id=person_id, my_number=number, detail={"check_id": cid, "result": AUTHENTIC})
        return CheckResult(cid, person_id, AUTHENTIC, masked, reasons, registration_id=held_id)
    if reg_id is None:
        now = now_iso()
        reg_id = inserted_id(conn.execute(
            "INSERT INTO registrations (person_id, my_number, status, source, staff_id, created_at,"
            " next_attempt_at) VALUES (?, ?, 'provisional', 'authenticity_check', ?, ?, ?)",
            (person_id, number, staff_id, now, now)))
        attempts = 0
        audit.append(conn, staff_id=staff_id, role=role, operation="register_provisional",
                     person_id=person_id, my_number=number, detail={"registration_id": reg_id})
    cid = _insert_check(conn, person_id, number, PROVISIONAL, [], staff_id, reg_id, False)
    return reg_id, attempts, cid


@dataclass
class Outcome:
    """What became of one provisional registration after a Juki-net attempt."""

    registration_id: int
    result: str
    reasons: list[str]
    match_probability: float | None = None
    levels: dict[str, int] | None = None


def compare_with_ours(ours: dict[str, Any], theirs: dict[str, Any]) -> SingleResult:
    """The engine's single-pair comparison, looked up at call time (it imports the kernels)."""
    from jukimatch.engine.reconcile import single

    return single.compare_records(ours, theirs)


def resolve(store: Store, registration_id: int, *, jukinet: Jukinet | None, staff_id: str, role: str = "staff",
            retry_base_s: float = RETRY_BASE_S) -> Outcome:
    """Ask Juki-net about one provisional registration and decide it, or schedule a retry."""
    row = store.conn.execute(
        "SELECT r.person_id, r.my_number, r.status, r.attempts, r.reasons, r.match_probability, "
        + ", ".join(f"p.{f}" for f in FOUR_INFO_FIELDS)
        + " FROM registrations r JOIN persons p USING (person_id) WHERE r.id = ?", (registration_id,)).fetchone()
    if row is None:
        raise NotFound("unknown_registration", f"no registration {registration_id}")
    if row["status"] != "provisional":
        return Outcome(registration_id, _RESULT_OF_STATUS[row["status"]], json.loads(row["reasons"]),
                       row["match_probability"])
    ours = {f: row[f] for f in FOUR_INFO_FIELDS}
    return _ask_and_decide(store, registration_id, row["person_id"], row["my_number"], ours, row["attempts"],
                           jukinet=jukinet, staff_id=staff_id, role=role, retry_base_s=retry_base_s)


# The registration as it stands now, and whether confirming it would clash: the number
# registered for another person, or another number registered for this person.
_STATE_SQL = ("SELECT r.status, r.reasons, r.match_probability,"
              " EXISTS (SELECT 1 FROM registrations o WHERE o.my_number = r.my_number"
              " AND o.status = 'registered' AND o.person_id != r.person_id),"
              " EXISTS (SELECT 1 FROM registrations o WHERE o.person_id = r.person_id"
              " AND o.status = 'registered' AND o.my_number != r.my_number)"
              " FROM registrations r WHERE r.id = ?")


def _ask_and_decide(store: Store, registration_id: int, person_id: str, number: str, ours: dict[str, Any], attempts: int,
                    *, jukinet: Jukinet | None, staff_id: str, role: str, retry_base_s: float) -> Outcome:
    """Juki-net lookup and comparison outside any transaction, then one write to record the result."""
    try:
        if jukinet is None:
            raise JukinetUnavailable("no Juki-net responder configured")
        info = jukinet.lookup(number)
    except JukinetUnavailable as exc:
        with store.write() as conn:
            attempts += 1
            conn.execute("UPDATE registrations SET attempts = ?, last_error = ?, next_attempt_at = ?"
                         " WHERE id = ? AND status = 'provisional'",
                         (attempts, mask(str(exc))[:200], now_iso(retry_delay(attempts, retry_base_s)),
                          registration_id))
            audit.append(conn, staff_id=staff_id, role=role, operation="jukinet_lookup", person_id=person_id,
                         my_number=number, detail={"registration_id": registration_id, "outcome": "unavailable",
                                                   "attempt": attempts})
        log.warning("Juki-net unavailable for registration %d (number %s): stays provisional",
                    registration_id, mask(number, whole=True))
        return Outcome(registration_id, PROVISIONAL, ["jukinet_unavailable"])
    levels = None
    probability = None
    if info is None:
        decision, reasons = REJECTED, ["jukinet_not_found"]
    else:
        res = compare_with_ours(ours, info.as_record())
        decision, reasons = res.decision, list(res.reasons)
        probability, levels = float(res.match_probability), dict(res.levels)
    with store.write() as conn:
        status, old_reasons, old_probability, other, holds = conn.execute(_STATE_SQL, (registration_id,)).fetchone()
        if status != "provisional":  # decided meanwhile by a concurrent check or retry
            return Outcome(registration_id, _RESULT_OF_STATUS[status], json.loads(old_reasons), old_probability,
                           levels)
        if decision == CONFIRMED:
            if other:
                decision, reasons = REVIEW, reasons + ["number_held_by_other_person"]
            if holds:
                decision, reasons = REVIEW, reasons + ["holds_other_number"]
        now = now_iso()
        reasons_json = dumps(reasons)
        conn.execute("UPDATE registrations SET status = ?, reasons = ?, match_probability = ?, decided_at = ?,"
                     " next_attempt_at = NULL, attempts = attempts + 1 WHERE id = ?",
                     (_STATUS_OF_DECISION[decision], reasons_json, probability, now, registration_id))
        conn.execute("UPDATE authenticity_checks SET result = ?, reasons = ?, match_probability = ?, levels = ?,"
                     " decided_at = ? WHERE registration_id = ? AND result = 'provisional'",
                     (decision, reasons_json, probability, None if levels is None else dumps(levels), now,
                      registration_id))
        audit.append(conn, staff_id=staff_id, role=role, operation="registration_decision", person_id=person_id,
                     my_number=number, detail={"registration_id": registration_id, "result": decision,
                                               "reasons": reasons,
                                               "jukinet": "not_found" if info is None else "found"})
    return Outcome(registration_id, decision, reasons, probability, levels)


def retry_provisional(store: Store, *, jukinet: Jukinet | None, staff_id: str = "system:retry",
                      role: str = "operator", limit: int = 100, force: bool = False,
                      retry_base_s: float = RETRY_BASE_S) -> list[Outcome]:
    """Retry Juki-net for provisional registrations that are due (all of them with ``force``).

    Rows are claimed first (their due time moves ``CLAIM_LEASE_S`` ahead in one transaction),
    so several workers or a background task and an operator never ask twice for one row.
    """
    now = now_iso()
    with store.write() as conn:
        sql = "SELECT id FROM registrations WHERE status = 'provisional'"
        args: tuple[Any, ...] = ()
        if not force:
            sql += " AND next_attempt_at <= ?"
            args = (now,)
        ids = [r[0] for r in conn.execute(sql + " ORDER BY next_attempt_at, id LIMIT ?", args + (limit,))]
        conn.executemany("UPDATE registrations SET next_attempt_at = ? WHERE id = ?",
                         [(now_iso(CLAIM_LEASE_S), i) for i in ids])
    outcomes = []
    for i in ids:
        try:
            outcomes.append(resolve(store, i, jukinet=jukinet, staff_id=staff_id, role=role,
                                    retry_base_s=retry_base_s))
        except Exception:  # noqa: BLE001 - one bad row must not starve the others; it stays provisional
            log.exception("retry of registration %d failed; it stays provisional", i)
            outcomes.append(Outcome(i, PROVISIONAL, ["retry_failed"]))
    return outcomes


def get_check(store: Store, check_id: int) -> CheckResult:
    """One recorded check (number masked)."""
    row = store.conn.execute("SELECT * FROM authenticity_checks WHERE id = ?", (check_id,)).fetchone()
    if row is None:
        raise NotFound("unknown_check", f"no authenticity check {check_id}")
    return CheckResult(row["id"], row["person_id"], row["result"], row["number_masked"], json.loads(row["reasons"]),
                       row["match_probability"], None if row["levels"] is None else json.loads(row["levels"]),
                       row["registration_id"])
