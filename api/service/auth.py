"""Users, roles and bearer tokens.

Six roles, after the assessment's separation of duties: an information-provision
``gateway`` bound to one requester (it may ask only in that requester's name), ``staff`` who
check numbers handed in and see them in clear, ``operator`` who release holds and retry
Juki-net but see numbers masked, ``auditor`` who read the audit log and provision records;
and for the review workbench, ``clerk`` who work the review queue and propose registrations,
``supervisor`` who approve others' proposals (four eyes). Tokens expire (default 90 days) and can be revoked or rotated.
Only a SHA-256 of each token is stored: a copy of the store does not hand out access.
"""
from __future__ import annotations

import hashlib
import secrets
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .canon import now_iso

if TYPE_CHECKING:  # the store (sqlite_utils) is imported when a function here runs, not when
    from .store import Store  # the CLI reads ROLES and TOKEN_DAYS to register its commands


GATEWAY, STAFF, OPERATOR, AUDITOR = "gateway", "staff", "operator", "auditor"
CLERK, SUPERVISOR = "clerk", "supervisor"
ROLES = (GATEWAY, STAFF, OPERATOR, AUDITOR, CLERK, SUPERVISOR)
TOKEN_DAYS = 90.0


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
             display_name: str | None = None, expires_days: float | None = TOKEN_DAYS) -> str:
    """Create (or reuse) a user and issue a new token for it; returns the token in clear.

    The token is shown once: the store keeps only its hash. It expires after
    ``expires_days`` (None: never, for service accounts set up by hand).
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
        _issue(conn, user_id, token, expires_days)
    return token


def _issue(conn: sqlite3.Connection, user_id: str, token: str, expires_days: float | None) -> None:
    if expires_days is not None and expires_days <= 0:
        raise ValueError(f"expiry must be a positive number of days, got {expires_days}")
    expires = now_iso(expires_days * 86400) if expires_days is not None else None
    conn.execute("INSERT INTO tokens (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
                 (hash_token(token), user_id, now_iso(), expires))


def list_users(store: Store) -> list[dict[str, Any]]:
    """Every user with its role and its live tokens' count and nearest expiry (never a token)."""
    rows = store.conn.execute(
        "SELECT u.user_id, u.role, u.requester_code, u.created_at,"
        " count(t.token_hash) AS live_tokens, min(t.expires_at) AS expires_at"
        " FROM users u LEFT JOIN tokens t ON t.user_id = u.user_id AND t.revoked_at IS NULL"
        " AND (t.expires_at IS NULL OR t.expires_at > ?) GROUP BY u.user_id ORDER BY u.user_id", (now_iso(),))
    return [dict(r) for r in rows]


def revoke_user(store: Store, user_id: str) -> int:
    """Revoke every live token of a user (and end its review sessions); returns how many."""
    with store.write() as conn:
        if not conn.execute("SELECT 1 FROM users WHERE user_id = ?", (user_id,)).fetchone():
            raise ValueError(f"no user {user_id!r}")
        cur = conn.execute("UPDATE tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
                           (now_iso(), user_id))
        conn.execute("DELETE FROM review_sessions WHERE user_id = ?", (user_id,))
        return cur.rowcount


def rotate_user(store: Store, user_id: str, *, expires_days: float | None = TOKEN_DAYS) -> str:
    """Revoke a user's tokens and issue a new one, in one transaction; returns it in clear."""
    token = secrets.token_urlsafe(32)
    with store.write() as conn:
        if not conn.execute("SELECT 1 FROM users WHERE user_id = ?", (user_id,)).fetchone():
            raise ValueError(f"no user {user_id!r}")
        conn.execute("UPDATE tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
                     (now_iso(), user_id))
        conn.execute("DELETE FROM review_sessions WHERE user_id = ?", (user_id,))
        _issue(conn, user_id, token, expires_days)
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
    if scheme.lower() != "bearer":
        return None
    return principal_of_token(conn, token)


def principal_of_token(conn: sqlite3.Connection, token: str) -> Principal | None:
    """The principal of a live (not revoked, not expired) token, or None."""
    token = token.strip()
    if not token or len(token) > 256:
        return None
    row = conn.execute(
        "SELECT u.user_id, u.role, u.requester_code FROM tokens t JOIN users u USING (user_id)"
        " WHERE t.token_hash = ? AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > ?)",
        (hash_token(token), now_iso())).fetchone()
    return None if row is None else Principal(row[0], row[1], row[2])
