"""Keyed hash chains for the audit log and the provision records, and anchors outside the store.

A plain hash chain kept in the same file proves nothing against someone who can write the
file: they edit, delete and recompute. So each entry carries an HMAC-SHA256, under a key
kept in a file *outside* the database (0600; best on another volume, owned by another
account), over the previous entry's MAC and the entry's own fields: without the key no
entry can be forged, removed from the middle or re-chained. What the key cannot stop is
cutting the newest entries and moving the head back, or emptying everything: the store alone
cannot tell "never written" from "deleted". Hence the anchors: the head of each chain
(sequence and MAC) is appended to a file outside the database, regularly by the service and
on demand (``jukimatch audit anchor``); a log shorter than, or different from, any anchored
head fails verification. A leaked key still cannot rewrite anything before the last anchor.

Stores from before the key hold SHA-256 chained audit entries and unchained provision
records. They are not keyed silently (that would also bless a tampered log): the service
refuses them until ``jukimatch audit migrate`` has verified the old chain and *sealed* it —
the first keyed entry links to the last legacy hash, and every existing provision record is
snapshotted into the provision chain — so the legacy part is covered by the key from then on.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import sqlite3
import time
from collections.abc import Set
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from jukimatch.engine.io import InputError

from .schema import GENESIS_HASH
from .canon import dumps, now_iso

KEY_FILE_ENV = "JUKIMATCH_AUDIT_KEY_FILE"
KEY_SUFFIX = ".audit-key"
SEAL_OPERATION = "audit_chain_keyed"


class AuditKeyError(InputError):
    """The audit key is missing, wrong, or the store must be migrated first (exit 2, one line)."""


@dataclass(frozen=True)
class Chain:
    """Where one chain lives: its table, its head row and the fields each MAC covers."""

    name: str
    table: str
    head: str
    fields: tuple[str, ...]


AUDIT = Chain("audit", "audit_log", "audit_head",
              ("seq", "at", "staff_id", "role", "operation", "person_id", "my_number", "detail"))
PROVISION = Chain("provision", "provision_chain", "provision_head", ("seq", "at", "provision_id", "event", "record"))
CHAINS = (AUDIT, PROVISION)


def default_key_file(db: str | Path) -> Path:
    """``<store>.audit-key`` beside the store: the default when neither flag nor env names one."""
    db = Path(db)
    return db.with_name(db.name + KEY_SUFFIX)


def key_file_for(db: str | Path, key_file: str | Path | None = None) -> Path:
    """The key file to use: the one given, else ``$JUKIMATCH_AUDIT_KEY_FILE``, else the default."""
    return Path(key_file or os.environ.get(KEY_FILE_ENV) or default_key_file(db))


def load_key(path: str | Path) -> bytes:
    """The 32-byte key in ``path`` (mode checked: group/world-readable warns, world-writable refused)."""
    from jukimatch.engine.files.crypt import load_key as load

    return load(path)


def key_id(key: bytes) -> str:
    from jukimatch.engine.files.crypt import key_id as kid

    return kid(key).hex()


def mac(key: bytes | None, prev: str, values: Iterable[Any]) -> str:
    """HMAC-SHA256 of the previous MAC and an entry's fields; ``key=None``: a legacy SHA-256."""
    body = dumps([prev, *values]).encode("utf-8")
    if key is None:
        return hashlib.sha256(body).hexdigest()
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def append(conn: sqlite3.Connection, chain: Chain, values: dict[str, Any]) -> int:
    """Append one entry (``values``: the chain's fields but ``seq``) inside the caller's write transaction."""
    key = getattr(conn, "audit_key", None)
    if key is None:
        raise AuditKeyError("this connection has no audit key: open the store through Store")
    seq, prev = conn.execute(f"SELECT seq, hash FROM {chain.head} WHERE id = 1").fetchone()
    seq += 1
    row = {"seq": seq, **values}
    h = mac(key, prev, (row[f] for f in chain.fields))
    cols = ", ".join(chain.fields)
    conn.execute(f"INSERT INTO {chain.table} ({cols}, prev_hash, hash) VALUES ({', '.join('?' * len(chain.fields))},"
                 " ?, ?)", (*(row[f] for f in chain.fields), prev, h))
    conn.execute(f"UPDATE {chain.head} SET seq = ?, hash = ? WHERE id = 1", (seq, h))
    setattr(conn, "chain_appends", getattr(conn, "chain_appends", 0) + 1)  # a KeyedConnection counts them
    return int(seq)


