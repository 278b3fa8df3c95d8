"""Request bodies as small declarative models: one definition validates and documents.

The same :class:`Model` checks an incoming JSON object (unknown fields, missing fields,
wrong types, lengths, patterns, enums) and renders the JSON Schema that ``/openapi.json``
publishes, so the documentation cannot drift from what the service accepts. Problems name
the field and what is wrong, never the value (it may be a My Number).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .errors import Unprocessable

_JSON_TYPE = {"string": str, "integer": int, "boolean": bool, "array": list}


@dataclass(frozen=True)
class Field:
    name: str
    type: str  # string | integer | boolean | array (of strings)
    description: str
    required: bool = True
    max_length: int | None = None
    pattern: str | None = None
    minimum: int | None = None
    maximum: int | None = None
    enum: tuple[str, ...] | None = None  # for arrays: allowed items
    min_items: int | None = None
    max_items: int | None = None

    def problems(self, value: Any) -> list[str]:
        py = _JSON_TYPE[self.type]
        right_type = isinstance(value, py) and not (py is int and isinstance(value, bool))
        if not right_type:
            return [f"must be of type {self.type}"]
        out = []
        if self.type == "string":
            if self.max_length is not None and len(value) > self.max_length:
                out.append(f"must be at most {self.max_length} characters")
            if self.pattern is not None and not re.fullmatch(self.pattern, value):
                out.append(f"must match {self.pattern}")
            if self.enum is not None and value not in self.enum:
                out.append(f"must be one of {', '.join(self.enum)}")
        if self.type == "integer":
            if self.minimum is not None and value < self.minimum:
                out.append(f"must be at least {self.minimum}")
            if self.maximum is not None and value > self.maximum:
                out.append(f"must be at most {self.maximum}")
        if self.type == "array":
            if self.min_items is not None and len(value) < self.min_items:
                out.append(f"must have at least {self.min_items} items")
            if self.max_items is not None and len(value) > self.max_items:
                out.append(f"must have at most {self.max_items} items")
            if any(not isinstance(v, str) for v in value):
                out.append("items must be strings")
            elif self.enum is not None and any(v not in self.enum for v in value):
                out.append(f"items must be among {', '.join(self.enum)}")
            elif len(set(value)) != len(value):
                out.append("items must be unique")
        return out

    def schema(self) -> dict[str, Any]:
        # an optional field may be sent as null: validate() treats it as absent
        s: dict[str, Any] = {"type": self.type if self.required else [self.type, "null"],
                             "description": self.description}
        if self.type == "array":
            s["items"] = {"type": "string", **({"enum": list(self.enum)} if self.enum else {})}
            s["uniqueItems"] = True
            for k, v in (("minItems", self.min_items), ("maxItems", self.max_items)):
                if v is not None:
                    s[k] = v
        else:
            limits: tuple[tuple[str, Any], ...] = (("maxLength", self.max_length), ("pattern", self.pattern),
                                                   ("minimum", self.minimum), ("maximum", self.maximum))
            for k, v in limits:
                if v is not None:
                    s[k] = f"^{v}$" if k == "pattern" else v
            if self.enum:
                s["enum"] = list(self.enum)
        return s


@dataclass(frozen=True)
class Model:
    name: str
    description: str
    fields: tuple[Field, ...] = field(default_factory=tuple)

    def validate(self, body: Any) -> dict[str, Any]:
        """The body as a dict of known fields, or :class:`Unprocessable` listing every problem."""
        if not isinstance(body, dict):
            raise Unprocessable("invalid_request", f"{self.name}: the body must be a JSON object")
        known = {f.name: f for f in self.fields}
        problems = [{"field": k, "problem": "unknown field"} for k in body if k not in known]
        for f in self.fields:
            if f.name not in body or body[f.name] is None:
                if f.required:
                    problems.append({"field": f.name, "problem": "required"})
                continue
            if f.type == "integer" and isinstance(body[f.name], float) and body[f.name].is_integer():
                body = {**body, f.name: int(body[f.name])}  # JSON Schema: 1367.0 is an integer
            problems += [{"field": f.name, "problem": p} for p in f.problems(body[f.name])]
        if problems:
            summary = "; ".join(f"{p['field']}: {p['problem']}" for p in problems)
            raise Unprocessable("invalid_request", f"{self.name}: {summary}", details=problems)
        return {f.name: body.get(f.name) for f in self.fields}

    def schema(self) -> dict[str, Any]:
        return {"type": "object", "description": self.description, "additionalProperties": False,
                "required": [f.name for f in self.fields if f.required],
                "properties": {f.name: f.schema() for f in self.fields}}


AUTHENTICITY_CHECK = Model("AuthenticityCheckRequest", "A My Number handed in by an applicant, to be checked.", (
    Field("person_id", "string", "the agency's person id (個人管理番号)", max_length=64),
    Field("my_number", "string", "the My Number as handed in (12 digits expected; other text is rejected as format)",
          max_length=32),
))
PROVISION = Model("ProvisionRequest", "An information-provision request from a requesting agency.", (
    Field("requester", "string", "requester code, e.g. mhlw, municipal_mayors (see datasets/data/requesters.tsv)",
          max_length=64),
    Field("office_work_row", "integer", "row of the ministerial ordinance's Article 2 table for the office work",
          minimum=1, maximum=100000),
    Field("info_kinds", "array", "information kinds: E entry/exit, C residence card, S special permanent certificate",
          enum=("E", "C", "S"), min_items=1, max_items=3),
    Field("subject", "string", "the person's opaque identifier for information exchange (never a My Number)",
          max_length=128, pattern=r"[A-Za-z0-9_\-]{1,128}"),
    Field("procedure", "string", "procedure name (手続名) for the provision record; default: the office work",
          required=False, max_length=200),
))
RELEASE = Model("HoldRelease", "An operator confirms a held answer.", (
    Field("note", "string", "why it may be sent", required=False, max_length=500),
))
REFUSE = Model("HoldRefusal", "An operator refuses a held answer.", (
    Field("reason", "string", "why it must not be sent", max_length=500),
))
RETRY = Model("RetryRequest", "Retry Juki-net for provisional registrations.", (
    Field("limit", "integer", "at most this many registrations (default 100)", required=False, minimum=1,
          maximum=1000),
    Field("force", "boolean", "retry even those not yet due", required=False),
))
MODELS = (AUTHENTICITY_CHECK, PROVISION, RELEASE, REFUSE, RETRY)
