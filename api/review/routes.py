"""``/v1/review/...``: the workbench's JSON API, in the service's route table (so in OpenAPI).

The same rules as the pages: bearer tokens of clerks and supervisors, leases, four eyes,
409 for a number that would reach a second person, numbers masked unless revealed (and a
reveal audited).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jukimatch.api.service.auth import CLERK, SUPERVISOR
from jukimatch.api.service.errors import Unprocessable
from jukimatch.api.service.models import Field, Model
from jukimatch.api.service.routes import Call, Route, caller

from . import cases

@dataclass(frozen=True)
class _RuledModel(Model):
    """A request model whose documented schema also states the rules between its fields."""

    rules: tuple[dict[str, Any], ...] = ()

    def schema(self) -> dict[str, Any]:
        return super().schema() | {"allOf": list(self.rules)}


_NOTE_GIVEN = {"required": ["note"], "properties": {"note": {"type": "string", "pattern": r"\S"}}}
DECISION = _RuledModel("ReviewDecision", "A decision on a review case: confirm candidate k, or another action and "
                       "a note.", (
    Field("action", "string", "confirm | no_match | reinquire | escalate", enum=cases.ACTIONS),
    Field("candidate", "integer", "the candidate's rank (1-based), for confirm", required=False, minimum=1,
          maximum=999),
    Field("note", "string", "why; required for all actions but confirm", required=False, max_length=2000),
), ({"if": {"properties": {"action": {"const": "confirm"}}}, "then": {"required": ["candidate"], "properties": {"candidate": {"type": "integer"}}},
     "else": _NOTE_GIVEN},))
APPROVAL = _RuledModel("ReviewApproval", "A supervisor approves a proposal (the number is registered) or returns it.", (
    Field("approve", "boolean", "true: register; false: return the case to the queue"),
    Field("note", "string", "why; required to return", required=False, max_length=2000),
), ({"if": {"properties": {"approve": {"const": False}}}, "then": _NOTE_GIVEN},))
MODELS = (DECISION, APPROVAL)


def _filters(call: Call) -> cases.Filters:
    q = call.query
    status = q.get("status")
    if status is not None and status not in cases.STATUSES:
        raise Unprocessable("invalid_query", f"query parameter status must be one of {', '.join(cases.STATUSES)}")
    return cases.Filters(reason=q.get("reason") or None, municipality=q.get("municipality") or None,
                         nationality=q.get("nationality") or None, run=q.get("run") or None, status=status)


def get_cases(call: Call) -> tuple[int, Any]:
    after = call.int_query("after", 0, 0, 2**62)
    limit = call.int_query("limit", 50, 1, cases.MAX_PAGE)
    page = cases.list_cases(call.store, _filters(call), after=after, limit=limit)
    return 200, {"cases": page, "next_after": page[-1]["case_id"] if len(page) == limit else None,
                 "counts": cases.queue_counts(call.store)}


def get_case(call: Call) -> tuple[int, Any]:
    return 200, cases.open_case(call.store, call.path["person_id"], caller(call))


def post_decision(call: Call) -> tuple[int, Any]:
    b = call.body or {}
    return 200, cases.decide(call.store, call.path["person_id"], caller(call), b["action"], candidate=b.get("candidate"),
                             note=b.get("note"), four_eyes=call.settings.get("review_four_eyes", True))


def post_approval(call: Call) -> tuple[int, Any]:
    b = call.body or {}
    return 200, cases.approve(call.store, call.path["person_id"], caller(call), b["approve"], note=b.get("note"))


def post_reveal(call: Call) -> tuple[int, Any]:
    number = cases.reveal(call.store, call.path["person_id"], call.path["rank"], caller(call))
    return 200, {"person_id": call.path["person_id"], "candidate": call.path["rank"], "my_number": number}


_WORKERS = (CLERK, SUPERVISOR)
_REFUSED = ("refused: the case is held by another person or not open, or the number would reach a second person",
            "Error")
_FILTERS = (("reason", "string"), ("municipality", "string"), ("nationality", "string"), ("run", "string"),
            ("status", {"type": "string", "enum": list(cases.STATUSES)}),
            ("after", {"type": "integer", "minimum": 0, "maximum": 2**62}),
            ("limit", {"type": "integer", "minimum": 1, "maximum": cases.MAX_PAGE}))
ROUTES: tuple[Route, ...] = (
    Route("GET", "/v1/review/cases", "listReviewCases", "The review queue, one page (keyset paging on case_id), "
          "with counts per status, reason and run", _WORKERS, get_cases, ok={200: ("one page", "Object")},
          query=_FILTERS),
    Route("GET", "/v1/review/cases/{person_id}", "getReviewCase", "A person's current case, both sides, levels and "
          "weights, numbers masked; takes the case's lease; audited", _WORKERS, get_case,
          ok={200: ("the case", "Object"), 409: _REFUSED}),
    Route("POST", "/v1/review/cases/{person_id}/decision", "decideReviewCase", "Decide a case: a confirm is a "
          "proposal while four-eyes is on; 409 if the number would reach a second person", _WORKERS, post_decision,
          DECISION, {200: ("the case's new state", "Object"), 409: _REFUSED}),
    Route("POST", "/v1/review/cases/{person_id}/approval", "approveReviewCase", "A supervisor other than the proposer "
          "approves (registers) or returns a proposal", (SUPERVISOR,), post_approval, APPROVAL,
          {200: ("the case's new state", "Object"), 409: _REFUSED}),
    Route("POST", "/v1/review/cases/{person_id}/candidates/{rank:int}/reveal", "revealReviewNumber",
          "A candidate's number in full: a deliberate, audited act", _WORKERS, post_reveal,
          ok={200: ("the number", "Object")}),
)
