"""WAL checkpoints on a background thread, off the request path.

Why: with SQLite's automatic checkpoint, the commit that pushes the WAL past 1000 pages
copies the WAL into the database file and fsyncs both, inside the request that happened to
commit: a 3-20 ms stall every ~50 new-number authenticity checks, most of the check's p99.
Here :class:`Store` commits only append to the WAL (no fsync with ``synchronous=NORMAL``)
and this thread runs ``PRAGMA wal_checkpoint(PASSIVE)`` on its own connection, woken every
``every`` commits, or ``idle_s`` after the last commit when there are fewer. A passive
checkpoint takes no lock that writers or readers wait on.

Durability is unchanged: a committed transaction is in the WAL either way, and SQLite
replays the WAL after a crash. The connections keep a much higher automatic checkpoint as a
fallback, so the WAL stays bounded even if this thread stalls or dies. Under back-to-back
writes with no pause the WAL cannot restart from its beginning (a commit always lands
before a checkpoint has caught up), so it grows to that fallback: then one commit every
``FALLBACK_AUTOCHECKPOINT`` pages (~450 new-number checks) pays an inline checkpoint again.
"""
from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

log = logging.getLogger("jukimatch.service")

CHECKPOINT_EVERY = 64  # commits between wake-ups (an authenticity check writes ~10 pages a commit)
CHECKPOINT_IDLE_S = 1.0  # fewer commits than that are checkpointed this long after the last one
FALLBACK_AUTOCHECKPOINT = 10_000  # pages (~40 MB): inline checkpoint only if this thread falls behind


class Checkpointer:
    """One daemon thread per :class:`Store`, started by the first commit, stopped by :meth:`close`."""

    def __init__(self, path: str | Path, *, every: int = CHECKPOINT_EVERY, idle_s: float = CHECKPOINT_IDLE_S) -> None:
        self.path = Path(path)
        self.every = every
        self.idle_s = idle_s
        self.runs = 0  # checkpoints done (for tests and health reports)
        self._pending = 0  # commits since the last checkpoint started
        self._wake = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def committed(self) -> None:
        """Count one commit; cheap on the request path (an Event is set every ``every`` commits)."""
        self._pending += 1
        if self._thread is None:
            self._start()
        if self._pending >= self.every:
            self._wake.set()

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(target=self._run, name=f"wal-checkpoint:{self.path.name}",
                                                daemon=True)
                self._thread.start()

    def _run(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            while True:
                # Sleep until woken; with commits pending, at most ``idle_s`` (no polling when idle).
                self._wake.wait(self.idle_s if self._pending else None)
                self._wake.clear()
                if self._closed:
                    return
                if not self._pending:
                    continue
                self._pending = 0
                try:
                    _busy, frames, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    self.runs += 1
                    if copied < frames:  # a reader or a newer commit held some back: try again later
                        self._pending += 1
                except sqlite3.Error as exc:  # never fatal: the fallback autocheckpoint still bounds the WAL
                    log.warning("background WAL checkpoint failed: %s", exc)
                    self._pending += 1
        finally:
            conn.close()

    def close(self, timeout_s: float = 10.0) -> None:
        """Stop the thread (a checkpoint under way finishes first)."""
        self._closed = True
        self._wake.set()
        with self._start_lock:
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout_s)
