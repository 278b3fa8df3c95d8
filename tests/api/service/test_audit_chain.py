"""The keyed chains against an insider with the store file: tampering, anchors, keys, migration."""
from __future__ import annotations

import argparse
import json
import os
import sqlite3
import stat

import pytest
from tests.api.service.support import build_world, my_number

from jukimatch.api.service import Store, audit, provide, verify
from jukimatch.api.service.chain import AuditKeyError, mac, read_anchors
from jukimatch.api.service.commands import add_audit_parser
from jukimatch.api.service.schema import GENESIS_HASH
from jukimatch.engine.io import InputError


def _cli(argv: list[str]) -> int:
    p = argparse.ArgumentParser()
    add_audit_parser(p.add_subparsers(dest="command", required=True))
    args = p.parse_args(argv)
    return args.func(args)


def _raw(path) -> sqlite3.Connection:
    """What someone with the file can do: a raw connection, the append-only triggers dropped."""
    conn = sqlite3.connect(path, isolation_level=None)
    for name in ("audit_log_no_update", "audit_log_no_delete", "provision_chain_no_update",
                 "provision_chain_no_delete", "provision_records_no_delete", "provision_records_final"):
        conn.execute(f"DROP TRIGGER IF EXISTS {name}")
    return conn


def _entries(store: Store, n: int, *, person: str = "P0002") -> None:
    with store.write() as conn:
        for i in range(n):
            audit.append(conn, staff_id="staff-7", role="staff", operation="read_number", person_id=person,
                         my_number=my_number(4_000 + i), detail={"i": i})


@pytest.fixture
def anchored(tmp_path):
    """A store with entries and provision records, anchored once via the CLI; then more entries."""
    world = build_world(tmp_path / "s.sqlite")
    _entries(world.store, 5)
    provide(world.store, "mhlw", 1, ["E"], "SUBJ0001", user_id="gw-mhlw", bound_requester="mhlw")
    anchor = tmp_path / "anchors.jsonl"
    assert _cli(["audit", "anchor", "--db", str(world.store.path), "--out", str(anchor)]) == 0
    _entries(world.store, 2)
    world.store.close()
    return world, anchor


def _verify(world, anchor) -> int:
    return _cli(["audit", "verify", "--db", str(world.store.path), "--anchor", str(anchor)])


def test_a_sound_store_verifies_against_its_anchor(anchored, capsys):
    world, anchor = anchored
    assert _verify(world, anchor) == 0
    assert "anchored heads agree" in capsys.readouterr().out
    assert {a["chain"] for a in read_anchors(anchor)} == {"audit", "provision"}
    assert stat.S_IMODE(os.stat(anchor).st_mode) == 0o600


def test_deleting_the_tail_and_moving_the_head_back_fails_against_the_anchor(anchored):
    world, anchor = anchored
    conn = _raw(world.store.path)
    first_anchored = read_anchors(anchor)[0]["seq"]
    keep = first_anchored - 2
    conn.execute("DELETE FROM audit_log WHERE seq > ?", (keep,))
    conn.execute("UPDATE audit_head SET seq = ?, hash = (SELECT hash FROM audit_log WHERE seq = ?)", (keep, keep))
    assert verify(world.store.path).ok  # inside the store the cut cannot be seen ...
    assert _verify(world, anchor) == 1  # ... the anchor outside it sees it
    assert "shorter than the head" in verify(world.store.path, anchor=anchor).problem


def test_deleting_an_entry_and_rechaining_without_the_key_fails(anchored):
    world, anchor = anchored
    conn = _raw(world.store.path)
    conn.execute("DELETE FROM audit_log WHERE seq = 3")
    rows = conn.execute("SELECT seq, at, staff_id, role, operation, person_id, my_number, detail FROM audit_log"
                        " ORDER BY seq").fetchall()
    prev = GENESIS_HASH
    for new_seq, row in enumerate(rows, 1):  # renumber and re-chain with plain SHA-256
        h = mac(None, prev, (new_seq, *row[1:]))
        conn.execute("UPDATE audit_log SET seq = ?, prev_hash = ?, hash = ? WHERE seq = ?", (new_seq, prev, h, row[0]))
        prev = h
    conn.execute("UPDATE audit_head SET seq = ?, hash = ?", (len(rows), prev))
    res = verify(world.store.path)
    assert not res.ok and res.first_broken == 1 and "without the key" in res.problem
    assert _verify(world, anchor) == 1


