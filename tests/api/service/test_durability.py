"""Durability of the authenticity check: what a crash leaves behind, the audit a check writes,
and the background WAL checkpointer that keeps checkpoints out of the request path."""
from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field

import pytest
from tests.api.service.support import build_world

from jukimatch.api.service import Store, check_authenticity, register_bulk, retry_provisional, verify
from jukimatch.api.service.canon import now_iso
from jukimatch.api.service.checkpointer import FALLBACK_AUTOCHECKPOINT
from jukimatch.api.service.standin import OnlineJukinet

# The child confirms one number, then dies (os._exit: no cleanup, no close) while Juki-net is
# being asked about a second one. The engine's comparison is pinned so the child stays light.
CHILD = """
import os, sys
from jukimatch.api.service import FourInfo, Store, check_authenticity
import jukimatch.engine.reconcile.single as single

class Pinned:
    decision, match_probability, match_weight = "confirmed", 0.9999, 9.0
    reasons, levels = ["pinned"], {}

single.compare_records = lambda ours, theirs, **kw: Pinned()

class DiesOn:
    def __init__(self, number):
        self.number = number
    def lookup(self, n):
        if n == self.number:
            os._exit(70)
        return FourInfo(name_alpha="X")

path, ok_pid, ok_num, crash_pid, crash_num = sys.argv[1:]
store = Store(path)
assert check_authenticity(store, ok_pid, ok_num, jukinet=DiesOn(crash_num), staff_id="s1").result == "confirmed"
check_authenticity(store, crash_pid, crash_num, jukinet=DiesOn(crash_num), staff_id="s1")
sys.exit(1)  # not reached
"""


@dataclass
class Pinned:
    decision: str = "confirmed"
    match_probability: float = 0.9999
    match_weight: float = 9.0
    reasons: list = field(default_factory=lambda: ["pinned"])
    levels: dict = field(default_factory=dict)


@pytest.fixture
def world(tmp_path):
    w = build_world(tmp_path / "store.sqlite")
    yield w
    w.store.close()


def _rows(path, sql, args=()):
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def test_crash_while_asking_jukinet_leaves_a_due_provisional_registration(world, monkeypatch):
    world.store.close()  # the child process is the only writer
    n = world.numbers
    proc = subprocess.run([sys.executable, "-c", CHILD, str(world.store.path), "P0002", n["P0002"], "P0003",
                           n["P0003"]], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 70, proc.stderr
    path = world.store.path
    # the confirmation committed before the crash survived it
    assert _rows(path, "SELECT status FROM registrations WHERE person_id = 'P0002'") == [("registered",)]
    # the number being checked when the process died is provisional, due now, its check open
    [(status, due)] = _rows(path, "SELECT status, next_attempt_at FROM registrations WHERE person_id = 'P0003'")
    assert status == "provisional" and due <= now_iso()
    assert _rows(path, "SELECT result FROM authenticity_checks WHERE person_id = 'P0003'") == [("provisional",)]
    ops = _rows(path, "SELECT operation FROM audit_log WHERE person_id = 'P0003' ORDER BY seq")
    assert ops == [("register_provisional",)]
    assert verify(path).ok
    # the retry finishes the job
    import jukimatch.engine.reconcile.single as single

    monkeypatch.setattr(single, "compare_records", lambda ours, theirs, **kw: Pinned(), raising=False)
    store = Store(path)
    try:
        outs = retry_provisional(store, jukinet=OnlineJukinet(world.register))
    finally:
        store.close()
    assert [o.result for o in outs] == ["confirmed"]
    assert _rows(path, "SELECT result FROM authenticity_checks WHERE person_id = 'P0003'") == [("confirmed",)]
    assert verify(path).ok


def test_a_new_number_check_writes_two_chained_audit_entries(world, monkeypatch):
    import jukimatch.engine.reconcile.single as single

    monkeypatch.setattr(single, "compare_records", lambda ours, theirs, **kw: Pinned(), raising=False)
    before = verify(world.store.path)
    res = check_authenticity(world.store, "P0004", world.numbers["P0004"], jukinet=OnlineJukinet(world.register),
                             staff_id="s9")
    assert res.result == "confirmed"
    rows = _rows(world.store.path, "SELECT seq, operation, staff_id, my_number, detail FROM audit_log"
                                   " WHERE seq > ? ORDER BY seq", (before.head_seq,))
    assert [(r[1], r[2], r[3]) for r in rows] == [("register_provisional", "s9", world.numbers["P0004"]),
                                                  ("registration_decision", "s9", world.numbers["P0004"])]
    assert [r[0] for r in rows] == [before.head_seq + 1, before.head_seq + 2]
    decision = json.loads(rows[1][4])
    assert decision["registration_id"] == res.registration_id and decision["result"] == "confirmed"
    after = verify(world.store.path)
    assert after.ok and after.head_seq == before.head_seq + 2


def test_store_connections_are_wal_normal_with_a_fallback_checkpoint(world):
    conn = world.store.conn
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == FALLBACK_AUTOCHECKPOINT


def test_checkpoints_run_on_a_background_thread(tmp_path):
    from tests.api.service.support import my_number

    world = build_world(tmp_path / "s.sqlite")
    world.store.close()
    store = Store(world.store.path, checkpoint_every=3)
    try:
        for i in range(2, 7):
            register_bulk(store, [(f"P000{i}", my_number(20_000_000_000 + i))])
        ckpt = store.checkpointer
        deadline = time.monotonic() + 10
        while ckpt.runs == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert ckpt.runs >= 1
        thread = ckpt._thread
        assert thread is not None and thread.is_alive() and thread.daemon
    finally:
        store.close()
    assert not thread.is_alive()
    assert verify(store.path).ok


def test_idle_commits_are_checkpointed_after_a_pause(tmp_path):
    from tests.api.service.support import my_number

    world = build_world(tmp_path / "s.sqlite")
    world.store.close()
    store = Store(world.store.path)  # every 64 commits: one commit is left to the idle timer
    store.checkpointer.idle_s = 0.05
    try:
        register_bulk(store, [("P0002", my_number(30_000_000_000))])
        deadline = time.monotonic() + 10
        while store.checkpointer.runs == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert store.checkpointer.runs >= 1
        # the WAL holds nothing that is not in the database file any more
        busy, frames, copied = sqlite3.connect(store.path).execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        assert frames == copied
    finally:
        store.close()