def _keyed(conn: sqlite3.Connection) -> dict[str, tuple[str, int]]:
    return {r[0]: (r[1], r[2]) for r in conn.execute("SELECT chain, key_id, keyed_from FROM audit_chain")}


def bind(conn: sqlite3.Connection, key: bytes | None, key_path: Path) -> bytes:
    """Check the key against the store (or key a new store); returns the key to use.

    A new store is keyed on first open (the key file created 0600 if missing). A keyed
    store needs its own key. A store with unkeyed entries must be migrated explicitly.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        keyed = _keyed(conn)
        if keyed:
            if key is None:
                raise AuditKeyError(f"{key_path}: no such audit key file; this store's audit log is keyed "
                                    f"(key id {keyed['audit'][0]}): give --audit-key-file")
            bad = [c for c, (kid, _) in keyed.items() if kid != key_id(key)]
            if bad:
                raise AuditKeyError(f"{key_path}: not this store's audit key (the store's key id is "
                                    f"{keyed[bad[0]][0]}, this file's {key_id(key)})")
        else:
            legacy = conn.execute("SELECT (SELECT count(*) FROM audit_log) + (SELECT count(*) FROM provision_records)"
                                  ).fetchone()[0]
            if legacy:
                raise AuditKeyError("this store's audit log and provision records predate the keyed chain: run "
                                    "`jukimatch audit migrate --db STORE --audit-key-file FILE` once")
            if key is None:
                from jukimatch.engine.files.crypt import write_key_file

                write_key_file(key_path)
                key = load_key(key_path)
            now = now_iso()
            conn.executemany("INSERT INTO audit_chain (chain, key_id, keyed_from, installed_at) VALUES (?, ?, 1, ?)",
                             [(c.name, key_id(key), now) for c in CHAINS])
        conn.execute("COMMIT")
        return key
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def seal_legacy(conn: sqlite3.Connection, key: bytes) -> dict[str, Any]:
    """Key a store written before the keyed chain; runs inside the caller's write transaction.

    Refuses when the old SHA-256 chain does not verify (sealing would bless a tampered log).
    """
    if _keyed(conn):
        raise AuditKeyError("this store's audit log is keyed already")
    v = walk(conn, AUDIT, None, keyed_from=10**18)
    if not v.ok:
        raise AuditKeyError(f"the legacy audit chain does not verify ({v.problem}); not sealing it")
    now = now_iso()
    conn.execute("INSERT INTO audit_chain (chain, key_id, keyed_from, installed_at) VALUES ('audit', ?, ?, ?)",
                 (key_id(key), v.head_seq + 1, now))
    conn.execute("INSERT INTO audit_chain (chain, key_id, keyed_from, installed_at) VALUES ('provision', ?, 1, ?)",
                 (key_id(key), now))
    setattr(conn, "audit_key", key)  # a KeyedConnection keeps it
    append(conn, AUDIT, {"at": now, "staff_id": "system:migrate", "role": "auditor", "operation": SEAL_OPERATION,
                         "person_id": None, "my_number": None,
                         "detail": dumps({"legacy_entries": v.entries, "legacy_head": v.head_hash})})
    ids = [r[0] for r in conn.execute("SELECT id FROM provision_records ORDER BY id")]
    for pid in ids:
        record_provision(conn, pid, "snapshot")
    return {"legacy_entries": v.entries, "provision_records": len(ids)}


def provision_snapshot(conn: sqlite3.Connection, provision_id: int) -> str:
    """The record's whole row as canonical JSON: what its chain entry covers."""
    cur = conn.execute("SELECT * FROM provision_records WHERE id = ?", (provision_id,))
    return dumps(dict(zip([d[0] for d in cur.description], cur.fetchone())))


def record_provision(conn: sqlite3.Connection, provision_id: int, event: str) -> int:
    """Chain the provision record as it now stands (after ``event``: created, decided, snapshot)."""
    return append(conn, PROVISION, {"at": now_iso(), "provision_id": provision_id, "event": event,
                                    "record": provision_snapshot(conn, provision_id)})


@dataclass
class Verification:
    """Result of checking one chain (or several, merged): ``ok`` or the first problem found."""

    ok: bool
    entries: int
    head_seq: int
    head_hash: str
    first_broken: int | None = None
    problem: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "entries": self.entries, "head_seq": self.head_seq, "head_hash": self.head_hash,
                "first_broken": self.first_broken, "problem": self.problem, **self.details}


