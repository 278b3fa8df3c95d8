"""Versioned schema migrations of the inquiry service's store.

Each migration is applied once, in order, inside one ``BEGIN IMMEDIATE`` transaction, and
recorded in ``schema_migrations``; ``PRAGMA user_version`` mirrors the latest version so a
plain ``sqlite3`` shell shows it too. A new release appends a migration and never edits an
applied one: stores in the field have run the old text.

Integrity is kept by the database itself where it can be: a number is registered for at most
one person and a person holds at most one registered number (partial unique indexes: the
failure the agency fears most is a number given to the wrong person); the audit log and the
provision records refuse deletion, and the audit log refuses edits (triggers). Triggers stop
honest mistakes; the keyed chains (chain.py) catch anyone who drops them.
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

ROLES = (
    ("gateway", "information-provision gateway of one requester: provision requests only"),
    ("staff", "agency staff: authenticity checks, person records with numbers in clear"),
    ("operator", "operator: holds, retries, person records with numbers masked"),
    ("auditor", "auditor: audit log, provision records, chain verification; numbers masked"),
)
GENESIS_HASH = "0" * 64


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]
    then: Callable[[sqlite3.Connection], None] | None = None  # a step SQL text alone cannot express


_V1 = (
    """CREATE TABLE roles (role TEXT PRIMARY KEY, description TEXT NOT NULL)""",
    """CREATE TABLE users (
        user_id TEXT PRIMARY KEY,
        role TEXT NOT NULL REFERENCES roles(role),
        requester_code TEXT,
        display_name TEXT,
        created_at TEXT NOT NULL,
        CHECK ((role = 'gateway') = (requester_code IS NOT NULL)))""",
    """CREATE TABLE tokens (
        token_hash TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users(user_id),
        created_at TEXT NOT NULL,
        revoked_at TEXT)""",
    """CREATE TABLE persons (
        person_id TEXT PRIMARY KEY,
        subject_id TEXT UNIQUE,
        resident_class TEXT, name_alpha TEXT, name_kanji TEXT, name_kana TEXT,
        birth_date TEXT, sex TEXT, nationality TEXT, address TEXT, card_number TEXT,
        updated_at TEXT NOT NULL)""",
    """CREATE TABLE registrations (
        id INTEGER PRIMARY KEY,
        person_id TEXT NOT NULL REFERENCES persons(person_id),
        my_number TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('provisional', 'registered', 'rejected', 'review')),
        source TEXT NOT NULL CHECK (source IN ('bulk', 'authenticity_check')),
        match_probability REAL,
        reasons TEXT NOT NULL DEFAULT '[]',
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        next_attempt_at TEXT,
        staff_id TEXT,
        created_at TEXT NOT NULL,
        decided_at TEXT)""",
    "CREATE UNIQUE INDEX registrations_one_number_per_person ON registrations(person_id) WHERE status = 'registered'",
    "CREATE UNIQUE INDEX registrations_one_person_per_number ON registrations(my_number) WHERE status = 'registered'",
    "CREATE UNIQUE INDEX registrations_one_provisional ON registrations(person_id, my_number) WHERE status = 'provisional'",
    "CREATE INDEX registrations_person ON registrations(person_id, status)",
    "CREATE INDEX registrations_due ON registrations(next_attempt_at) WHERE status = 'provisional'",
    """CREATE TABLE authenticity_checks (
        id INTEGER PRIMARY KEY,
        person_id TEXT NOT NULL,
        number_masked TEXT NOT NULL,
        registration_id INTEGER REFERENCES registrations(id),
        result TEXT NOT NULL CHECK (result IN ('authentic', 'confirmed', 'rejected', 'review', 'provisional')),
        reasons TEXT NOT NULL DEFAULT '[]',
        match_probability REAL,
        levels TEXT,
        staff_id TEXT NOT NULL,
        requested_at TEXT NOT NULL,
        decided_at TEXT)""",
    "CREATE INDEX checks_open ON authenticity_checks(registration_id) WHERE result = 'provisional'",
    """CREATE TABLE copies (
        subject_id TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('E', 'C', 'S')),
        data TEXT NOT NULL,
        no_auto_response INTEGER NOT NULL DEFAULT 0,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (subject_id, kind)) WITHOUT ROWID""",
    """CREATE TABLE requesters (
        number INTEGER PRIMARY KEY,
        requester_code TEXT NOT NULL,
        requester TEXT NOT NULL, requester_ja TEXT NOT NULL,
        ordinance_row INTEGER NOT NULL,
        office_work TEXT NOT NULL, office_work_ja TEXT NOT NULL,
        info_kinds TEXT NOT NULL,
        UNIQUE (requester_code, ordinance_row))""",
    """CREATE TABLE permissions (
        requester_code TEXT NOT NULL,
        ordinance_row INTEGER NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('E', 'C', 'S')),
        PRIMARY KEY (requester_code, ordinance_row, kind)) WITHOUT ROWID""",
    """CREATE TABLE provision_records (
        id INTEGER PRIMARY KEY,
        requester_code TEXT,
        ordinance_row INTEGER,
        office_work TEXT,
        procedure TEXT,
        info_kinds TEXT,
        information_name TEXT,
        subject_id TEXT,
        status TEXT NOT NULL CHECK (status IN ('provided', 'held', 'refused', 'forbidden', 'not_found', 'invalid')),
        reason TEXT,
        time_requested TEXT NOT NULL,
        time_provided TEXT,
        provider TEXT NOT NULL,
        user_id TEXT)""",
    "CREATE INDEX provision_records_requester ON provision_records(requester_code, time_requested)",
    """CREATE TABLE holds (
        id INTEGER PRIMARY KEY,
        provision_id INTEGER NOT NULL UNIQUE REFERENCES provision_records(id),
        kinds TEXT NOT NULL,
        payload TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('held', 'released', 'refused')),
        created_at TEXT NOT NULL,
        decided_at TEXT,
        decided_by TEXT,
        note TEXT)""",
    "CREATE INDEX holds_open ON holds(status, id)",
    """CREATE TABLE audit_log (
        seq INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        staff_id TEXT NOT NULL,
        role TEXT NOT NULL,
        operation TEXT NOT NULL,
        person_id TEXT,
        my_number TEXT,
        detail TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL)""",
    "CREATE INDEX audit_log_number ON audit_log(my_number)",
    "CREATE INDEX audit_log_person ON audit_log(person_id)",
    """CREATE TABLE audit_head (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        seq INTEGER NOT NULL,
        hash TEXT NOT NULL)""",
    f"INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '{GENESIS_HASH}')",
    """CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END""",
    """CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END""",
    """CREATE TRIGGER provision_records_no_delete BEFORE DELETE ON provision_records
        BEGIN SELECT RAISE(ABORT, 'provision records are kept at least 7 years'); END""",
    """CREATE TRIGGER provision_records_final BEFORE UPDATE ON provision_records
        WHEN OLD.status != 'held'
        BEGIN SELECT RAISE(ABORT, 'only a held provision record may change'); END""",
)

# --- issue 14: keyed chains, every provision outcome, bound vs claimed requester ----------
# The chain tables (see chain.py): which chains are keyed under which key, and the provision
# chain, one entry per state of a provision record. ``error`` joins the provision statuses
# (a request that failed inside the service is recorded too); SQLite cannot alter a CHECK,
# so the table's stored SQL is rewritten (the documented writable_schema procedure: the
# on-disk format does not change).
_V2_KEYED_CHAINS = (
    """CREATE TABLE audit_chain (
        chain TEXT PRIMARY KEY CHECK (chain IN ('audit', 'provision')),
        key_id TEXT NOT NULL,
        keyed_from INTEGER NOT NULL,
        installed_at TEXT NOT NULL)""",
    """CREATE TABLE provision_chain (
        seq INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        provision_id INTEGER NOT NULL,
        event TEXT NOT NULL,
        record TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL)""",
    "CREATE INDEX provision_chain_record ON provision_chain(provision_id, seq)",
    """CREATE TABLE provision_head (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        seq INTEGER NOT NULL,
        hash TEXT NOT NULL)""",
    f"INSERT INTO provision_head (id, seq, hash) VALUES (1, 0, '{GENESIS_HASH}')",
    """CREATE TRIGGER provision_chain_no_update BEFORE UPDATE ON provision_chain
        BEGIN SELECT RAISE(ABORT, 'provision_chain is append-only'); END""",
    """CREATE TRIGGER provision_chain_no_delete BEFORE DELETE ON provision_chain
        BEGIN SELECT RAISE(ABORT, 'provision_chain is append-only'); END""",
    "ALTER TABLE provision_records ADD COLUMN claimed_requester TEXT",
    "ALTER TABLE provision_records ADD COLUMN bound_requester TEXT",
)


def _allow_error_status(conn: sqlite3.Connection) -> None:
    version = conn.execute("PRAGMA schema_version").fetchone()[0]
    conn.execute("PRAGMA writable_schema = ON")
    try:
        conn.execute("UPDATE sqlite_master SET sql = replace(sql, \"'not_found', 'invalid')\","
                     " \"'not_found', 'invalid', 'error')\") WHERE type = 'table' AND name = 'provision_records'")
        conn.execute(f"PRAGMA schema_version = {version + 1}")
    finally:
        conn.execute("PRAGMA writable_schema = OFF")


# --- Review workbench (issue 13): token expiry, clerk/supervisor roles, the review queue. ---
# Cases are keyed by (run, person): a later run's queue is added beside the earlier ones.
# Full numbers of candidates live only here (the file is created 0600); pages mask them.
# One open proposal per number, and the registrations table's unique indexes, keep a number
# from being proposed or registered for two persons at once.
_V3_REVIEW = (
    "ALTER TABLE tokens ADD COLUMN expires_at TEXT",
    "INSERT OR IGNORE INTO roles (role, description) VALUES ('clerk',"
    " 'review clerk: works the review queue, proposes registrations; numbers masked unless revealed')",
    "INSERT OR IGNORE INTO roles (role, description) VALUES ('supervisor',"
    " 'review supervisor: approves or returns proposals of others, decides escalated cases')",
    """CREATE TABLE review_runs (
        run_id TEXT PRIMARY KEY,
        run_dir TEXT NOT NULL,
        loaded_at TEXT NOT NULL,
        thresholds TEXT NOT NULL,
        model TEXT,
        cases INTEGER NOT NULL)""",
    """CREATE TABLE review_cases (
        case_id INTEGER PRIMARY KEY,
        run_id TEXT NOT NULL REFERENCES review_runs(run_id),
        person_id TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN
            ('open', 'escalated', 'proposed', 'registered', 'no_match', 'reinquire', 'superseded')),
        reasons TEXT NOT NULL,
        related TEXT NOT NULL DEFAULT '[]',
        municipality TEXT,
        nationality TEXT,
        resident TEXT NOT NULL,
        candidates INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        closed_at TEXT,
        todo INTEGER GENERATED ALWAYS AS (status IN ('open', 'escalated')) VIRTUAL,
        UNIQUE (run_id, person_id))""",
    # The queue's hot reads (a page in queue order, counts, filter choices) run on these
    # covering indexes, never on the wide rows: 100,000 cases page in milliseconds.
    "CREATE INDEX review_cases_person ON review_cases(person_id, case_id)",
    "CREATE INDEX review_cases_status ON review_cases(status, case_id)",
    "CREATE INDEX review_cases_todo ON review_cases(todo, case_id)",
    "CREATE INDEX review_cases_todo_run ON review_cases(todo, run_id)",
    "CREATE INDEX review_cases_todo_nationality ON review_cases(todo, nationality)",
    "CREATE INDEX review_cases_todo_municipality ON review_cases(todo, municipality)",
    """CREATE TABLE review_case_reasons (
        case_id INTEGER NOT NULL REFERENCES review_cases(case_id),
        reason TEXT NOT NULL,
        todo INTEGER NOT NULL DEFAULT 1,
        PRIMARY KEY (reason, case_id)) WITHOUT ROWID""",
    "CREATE INDEX review_case_reasons_todo ON review_case_reasons(todo, reason)",
    """CREATE TRIGGER review_case_reasons_todo AFTER UPDATE OF status ON review_cases
        BEGIN UPDATE review_case_reasons SET todo = NEW.status IN ('open', 'escalated')
              WHERE case_id = NEW.case_id; END""",
    # Counts the queue page shows on every view, kept by triggers instead of counted each time.
    """CREATE TABLE review_counts (
        run_id TEXT NOT NULL, status TEXT NOT NULL, n INTEGER NOT NULL,
        PRIMARY KEY (run_id, status)) WITHOUT ROWID""",
    """CREATE TRIGGER review_counts_insert AFTER INSERT ON review_cases
        BEGIN INSERT INTO review_counts (run_id, status, n) VALUES (NEW.run_id, NEW.status, 1)
              ON CONFLICT (run_id, status) DO UPDATE SET n = n + 1; END""",
    """CREATE TRIGGER review_counts_update AFTER UPDATE OF status ON review_cases WHEN OLD.status != NEW.status
        BEGIN UPDATE review_counts SET n = n - 1 WHERE run_id = OLD.run_id AND status = OLD.status;
              INSERT INTO review_counts (run_id, status, n) VALUES (NEW.run_id, NEW.status, 1)
              ON CONFLICT (run_id, status) DO UPDATE SET n = n + 1; END""",
    """CREATE TABLE review_reason_counts (
        reason TEXT PRIMARY KEY, todo INTEGER NOT NULL) WITHOUT ROWID""",
    """CREATE TRIGGER review_reason_counts_insert AFTER INSERT ON review_case_reasons
        BEGIN INSERT INTO review_reason_counts (reason, todo) VALUES (NEW.reason, NEW.todo)
              ON CONFLICT (reason) DO UPDATE SET todo = todo + NEW.todo; END""",
    """CREATE TRIGGER review_reason_counts_update AFTER UPDATE OF todo ON review_case_reasons
        WHEN OLD.todo != NEW.todo
        BEGIN UPDATE review_reason_counts SET todo = todo + NEW.todo - OLD.todo WHERE reason = NEW.reason; END""",
    """CREATE TABLE review_candidates (
        case_id INTEGER NOT NULL REFERENCES review_cases(case_id),
        rank INTEGER NOT NULL,
        my_number TEXT,
        match_weight REAL,
        match_probability REAL,
        response TEXT NOT NULL,
        levels TEXT NOT NULL,
        weights TEXT NOT NULL,
        PRIMARY KEY (case_id, rank)) WITHOUT ROWID""",
    """CREATE TABLE review_leases (
        case_id INTEGER PRIMARY KEY REFERENCES review_cases(case_id),
        user_id TEXT NOT NULL,
        taken_at TEXT NOT NULL,
        expires_at TEXT NOT NULL)""",
    """CREATE TABLE review_decisions (
        id INTEGER PRIMARY KEY,
        case_id INTEGER NOT NULL REFERENCES review_cases(case_id),
        person_id TEXT NOT NULL,
        action TEXT NOT NULL CHECK (action IN ('confirm', 'no_match', 'reinquire', 'escalate')),
        candidate INTEGER,
        my_number TEXT,
        note TEXT,
        status TEXT NOT NULL CHECK (status IN ('proposed', 'approved', 'returned', 'final')),
        decided_by TEXT NOT NULL,
        decided_at TEXT NOT NULL,
        opened_at TEXT,
        approved_by TEXT,
        approved_at TEXT,
        approval_note TEXT,
        CHECK ((action = 'confirm') = (my_number IS NOT NULL)))""",
    "CREATE UNIQUE INDEX review_one_proposal_per_number ON review_decisions(my_number) WHERE status = 'proposed'",
    "CREATE INDEX review_decisions_case ON review_decisions(case_id, id)",
    "CREATE INDEX review_decisions_status ON review_decisions(status, id)",
    """CREATE TABLE review_sessions (
        session_hash TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users(user_id),
        csrf TEXT NOT NULL,
        created_at TEXT NOT NULL,
        last_seen REAL NOT NULL)""",
)

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial store", _V1),
    Migration(2, "keyed audit and provision chains; bound and claimed requester", _V2_KEYED_CHAINS,
              _allow_error_status),
    Migration(3, "review workbench, token expiry", _V3_REVIEW),
)
LATEST = MIGRATIONS[-1].version


def applied_versions(conn: sqlite3.Connection) -> list[int]:
    """Versions already applied (empty for a new store)."""
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").fetchone()
    if not exists:
        return []
    return [r[0] for r in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]


def migrate(conn: sqlite3.Connection) -> list[int]:
    """Apply every missing migration in order; returns the versions applied now.

    Safe to call from several processes at once: the write lock is taken before the applied
    versions are read, so each migration runs exactly once.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("""CREATE TABLE IF NOT EXISTS schema_migrations (
            version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)""")
        done = set(applied_versions(conn))
        if done and max(done) > LATEST:
            raise RuntimeError(f"store schema version {max(done)} is newer than this program's {LATEST}")
        now = datetime.now(timezone.utc).isoformat(timespec="microseconds")
        applied = []
        for m in MIGRATIONS:
            if m.version in done:
                continue
            for stmt in m.statements:
                conn.execute(stmt)
            if m.then is not None:
                m.then(conn)
            if m.version == 1:
                conn.executemany("INSERT INTO roles (role, description) VALUES (?, ?)", ROLES)
            conn.execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                         (m.version, m.name, now))
            applied.append(m.version)
        conn.execute(f"PRAGMA user_version = {LATEST}")
        conn.execute("COMMIT")
        return applied
    except BaseException:
        conn.execute("ROLLBACK")
        raise
