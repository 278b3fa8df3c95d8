"""The store: migrations, integrity rules, the audit chain and its CLI, the requesters table."""
from __future__ import annotations

import argparse
import sqlite3

import pytest
from tests.api.service.support import build_world, my_number

from jukimatch.api.service import Store, add_user, register_bulk, verify
from jukimatch.api.service import schema
from jukimatch.api.service.commands import add_audit_parser, add_serve_parser
from jukimatch.datasets.requesters import load_requesters


@pytest.fixture
def world(tmp_path):
    return build_world(tmp_path / "store.sqlite")


def _cli(argv):
    parser = argparse.ArgumentParser(prog="jukimatch")
    sub = parser.add_subparsers(dest="command", required=True)
    add_serve_parser(sub)
    add_audit_parser(sub)
    args = parser.parse_args(argv)
    return args.func(args)


def _unguarded(path):
    """A raw connection with the append-only triggers dropped: what someone with the file can do."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("DROP TRIGGER audit_log_no_update")
    conn.execute("DROP TRIGGER audit_log_no_delete")
    return conn


def test_migrations_are_versioned_idempotent_and_wal(tmp_path):
    path = tmp_path / "s.sqlite"
    s = Store(path)
    assert s.migrate() == []  # already applied by the constructor
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == schema.LATEST
    assert [r[0] for r in conn.execute("SELECT version FROM schema_migrations")] == [m.version for m in
                                                                                     schema.MIGRATIONS]
    s.close()
    assert Store(path).counts()["audit_log"] == 0


def test_newer_store_is_refused(tmp_path):
    path = tmp_path / "s.sqlite"
    Store(path).close()
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO schema_migrations VALUES (999, 'future', 'x')")
    conn.commit()
    conn.close()
    with pytest.raises(RuntimeError, match="newer"):
        Store(path)


def test_a_number_is_registered_for_one_person_only(world):
    n2 = world.numbers["P0002"]
    assert register_bulk(world.store, [("P0002", n2), ("P0003", n2), ("P0001", my_number(1))]) == 1
    with pytest.raises(sqlite3.IntegrityError):
        with world.store.write() as conn:
            conn.execute("INSERT INTO registrations (person_id, my_number, status, source, created_at)"
                         " VALUES ('P0004', ?, 'registered', 'bulk', 'now')", (n2,))


def test_gateway_users_are_bound_to_one_known_requester(world):
    with pytest.raises(ValueError):
        add_user(world.store, "x", "gateway")
    with pytest.raises(ValueError):
        add_user(world.store, "y", "gateway", requester_code="nobody")
    with pytest.raises(ValueError):
        add_user(world.store, "z", "staff", requester_code="mhlw")
    with pytest.raises(ValueError):
        add_user(world.store, "w", "superuser")


def test_audit_log_is_append_only(world):
    conn = sqlite3.connect(world.store.path)
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("UPDATE audit_log SET staff_id = 'someone' WHERE seq = 1")
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("DELETE FROM audit_log WHERE seq = 1")


def _more_entries(world, k=5):
    register_bulk(world.store, [(f"P000{i}", world.numbers[f"P000{i}"]) for i in range(2, 2 + k)])


def test_verify_ok_and_cli_exit_zero(world, capsys):
    _more_entries(world)
    assert verify(world.store.path).ok
    assert _cli(["audit", "verify", "--db", str(world.store.path)]) == 0
    assert "audit chain ok" in capsys.readouterr().out


def test_edited_entry_is_named(world, capsys):
    _more_entries(world)
    conn = _unguarded(world.store.path)
    conn.execute("UPDATE audit_log SET staff_id = 'someone-else' WHERE seq = 3")
    res = verify(world.store.path)
    assert not res.ok and res.first_broken == 3 and "edited" in res.problem
    assert _cli(["audit", "verify", "--db", str(world.store.path)]) == 1
    out = capsys.readouterr().out
    assert "first broken entry 3" in out


def test_edited_number_is_caught(world):
    _more_entries(world)
    conn = _unguarded(world.store.path)
    conn.execute("UPDATE audit_log SET my_number = ? WHERE seq = 2", (my_number(424242),))
    res = verify(world.store.path)
    assert not res.ok and res.first_broken == 2


def test_deleted_entry_is_caught(world):
    _more_entries(world)
    conn = _unguarded(world.store.path)
    conn.execute("DELETE FROM audit_log WHERE seq = 2")
    res = verify(world.store.path)
    assert not res.ok and res.first_broken == 2 and "missing" in res.problem
    assert _cli(["audit", "verify", "--db", str(world.store.path)]) == 1


def test_deleted_tail_is_caught(world):
    _more_entries(world)
    last = sqlite3.connect(world.store.path).execute("SELECT max(seq) FROM audit_log").fetchone()[0]
    conn = _unguarded(world.store.path)
    conn.execute("DELETE FROM audit_log WHERE seq = ?", (last,))
    res = verify(world.store.path)
    assert not res.ok and res.first_broken == last


def test_rehashed_entry_still_breaks_the_next_link(world):
    """Even with the key, recomputing an edited entry's own MAC is not enough: the next link breaks."""
    from jukimatch.api.service.chain import mac

    _more_entries(world)
    conn = _unguarded(world.store.path)
    row = conn.execute("SELECT seq, at, staff_id, role, operation, person_id, my_number, detail, prev_hash"
                       " FROM audit_log WHERE seq = 2").fetchone()
    h = mac(world.store.audit_key, row[8], (row[0], row[1], "forger", *row[3:8]))
    conn.execute("UPDATE audit_log SET staff_id = 'forger', hash = ? WHERE seq = 2", (h,))
    res = verify(world.store.path)
    assert not res.ok and res.first_broken == 3