def walk(conn: sqlite3.Connection, chain: Chain, key: bytes | None, *, keyed_from: int,
         want: Set[int] = frozenset()) -> Verification:
    """Walk one chain in sequence order; stop at the first entry that does not hold.

    Entries before ``keyed_from`` are checked as legacy SHA-256 links, the rest by MAC.
    The hashes of the sequence numbers in ``want`` are returned in ``details['at']``.
    """
    head = conn.execute(f"SELECT seq, hash FROM {chain.head} WHERE id = 1").fetchone()
    head_seq, head_hash = (head[0], head[1]) if head else (-1, "")
    prev, expected, n, seen = GENESIS_HASH, 1, 0, {}

    def broken(at: int, problem: str) -> Verification:
        return Verification(False, n, head_seq, head_hash, at, f"{chain.name} chain: {problem}")

    cur = conn.execute(f"SELECT {', '.join(chain.fields)}, prev_hash, hash FROM {chain.table} ORDER BY seq")
    for row in cur:
        row = tuple(row)
        values, row_prev, row_hash = row[:-2], row[-2], row[-1]
        seq = values[0]
        n += 1
        if seq != expected:
            return broken(expected, f"entry {expected} is missing (next present entry is {seq})")
        if row_prev != prev:
            return broken(seq, f"entry {seq}: link to the previous entry does not match")
        if mac(key if seq >= keyed_from else None, row_prev, values) != row_hash:
            return broken(seq, f"entry {seq}: content does not match its MAC (edited, or chained without the key)")
        if seq in want:
            seen[seq] = row_hash
        prev, expected = row_hash, seq + 1
    last = expected - 1
    if head is None:
        return broken(last + 1, "head is missing")
    if head_seq > last:
        return broken(last + 1, f"entries {last + 1}..{head_seq} are missing (deleted from the end)")
    if head_seq != last or head_hash != prev:
        return broken(min(head_seq + 1, last), "head does not match the last entry")
    return Verification(True, n, head_seq, head_hash, details={"at": seen})


def _provision_rows_match(conn: sqlite3.Connection) -> str | None:
    """Each provision record must equal its latest chained snapshot, and each must have one."""
    latest = {r[0]: r[1] for r in conn.execute(
        "SELECT provision_id, record FROM provision_chain c WHERE seq = "
        "(SELECT max(seq) FROM provision_chain d WHERE d.provision_id = c.provision_id)")}
    ids = [r[0] for r in conn.execute("SELECT id FROM provision_records ORDER BY id")]
    for pid in ids:
        if pid not in latest:
            return f"provision record {pid} is not in the chain (inserted behind the service's back)"
        if provision_snapshot(conn, pid) != latest.pop(pid):
            return f"provision record {pid} differs from its chained state (edited)"
    if latest:
        return f"provision record {min(latest)} is chained but missing (deleted)"
    return None