def test_emptying_the_log_and_resetting_the_head_fails(anchored):
    world, anchor = anchored
    conn = _raw(world.store.path)
    conn.execute("DELETE FROM audit_log")
    conn.execute("UPDATE audit_head SET seq = 0, hash = ?", (GENESIS_HASH,))
    assert _verify(world, anchor) == 1
    # going further — pretending the store was never keyed — fails too, even without the anchor
    conn.execute("DELETE FROM audit_chain")
    assert _verify(world, anchor) == 1
    assert "not keyed" in verify(world.store.path).problem


def test_provision_records_are_chained(anchored):
    world, anchor = anchored
    conn = _raw(world.store.path)
    conn.execute("UPDATE provision_records SET requester_code = 'jasso' WHERE id = 1")
    res = verify(world.store.path)
    assert not res.ok and "differs from its chained state" in res.problem
    conn.execute("UPDATE provision_records SET requester_code = 'mhlw' WHERE id = 1")
    assert verify(world.store.path).ok
    conn.execute("DELETE FROM provision_chain")
    conn.execute("DELETE FROM provision_records")
    conn.execute("UPDATE provision_head SET seq = 0, hash = ?", (GENESIS_HASH,))
    assert verify(world.store.path).ok  # an empty, consistent store ...
    res = verify(world.store.path, anchor=anchor)  # ... that the anchor remembers otherwise
    assert not res.ok and res.problem.startswith("provision chain")


def test_the_service_anchors_regularly_and_at_close(tmp_path):
    anchor = tmp_path / "a.jsonl"
    store = Store(tmp_path / "s.sqlite", anchor_file=anchor, anchor_every=3)
    _entries(store, 2)
    assert not anchor.exists()
    _entries(store, 1)
    assert [a["seq"] for a in read_anchors(anchor) if a["chain"] == "audit"] == [3]
    _entries(store, 1)
    store.close()
    assert [a["seq"] for a in read_anchors(anchor) if a["chain"] == "audit"] == [3, 4]
    assert verify(store.path, anchor=anchor).ok


def test_verify_reads_head_and_log_in_one_snapshot(tmp_path):
    """An entry committed between verify's reads must not make a sound log look broken."""
    store = Store(tmp_path / "s.sqlite")
    _entries(store, 3)
    writer = Store(store.path)
    reader = sqlite3.connect(store.path, isolation_level=None)

    class Interleaved:
        """Delegates to the reader; after its first statement another process appends."""

        in_transaction = False

        def __init__(self) -> None:
            self.calls = 0

        def execute(self, *a):
            cur = reader.execute(*a)
            self.calls += 1
            if self.calls == 3:
                _entries(writer, 2)
            return cur

    from jukimatch.api.service import chain

    res = chain.verify(Interleaved(), store.audit_key)
    assert res.ok and res.entries == 3
    writer.close()
    store.close()


def test_a_wrong_or_missing_key_is_refused(tmp_path, capsys):
    path = tmp_path / "s.sqlite"
    store = Store(path)
    _entries(store, 1)
    store.close()
    other = tmp_path / "other.key"
    assert _cli(["audit", "keygen", "--out", str(other)]) == 0
    assert stat.S_IMODE(os.stat(other).st_mode) == 0o600
    with pytest.raises(AuditKeyError, match="not this store's audit key"):
        Store(path, audit_key_file=other)
    with pytest.raises(InputError):
        _cli(["audit", "verify", "--db", str(path), "--audit-key-file", str(other)])
    os.rename(f"{path}.audit-key", tmp_path / "elsewhere.key")
    with pytest.raises(AuditKeyError, match="no such audit key file"):
        Store(path)
    assert _cli(["audit", "verify", "--db", str(path), "--audit-key-file", str(tmp_path / "elsewhere.key")]) == 0


def test_key_files_open_to_others_warn_or_are_refused(tmp_path):
    from jukimatch.engine.files.crypt import CryptError, KeyFileWarning

    key = tmp_path / "k"
    assert _cli(["audit", "keygen", "--out", str(key)]) == 0
    os.chmod(key, 0o640)
    with pytest.warns(KeyFileWarning, match="chmod 600"):
        Store(tmp_path / "s.sqlite", audit_key_file=key).close()
    os.chmod(key, 0o606)
    with pytest.raises(CryptError, match="writable by others"):
        Store(tmp_path / "s.sqlite", audit_key_file=key)


