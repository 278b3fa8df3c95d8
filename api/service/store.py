"""The service's SQLite store: one file, WAL, one connection per thread, explicit transactions.

Why this shape: the HTTP layer runs service calls on a thread pool (and may run several
worker processes), so each thread gets its own connection to the same file; WAL lets readers
proceed while one writer writes. Every write goes through :meth:`Store.write`, which takes
the write lock up front (``BEGIN IMMEDIATE``) so that read-then-write sequences — the audit
chain's "read the head, append, move the head" above all — are serialised across threads and
processes; within one process writers queue on a lock first. ``synchronous=NORMAL`` in WAL
mode keeps a committed transaction safe from a process crash (not from power loss of the last
commits), the usual trade for a service.
Checkpoints (copying the WAL into the database file, with fsyncs) run on a background thread
(:mod:`.checkpointer`) rather than inside whichever commit crosses SQLite's threshold.

The store holds My Numbers, so its files (``.sqlite``, ``-wal``, ``-shm``; SQLite gives the
last two the main file's mode) are created 0600 and tightened to 0600 when found looser.
Each connection carries the audit key (:mod:`.chain`), so ``audit.append(conn, ...)``
chains entries under it without a key argument; after a commit that appended entries the
heads are anchored when due (``anchor_file``).
"""
from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
import weakref
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import sqlite_utils

from . import schema

from .checkpointer import CHECKPOINT_EVERY, FALLBACK_AUTOCHECKPOINT, Checkpointer

BUSY_TIMEOUT_S = 30.0
PRIVATE = 0o600


class KeyedConnection(sqlite3.Connection):
    """A connection that knows the audit key and counts the chain entries of its transaction."""

    audit_key: bytes | None = None
    chain_appends: int = 0


def _private_files(path: Path) -> None:
    """Create the store file 0600 if new; tighten it and its WAL/SHM files if looser."""
    try:
        os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, PRIVATE))
    except FileExistsError:
        pass
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            if os.stat(p).st_mode & 0o077:
                os.chmod(p, PRIVATE)
        except FileNotFoundError:
            pass


class Store:
    """A handle on one store file, shareable between threads (not between processes)."""

    def __init__(self, path: str | Path, *, migrate: bool = True, checkpoint_every: int = CHECKPOINT_EVERY,
                 audit_key_file: str | Path | None = None, anchor_file: str | Path | None = None,
                 anchor_every: int = 100, anchor_interval_s: float = 60.0) -> None:
        """``audit_key_file``: default ``$JUKIMATCH_AUDIT_KEY_FILE``, else ``<store>.audit-key``
        (created for a new store). ``anchor_file``: where heads are anchored every
        ``anchor_every`` entries or ``anchor_interval_s`` seconds (None: only on demand)."""
        from . import chain

        self.path = Path(path)
        self.audit_key_file = chain.key_file_for(self.path, audit_key_file)
        self.audit_key = chain.load_key(self.audit_key_file) if self.audit_key_file.exists() else None
        self.anchorer = chain.Anchorer(anchor_file, every=anchor_every, interval_s=anchor_interval_s) \
            if anchor_file else None
        _private_files(self.path)
        self._checkpoint_every = checkpoint_every
        self._local = threading.local()
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._all: list[KeyedConnection] = []
        # A one-element box, so that the finalizer (which must not hold ``self``) sees a
        # checkpointer replaced by close().
        self._ckpt = [Checkpointer(self.path, every=checkpoint_every)]
        weakref.finalize(self, lambda box: box[0].close(), self._ckpt)
        if migrate:
            self.migrate()
            self.audit_key = chain.bind(self.conn, self.audit_key, self.audit_key_file)
            with self._lock:
                for c in self._all:
                    c.audit_key = self.audit_key

    def _connect(self) -> KeyedConnection:
        conn: KeyedConnection = sqlite3.connect(self.path, isolation_level=None, timeout=BUSY_TIMEOUT_S,
                               check_same_thread=False, factory=KeyedConnection)
        conn.audit_key = self.audit_key
        conn.row_factory = sqlite3.Row
        db = sqlite_utils.Database(conn)
        if db.journal_mode != "wal":
            db.enable_wal()
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute(f"PRAGMA wal_autocheckpoint = {FALLBACK_AUTOCHECKPOINT}")
        with self._lock:
            self._all.append(conn)
        return conn

    @property
    def conn(self) -> KeyedConnection:
        """This thread's connection (autocommit outside :meth:`write`)."""
        conn: KeyedConnection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        return conn

    @property
    def checkpointer(self) -> Checkpointer:
        """The background WAL checkpointer of this handle."""
        return self._ckpt[0]

    @property
    def db(self) -> sqlite_utils.Database:
        """sqlite-utils view of this thread's connection, for bulk loads and introspection."""
        return sqlite_utils.Database(self.conn)

    def migrate(self) -> list[int]:
        """Bring the schema up to date; returns the versions applied now."""
        return schema.migrate(self.conn)

    @contextmanager
    def write(self) -> Iterator[KeyedConnection]:
        """A write transaction holding the database write lock from its first statement."""
        conn = self.conn
        # Threads of this process queue on a lock rather than on SQLite's busy handler, whose
        # back-off sleeps (up to 100 ms a try) would dominate tail latency under load.
        with self._write_lock:
            self._begin_immediate(conn)
            conn.chain_appends = 0
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            self._ckpt[0].committed()
            if self.anchorer is not None and conn.chain_appends:
                self.anchorer.note(conn, conn.chain_appends)

    def anchor(self, path: str | Path | None = None) -> list[dict[str, Any]]:
        """Append the chains' heads to ``path`` (default: this store's anchor file) now."""
        from .chain import write_anchor

        target = path or (self.anchorer.path if self.anchorer else None)
        if target is None:
            raise ValueError("no anchor file configured for this store")
        with self._write_lock:
            lines = write_anchor(self.conn, target)
            if self.anchorer is not None and Path(target) == self.anchorer.path:
                self.anchorer.pending = 0
        return lines

    @staticmethod
    def _begin_immediate(conn: sqlite3.Connection) -> None:
        """Take the write lock, retrying every ~0.5 ms while another process holds it.

        SQLite's own busy handler backs off to 100 ms sleeps, which turns a few microseconds
        of cross-process contention into tail latency; this polls briefly instead, up to
        ``BUSY_TIMEOUT_S``.
        """
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        conn.execute("PRAGMA busy_timeout = 0")
        try:
            while True:
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    return
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc) and "busy" not in str(exc) or time.monotonic() > deadline:
                        raise
                time.sleep(random.uniform(0.0002, 0.0008))
        finally:
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: several SELECTs see one snapshot."""
        conn = self.conn
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

    def counts(self) -> dict[str, int]:
        """Rows per table: for tests, health checks and the demo's summary."""
        tables = ("persons", "registrations", "authenticity_checks", "copies", "requesters",
                  "permissions", "provision_records", "holds", "audit_log", "users", "tokens")
        return {t: self.conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}

    def close(self) -> None:
        """Anchor what is not anchored yet; close every connection this handle opened; stop its checkpointer."""
        if self.anchorer is not None and self.anchorer.pending:
            self.anchor()
        old, self._ckpt[0] = self._ckpt[0], Checkpointer(self.path, every=self._checkpoint_every)
        old.close()  # the handle stays usable: a later write starts a new checkpointer
        with self._lock:
            conns, self._all = self._all, []
        for c in conns:
            try:
                c.close()
            except sqlite3.ProgrammingError:
                pass
        self._local = threading.local()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
