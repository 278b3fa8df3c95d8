"""What one requester sends: provision requests drawn from its profile, some deliberately forbidden.

Shared by the Locust users and the calibration run, so both load the service with the same
mix. A permitted request asks for the requester row's kinds (all of them half the time,
else one); a deliberately forbidden one (``profile.refused_share`` of them) names an office
work row of another requesting body ("row") or a kind the row may not ask for ("kind", where
the row lacks one). The service must refuse those with 403 ``not_permitted`` and record them.
Also: :func:`check_response`, the one judge of an answer used by Locust and calibration.
"""
from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from jukimatch.datasets.requesters import INFO_KINDS

from .profiles import LoadProfile

PATH = "/v1/provisions"
OK, REFUSED_ROW, REFUSED_KIND = "ok", "refused_row", "refused_kind"
NAMES = {OK: PATH, REFUSED_ROW: f"{PATH} [refusal: row]", REFUSED_KIND: f"{PATH} [refusal: kind]"}


@dataclass(frozen=True)
class PlannedRequest:
    expect: str  # OK, REFUSED_ROW or REFUSED_KIND
    body: dict[str, Any]

    @property
    def name(self) -> str:
        """The Locust statistics group of this request."""
        return NAMES[self.expect]


class RequestMix:
    """Draws requests for one requester row; seeded, so a run can be repeated."""

    def __init__(self, profile: LoadProfile, profiles: Sequence[LoadProfile], subjects: Sequence[str], *,
                 seed: int = 0) -> None:
        if not subjects:
            raise ValueError("no subjects to ask about")
        self.profile = profile
        req = profile.requester
        self.code, self.row, self.kinds = req.requester_code, req.ordinance_row, list(req.info_kinds)
        own_rows = {p.requester.ordinance_row for p in profiles if p.requester.requester_code == self.code}
        self.foreign_rows = sorted({p.requester.ordinance_row for p in profiles} - own_rows)
        self.missing_kinds = [k for k in INFO_KINDS if k not in self.kinds]
        self.subjects = list(subjects)
        self.rng = random.Random(seed)

    def draw(self) -> PlannedRequest:
        rng = self.rng
        subject = rng.choice(self.subjects)
        if rng.random() < self.profile.refused_share:
            if self.missing_kinds and (not self.foreign_rows or rng.random() < 0.5):
                kinds = sorted({rng.choice(self.missing_kinds), rng.choice(self.kinds)}, key=INFO_KINDS.index)
                return PlannedRequest(REFUSED_KIND, self._body(self.row, kinds, subject))
            return PlannedRequest(REFUSED_ROW, self._body(rng.choice(self.foreign_rows), self.kinds, subject))
        kinds = self.kinds if rng.random() < 0.5 else [rng.choice(self.kinds)]
        return PlannedRequest(OK, self._body(self.row, kinds, subject))

    def _body(self, row: int, kinds: list[str], subject: str) -> dict[str, Any]:
        return {"requester": self.code, "office_work_row": row, "info_kinds": list(kinds), "subject": subject}


def check_response(planned: PlannedRequest, status: int, text: str | bytes | None) -> tuple[str, str | None]:
    """Judge one answer: ``(outcome, problem)``; ``problem`` is None when the answer is right.

    Outcomes: ``provided`` (200), ``held`` (202), ``refused`` (the expected 403), else
    ``error``. The body must echo the request and carry its provision record id.
    """
    try:
        body = json.loads(text) if text else None
    except ValueError:
        return "error", f"HTTP {status}: body is not JSON"
    if not isinstance(body, dict):
        return "error", f"HTTP {status}: body is not a JSON object"
    req = planned.body
    if planned.expect != OK:
        if status != 403:
            return "error", f"expected 403 for a forbidden {planned.expect[8:]}, got {status}"
        if body.get("error") != "not_permitted":
            return "error", f"403 with error {body.get('error')!r}, expected 'not_permitted'"
        if not isinstance((body.get("details") or {}).get("provision_id"), int):
            return "error", "refusal without a provision record id"
        return "refused", None
    if status not in (200, 202):
        return "error", f"HTTP {status}: {body.get('error')}: {str(body.get('message'))[:120]}"
    if not isinstance(body.get("provision_id"), int):
        return "error", "answer without a provision record id"
    if (body.get("requester"), body.get("office_work_row")) != (req["requester"], req["office_work_row"]):
        return "error", "answer names another requester or row"
    if body.get("info_kinds") != req["info_kinds"]:
        return "error", "answer names other information kinds"
    if status == 200:
        copies = body.get("copies")
        if body.get("status") != "provided" or not isinstance(copies, dict) or set(copies) != set(req["info_kinds"]):
            return "error", "200 without status provided and one copy entry per requested kind"
        return "provided", None
    if body.get("status") != "held" or not isinstance(body.get("hold_id"), int) or "copies" in body:
        return "error", "202 without status held and a hold id, or with copies attached"
    return "held", None


def read_subjects(path: str | Path) -> list[str]:
    """Subject identifiers, one a line."""
    return [ln.strip() for ln in Path(path).read_text(encoding="utf-8").splitlines() if ln.strip()]


def subjects_from_store(db: str | Path, limit: int = 200_000) -> list[str]:
    """Subject identifiers of the persons in a store (read-only)."""
    import sqlite3

    conn = sqlite3.connect(f"file:{Path(db)}?mode=ro", uri=True)
    try:
        return [r[0] for r in conn.execute("SELECT subject_id FROM persons WHERE subject_id IS NOT NULL"
                                           " ORDER BY subject_id LIMIT ?", (limit,))]
    finally:
        conn.close()
