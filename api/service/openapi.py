"""The OpenAPI 3.1 document, built from the same route table and request models the app serves.

Nothing here is written twice: each route's method, path, roles, summary and request model
come from :data:`jukimatch.api.service.routes.ROUTES`, so an endpoint cannot exist without
being documented.
"""
from __future__ import annotations

import re
from typing import Any, Sequence

from .models import MODELS

_ERROR = {"type": "object", "required": ["error", "message"], "properties": {
    "error": {"type": "string", "description": "machine-readable code"},
    "message": {"type": "string", "description": "what was wrong (never echoes values)"},
    "details": {"description": "per-field problems or the record written"}}}
_CHECK = {"type": "object", "properties": {
    "check_id": {"type": "integer"}, "person_id": {"type": "string"},
    "result": {"type": "string", "enum": ["authentic", "confirmed", "rejected", "review", "provisional"]},
    "my_number": {"type": "string", "description": "masked: last 4 digits"},
    "reasons": {"type": "array", "items": {"type": "string"}},
    "match_probability": {"type": ["number", "null"]},
    "levels": {"type": ["object", "null"], "additionalProperties": {"type": "integer"}},
    "registration_id": {"type": ["integer", "null"]}}}
_PROVISION = {"type": "object", "properties": {
    "provision_id": {"type": "integer"},
    "status": {"type": "string", "enum": ["provided", "held", "refused", "forbidden", "not_found", "invalid",
                                          "error"]},
    "requester": {"type": ["string", "null"], "description": "the requester the gateway's token is bound to"},
    "claimed_requester": {"type": ["string", "null"], "description": "the requester the request named"},
    "office_work_row": {"type": ["integer", "null"]},
    "office_work": {"type": ["string", "null"]}, "procedure": {"type": ["string", "null"]},
    "info_kinds": {"type": "array", "items": {"type": "string"}},
    "information_name": {"type": ["string", "null"]}, "provider": {"type": "string"},
    "time_requested": {"type": "string"}, "time_provided": {"type": ["string", "null"]},
    "reason": {"type": ["string", "null"]}, "hold_id": {"type": ["integer", "null"]},
    "copies": {"type": "object", "description": "copy data per requested kind (null: none held)",
               "additionalProperties": {"type": ["object", "null"]}}}}
_OBJECT = {"type": "object"}
RESPONSE_SCHEMAS = {"Error": _ERROR, "AuthenticityCheck": _CHECK, "Provision": _PROVISION, "Object": _OBJECT}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def build(routes: Sequence[Any], *, title: str = "jukimatch inquiry service", version: str = "0.1.0") -> dict[str, Any]:
    """The OpenAPI document for ``routes`` (objects with method, path, roles, summary, model, ok)."""
    paths: dict[str, dict[str, Any]] = {}
    for r in routes:
        path = re.sub(r"\{(\w+)(:\w+)?\}", r"{\1}", r.path)
        op: dict[str, Any] = {"summary": r.summary, "operationId": r.name, "tags": [r.path.split("/")[2] if
                                                                          r.path.startswith("/v1/") else "meta"]}
        if r.roles:
            op["security"] = [{"bearer": []}]
            op["description"] = f"Roles: {', '.join(r.roles)}."
        params = [{"name": name, "in": "path", "required": True,
                   "schema": {"type": "integer" if conv == ":int" else "string"}}
                  for name, conv in re.findall(r"\{(\w+)(:\w+)?\}", r.path)]
        params += [{"name": q, "in": "query", "required": False, "schema": t if isinstance(t, dict) else {"type": t}}
                   for q, t in r.query]  # a type name, or a whole schema with its bounds
        if params:
            op["parameters"] = params
        if r.model is not None:
            op["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref(r.model.name)}}}
        responses = {str(code): {"description": desc, "content": {"application/json": {"schema": _ref(schema)}}}
                     for code, (desc, schema) in r.ok.items()}
        errors = {"400": "malformed JSON", "401": "missing or unknown bearer token", "403": "role or permission refused",
                  "404": "no such resource", "409": "already decided", "413": "body too large",
                  "415": "body is not application/json",
                  "422": "body or query fails validation (unknown fields or parameters, wrong types)"}
        for code, desc in errors.items():
            if r.model is None and code in ("400", "413", "415"):
                continue
            if not r.roles and code in ("401", "403"):
                continue
            if code == "409" and "/holds/" not in r.path:
                continue
            responses.setdefault(code, {"description": desc, "content": {"application/json": {"schema": _ref("Error")}}})
        op["responses"] = responses
        paths.setdefault(path, {})[r.method.lower()] = op
    schemas: dict[str, Any] = {m.name: m.schema() for m in MODELS}
    schemas.update({r.model.name: r.model.schema() for r in routes if r.model is not None})
    schemas.update(RESPONSE_SCHEMAS)
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version, "description": (
            "Authenticity checks of My Numbers handed in and information provision to the 19 requesters, "
            "with the permission list, no-auto-response holds, provision records and a hash-chained audit log. "
            "No endpoint downloads My Numbers in bulk; numbers in responses are masked except person reads by staff.")},
        "paths": paths,
        "components": {"schemas": schemas,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }
