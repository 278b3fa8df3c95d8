"""Users, roles and bearer tokens.

Four roles, after the assessment's separation of duties: an information-provision
``gateway`` bound to one requester (it may ask only in that requester's name), ``staff`` who
check numbers handed in and see them in clear, ``operator`` who release holds and retry
Juki-net but see numbers masked, ``auditor`` who read the audit log and provision records.
Only a SHA-256 of each token is stored: a copy of the store does not hand out access.
"""
from __future__ import annotations

import hashlib
import secrets
import sqlite3
from dataclasses import dataclass

from .store import Store, now_iso

GATEWAY, STAFF, OPERATOR, AUDITOR = "gateway", "staff", "operator", "auditor"
ROLES = (GATEWAY, STAFF, OPERATOR, AUDITOR)


@dataclass(frozen=True)
class Principal:
    """Who is calling: the user id goes into every audit entry and provision record."""

    user_id: str
    role: str
    requester_code: str | None = None

    @property
    def sees_numbers_in_clear(self) -> bool:
        """Only staff see My Numbers in clear; everyone else sees the last 4 digits."""
        return self.role == STAFF


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def add_user(store: Store, user_id: str, role: str, *, requester_code: str | None = None,
             display_name: str | None = None) -> str:
    """Create (or reuse) a user and issue a new token for it; returns the token in clear.

    The token is shown once: the store keeps only its hash.
    """
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    if (role == GATEWAY) != (requester_code is not None):
        raise ValueError("a gateway user is bound to exactly one requester; other roles to none")
    token = secrets.token_urlsafe(32)
    now = now_iso()
    with store.write() as conn:
        if requester_code is not None and not conn.execute(
                "SELECT 1 FROM requesters WHERE requester_code = ?", (requester_code,)).fetchone():
            raise ValueError(f"unknown requester {requester_code!r}")
        row = conn.execute("SELECT role, requester_code FROM users WHERE user_id = ?", (user_id,)).fetchone()
        if row is None:
            conn.execute("INSERT INTO users (user_id, role, requester_code, display_name, created_at)"
                         " VALUES (?, ?, ?, ?, ?)", (user_id, role, requester_code, display_name, now))
        elif (row["role"], row["requester_code"]) != (role, requester_code):
            raise ValueError(f"user {user_id!r} exists with another role or requester")
        conn.execute("INSERT INTO tokens (token_hash, user_id, created_at) VALUES (?, ?, ?)",
                     (hash_token(token), user_id, now))
    return token


def revoke_token(store: Store, token: str) -> bool:
    """Revoke a token; True if it existed and was live."""
    with store.write() as conn:
        cur = conn.execute("UPDATE tokens SET revoked_at = ? WHERE token_hash = ? AND revoked_at IS NULL",
                           (now_iso(), hash_token(token)))
        return cur.rowcount == 1


def authenticate(conn: sqlite3.Connection, authorization: str | None) -> Principal | None:
    """The principal behind an ``Authorization: Bearer ...`` header, or None."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 256:
        return None
    row = conn.execute(
        "SELECT u.user_id, u.role, u.requester_code FROM tokens t JOIN users u USING (user_id)"
        " WHERE t.token_hash = ? AND t.revoked_at IS NULL", (hash_token(token),)).fetchone()
    return None if row is None else Principal(row[0], row[1], row[2])
