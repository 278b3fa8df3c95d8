"""Errors that carry their HTTP meaning, so a client mistake is never answered with a 500.

Messages name fields and problems, never values: a value might be a My Number.
"""
from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """A refusal with a status, a short machine-readable code and a message for people."""

    status = 400

    def __init__(self, code: str, message: str, *, details: object = None, recorded: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details
        self.recorded = recorded  # a provision record already says what happened

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.details is not None:
            out["details"] = self.details
        return out


class BadRequest(ServiceError):
    status = 400


class Unauthorized(ServiceError):
    status = 401


class Forbidden(ServiceError):
    status = 403


class NotFound(ServiceError):
    status = 404


class Conflict(ServiceError):
    status = 409


class PayloadTooLarge(ServiceError):
    status = 413


class UnsupportedMediaType(ServiceError):
    status = 415


class Unprocessable(ServiceError):
    status = 422