def _legacy_store(path, n: int) -> None:
    """A store as the previous release wrote it: schema 1, SHA-256 chained entries."""
    from jukimatch.api.service import schema

    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN")
    for stmt in schema.MIGRATIONS[0].statements:
        conn.execute(stmt)
    conn.executemany("INSERT INTO roles VALUES (?, ?)", schema.ROLES)
    conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
                 " applied_at TEXT NOT NULL)")
    conn.execute("INSERT INTO schema_migrations VALUES (1, 'initial store', '2026-01-01')")
    prev = GENESIS_HASH
    for seq in range(1, n + 1):
        row = (seq, f"2026-01-01T00:00:0{seq}", "staff-1", "staff", "read_number", "P1", my_number(seq), "{}")
        h = mac(None, prev, row)
        conn.execute("INSERT INTO audit_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", (*row, prev, h))
        prev = h
    conn.execute("UPDATE audit_head SET seq = ?, hash = ?", (n, prev))
    conn.execute("INSERT INTO provision_records (status, time_requested, provider) VALUES ('invalid', 'x', 'y')")
    conn.execute("COMMIT")
    conn.close()


def test_an_unkeyed_store_is_refused_until_migrated_then_sealed(tmp_path, capsys):
    path = tmp_path / "old.sqlite"
    _legacy_store(path, 4)
    with pytest.raises(AuditKeyError, match="audit migrate"):
        Store(path)
    assert _cli(["audit", "verify", "--db", str(path)]) == 0
    assert "UNKEYED" in capsys.readouterr().out
    anchor = tmp_path / "a.jsonl"
    assert _cli(["audit", "migrate", "--db", str(path), "--anchor", str(anchor)]) == 0
    store = Store(path)
    _entries(store, 1)
    store.close()
    assert verify(path, anchor=anchor).ok
    # the legacy entries are sealed: rewriting one and its SHA-256 chain breaks the first keyed link
    conn = _raw(path)
    rows = conn.execute("SELECT seq, at, staff_id, role, operation, person_id, my_number, detail FROM audit_log"
                        " WHERE seq <= 4 ORDER BY seq").fetchall()
    prev = GENESIS_HASH
    for row in rows:
        row = (*row[:2], "someone-else", *row[3:])
        h = mac(None, prev, row)
        conn.execute("UPDATE audit_log SET staff_id = ?, prev_hash = ?, hash = ? WHERE seq = ?", (row[2], prev, h,
                                                                                                  row[0]))
        prev = h
    res = verify(path)
    assert not res.ok and res.first_broken == 5


def test_a_broken_legacy_chain_is_not_sealed(tmp_path):
    path = tmp_path / "old.sqlite"
    _legacy_store(path, 3)
    _raw(path).execute("UPDATE audit_log SET staff_id = 'x' WHERE seq = 2")
    with pytest.raises(AuditKeyError, match="does not verify"):
        _cli(["audit", "migrate", "--db", str(path)])


def test_store_files_are_private(tmp_path):
    path = tmp_path / "s.sqlite"
    store = Store(path)
    _entries(store, 1)
    modes = {p.name: stat.S_IMODE(os.stat(p).st_mode) for p in tmp_path.iterdir()}
    assert modes == {"s.sqlite": 0o600, "s.sqlite-wal": 0o600, "s.sqlite-shm": 0o600, "s.sqlite.audit-key": 0o600}
    store.close()
    os.chmod(path, 0o644)
    Store(path).close()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_anchor_lines_carry_no_numbers(anchored):
    _, anchor = anchored
    for a in read_anchors(anchor):
        assert set(a) == {"chain", "seq", "hash", "key_id", "at"}
    assert json.loads(anchor.read_text().splitlines()[0])["seq"] > 0


def test_a_broken_chain_is_not_anchored(anchored):
    world, anchor = anchored
    before = anchor.read_text()
    _raw(world.store.path).execute("UPDATE audit_log SET staff_id = 'someone' WHERE seq = 2")
    assert _cli(["audit", "anchor", "--db", str(world.store.path), "--out", str(anchor)]) == 1
    assert anchor.read_text() == before