def read_anchors(path: str | Path) -> list[dict[str, Any]]:
    """The anchored heads in ``path``; a malformed line is an error (the file was tampered with)."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(f"{path}: cannot read anchor file ({exc.strerror})") from None
    out = []
    for i, line in enumerate(lines, 1):
        try:
            a = json.loads(line)
            if a["chain"] not in {c.name for c in CHAINS} or not isinstance(a["seq"], int):
                raise ValueError
            out.append(a)
        except (ValueError, KeyError, TypeError):
            raise InputError(f"{path}: line {i}: not an anchor line") from None
    return out


def verify(conn: sqlite3.Connection, key: bytes | None, anchors: list[dict[str, Any]] | None = None) -> Verification:
    """Both chains, the provision records against their snapshots, and every anchored head.

    Everything is read in one transaction: an entry committed meanwhile cannot make a sound
    log look broken. ``key=None`` checks an unkeyed legacy store only.
    """
    own_txn = not conn.in_transaction
    if own_txn:
        conn.execute("BEGIN")
    try:
        return _verify(conn, key, anchors or [])
    finally:
        if own_txn:
            conn.execute("COMMIT")


def _verify(conn: sqlite3.Connection, key: bytes | None, anchors: list[dict[str, Any]]) -> Verification:
    keyed = _keyed(conn)
    if not keyed:
        v = walk(conn, AUDIT, None, keyed_from=10**18)
        if v.ok and (key is not None or anchors):  # every store is keyed when made: this one was reset
            return Verification(False, v.entries, v.head_seq, v.head_hash, 1,
                                "audit chain: the log is not keyed (a keyed store was reset, or never migrated)")
        v.details = {"keyed": False}
        return v
    if key is None:
        raise AuditKeyError("this store's audit log is keyed: give its --audit-key-file")
    if any(kid != key_id(key) for kid, _ in keyed.values()):
        raise AuditKeyError(f"not this store's audit key (store key id {keyed['audit'][0]})")
    results: dict[str, Verification] = {}
    for chain in CHAINS:
        mine = [a for a in anchors if a["chain"] == chain.name]
        kid, keyed_from = keyed.get(chain.name, (None, 1))
        v = walk(conn, chain, key, keyed_from=keyed_from, want={a["seq"] for a in mine})
        if v.ok and chain is AUDIT and keyed_from > 1:
            seal = conn.execute("SELECT operation FROM audit_log WHERE seq = ?", (keyed_from,)).fetchone()
            if seal is None or seal[0] != SEAL_OPERATION:
                v = Verification(False, v.entries, v.head_seq, v.head_hash, keyed_from,
                                 f"audit chain: entry {keyed_from} should seal the legacy entries")
        if v.ok:
            for a in mine:
                if a.get("key_id") != kid:
                    v = Verification(False, v.entries, v.head_seq, v.head_hash, a["seq"],
                                     f"{chain.name} chain: an anchor was made under another key")
                elif a["seq"] > v.head_seq:
                    v = Verification(False, v.entries, v.head_seq, v.head_hash, v.head_seq + 1,
                                     f"{chain.name} chain: the log ends at {v.head_seq}, shorter than the head "
                                     f"{a['seq']} anchored at {a.get('at')} (entries deleted)")
                elif a["seq"] > 0 and v.details["at"].get(a["seq"]) != a["hash"]:
                    v = Verification(False, v.entries, v.head_seq, v.head_hash, a["seq"],
                                     f"{chain.name} chain: entry {a['seq']} differs from the head anchored at "
                                     f"{a.get('at')} (rewritten)")
                if not v.ok:
                    break
        if v.ok and chain is PROVISION:
            problem = _provision_rows_match(conn)
            if problem:
                v = Verification(False, v.entries, v.head_seq, v.head_hash, None, f"provision chain: {problem}")
        results[chain.name] = v
    au, pr = results["audit"], results["provision"]
    first_bad = au if not au.ok else pr
    return Verification(au.ok and pr.ok, au.entries, au.head_seq, au.head_hash, first_bad.first_broken,
                        first_bad.problem, details={"keyed": True, "provision_entries": pr.entries,
                                                     "provision_head_seq": pr.head_seq, "anchors_checked": len(anchors)})


def heads(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """The head of each keyed chain, read in one transaction, as anchor lines."""
    own_txn = not conn.in_transaction
    if own_txn:
        conn.execute("BEGIN")
    try:
        keyed = _keyed(conn)
        if not keyed:
            raise AuditKeyError("this store's audit log is not keyed: nothing to anchor (run `jukimatch audit "
                                "migrate`)")
        at = now_iso()
        out = []
        for c in CHAINS:
            seq, h = conn.execute(f"SELECT seq, hash FROM {c.head} WHERE id = 1").fetchone()
            out.append({"chain": c.name, "seq": seq, "hash": h, "key_id": keyed[c.name][0], "at": at})
        return out
    finally:
        if own_txn:
            conn.execute("COMMIT")


def write_anchor(conn: sqlite3.Connection, path: str | Path) -> list[dict[str, Any]]:
    """Append the current heads to the anchor file ``path`` (created 0600; one write, fsynced)."""
    lines = heads(conn)
    data = "".join(json.dumps(a, sort_keys=True) + "\n" for a in lines).encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    return lines


class Anchorer:
    """Anchors a store's heads every ``every`` appended entries or ``interval_s`` seconds."""

    def __init__(self, path: str | Path, *, every: int = 100, interval_s: float = 60.0) -> None:
        self.path = Path(path)
        self.every = every
        self.interval_s = interval_s
        self.pending = 0
        self.last = time.monotonic()

    def note(self, conn: sqlite3.Connection, appended: int) -> None:
        """After a commit that appended ``appended`` entries: anchor if due."""
        self.pending += appended
        if self.pending and (self.pending >= self.every or time.monotonic() - self.last >= self.interval_s):
            self.anchor(conn)

    def anchor(self, conn: sqlite3.Connection) -> None:
        write_anchor(conn, self.path)
        self.pending, self.last = 0, time.monotonic()
