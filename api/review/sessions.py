"""Page sessions of the workbench: a token logs in once, a cookie carries the session after.

Only a hash of the session id is stored (like tokens), beside a CSRF token that every form
must echo. A session idle longer than the app's ``review_idle_s`` is deleted on its next use
and the person is sent back to log in. Revoking or rotating a user's tokens ends its sessions.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from jukimatch.api.service.auth import CLERK, SUPERVISOR, Principal, principal_of_token
from jukimatch.api.service.canon import now_iso
from jukimatch.api.service.store import Store

PAGE_ROLES = (CLERK, SUPERVISOR)
EXPIRED = "expired"


@dataclass(frozen=True)
class Session:
    principal: Principal
    csrf: str

    def csrf_ok(self, sent: object) -> bool:
        return isinstance(sent, str) and hmac.compare_digest(sent.encode(), self.csrf.encode())


def _hash(sid: str) -> str:
    return hashlib.sha256(sid.encode("utf-8")).hexdigest()


def login(store: Store, token: str) -> tuple[str, Session] | None:
    """A new session for a live clerk or supervisor token: (session id for the cookie, session)."""
    me = principal_of_token(store.conn, token or "")
    if me is None or me.role not in PAGE_ROLES:
        return None
    sid, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    with store.write() as conn:
        conn.execute("INSERT INTO review_sessions (session_hash, user_id, csrf, created_at, last_seen)"
                     " VALUES (?, ?, ?, ?, ?)", (_hash(sid), me.user_id, csrf, now_iso(), time.time()))
    return sid, Session(me, csrf)


def resume(store: Store, sid: str | None, idle_s: float) -> Session | str | None:
    """The live session behind a cookie (its idle clock restarted), ``EXPIRED``, or None."""
    if not sid or len(sid) > 256:
        return None
    h = _hash(sid)
    row = store.conn.execute(
        "SELECT s.user_id, s.csrf, s.last_seen, u.role, u.requester_code FROM review_sessions s"
        " JOIN users u ON u.user_id = s.user_id WHERE s.session_hash = ?", (h,)).fetchone()
    if row is None:
        return None
    now = time.time()
    with store.write() as conn:
        if now - row["last_seen"] > idle_s:
            conn.execute("DELETE FROM review_sessions WHERE session_hash = ?", (h,))
            return EXPIRED
        conn.execute("UPDATE review_sessions SET last_seen = ? WHERE session_hash = ?", (now, h))
    return Session(Principal(row["user_id"], row["role"], row["requester_code"]), row["csrf"])


def logout(store: Store, sid: str | None) -> None:
    """End the session behind a cookie (nothing to do without one)."""
    if sid:
        with store.write() as conn:
            conn.execute("DELETE FROM review_sessions WHERE session_hash = ?", (_hash(sid),))