def test_cli_refuses_a_missing_store(tmp_path):
    from jukimatch.engine.io import InputError

    with pytest.raises(InputError):
        _cli(["audit", "verify", "--db", str(tmp_path / "nope.sqlite")])
    (tmp_path / "junk.sqlite").write_bytes(b"not a database at all" * 100)
    with pytest.raises(InputError):
        _cli(["audit", "verify", "--db", str(tmp_path / "junk.sqlite")])


def test_serve_refuses_bad_usage(tmp_path):
    from jukimatch.engine.io import InputError

    existing = tmp_path / "s.sqlite"
    Store(existing).close()
    for argv in (["serve", "--db", str(existing), "--demo", "10"], ["serve", "--workers", "0"],
                 ["serve", "--port", "70000"], ["serve", "--jukinet-url", "http://x", "--jukinet-file", "f"],
                 ["serve", "--db", str(tmp_path / "n.sqlite"), "--jukinet-file", str(tmp_path / "missing.parquet")]):
        with pytest.raises(InputError):
            _cli(argv)


def test_requesters_table_matches_the_domain():
    rows = load_requesters()
    assert [r.number for r in rows] == list(range(1, 20))
    rows_by_number = {r.number: (r.ordinance_row, "".join(r.info_kinds)) for r in rows}
    assert rows_by_number == {1: (1, "ECS"), 2: (2, "ECS"), 3: (3, "ECS"), 4: (5, "ECS"), 5: (6, "ECS"),
                              6: (7, "ECS"), 7: (48, "EC"), 8: (49, "E"), 9: (57, "ECS"), 10: (58, "ECS"),
                              11: (65, "ECS"), 12: (67, "E"), 13: (69, "ECS"), 14: (73, "ECS"), 15: (83, "ECS"),
                              16: (85, "E"), 17: (107, "ECS"), 18: (115, "ECS"), 19: (141, "CS")}
    assert len({(r.requester_code, r.ordinance_row) for r in rows}) == 19
    assert {r.requester_code for r in rows if r.requester.startswith("Minister of Health")} == {"mhlw"}


def test_requesters_loader_rejects_bad_rows(tmp_path):
    src = (tmp_path / "r.tsv")
    good = load_requesters.__globals__["_path"]().read_text(encoding="utf-8")
    src.write_text(good.replace("\tCS\n", "\tCX\n"), encoding="utf-8")
    with pytest.raises(ValueError, match="info_kinds"):
        load_requesters(src)


def test_service_exports_are_complete_sorted_and_need_no_extras():
    import subprocess
    import sys

    import jukimatch.api.service as svc

    assert svc.__all__ == sorted(svc.__all__)
    for name in svc.__all__:
        assert getattr(svc, name) is not None
    blocker = """
import sys, importlib.abc
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"starlette", "uvicorn", "httpx", "jukimatch.sim"}:
            raise ImportError(name)
sys.meta_path.insert(0, Block())
import jukimatch.api.service, jukimatch.api.service.commands
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", blocker], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_audit_pages_filter_by_person_and_mask(world):
    from jukimatch.api.service import audit
    from jukimatch.api.service.records import audit_entries

    with world.store.write() as conn:
        for i in range(5):
            audit.append(conn, staff_id="s1", role="staff", operation="read", person_id=f"P000{1 + i % 2}",
                         my_number=my_number(10_000_000_000 + i))
    everything = audit_entries(world.store, limit=1000)
    mine = audit_entries(world.store, person_id="P0001", limit=1000)
    assert mine and all(e["person_id"] == "P0001" for e in mine)
    assert [e["seq"] for e in mine] == [e["seq"] for e in everything if e["person_id"] == "P0001"]
    page = audit_entries(world.store, after=mine[0]["seq"], person_id="P0001", limit=1)
    assert [e["seq"] for e in page] == [mine[1]["seq"]]
    assert all(not e["my_number"] or e["my_number"].startswith("********") for e in everything)
