"""``review load``: a reconcile run's review queue into the store, with the candidates' numbers.

``review.parquet`` shows numbers masked, yet a confirmed candidate's full number is what gets
registered: it is taken from the run's responses input (the row each candidate came from,
``response_row``), checked against the masked one so a changed file is refused, and kept in
the store only. The resident side comes from the run's residents input (nationality, card
number, the columns ``pending.parquet`` needs). Normalised forms are computed here, in one
vectorised pass, so that pages never run the engine.

Idempotent: a run is identified by its review file's content hash and loaded once. A later
run is added beside the earlier ones; a person's still-undecided case from an earlier run is
superseded by the newer one; a person already registered is not queued again.
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from jukimatch.engine.files.crypt import SUFFIX, read_parquet
from jukimatch.engine.io import RESIDENT_COLUMNS, ROW_COLUMN, InputError, read_table
from jukimatch.engine.masking import mask
from jukimatch.engine.normalize.address import normalize_address
from jukimatch.engine.normalize.kana import normalize_kana
from jukimatch.engine.normalize.names import normalize_alpha, normalize_kanji
from jukimatch.engine.reconcile.features import FIELDS

from jukimatch.api.service import audit
from jukimatch.api.service.canon import dumps, now_iso
from jukimatch.api.service.store import Store


_CHUNK = 500  # SQLite's bound-parameter budget per IN (...)


@dataclass
class LoadResult:
    run_id: str
    cases: int
    candidates: int
    skipped_registered: int
    superseded: int
    already_loaded: bool = False

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode  # one encoder for 10^5 rows


def _run_id(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


def _review_file(run_dir: Path) -> Path:
    for name in ("review.parquet", "review.parquet" + SUFFIX):
        if (run_dir / name).is_file():
            return run_dir / name
    raise InputError(f"{run_dir}: no review.parquet: not a reconcile run's output folder")


def _input_path(given: str | Path | None, summary: dict[str, Any], kind: str, run_dir: Path) -> Path:
    """The run's input file: as given, else as the summary names it (absolute or from here)."""
    if given is not None:
        p = Path(given)
    else:
        named = (summary.get("inputs") or {}).get(kind)
        if not named:
            raise InputError(f"{run_dir / 'summary.json'}: field inputs.{kind}: missing; pass --{kind} PATH")
        p = Path(named)
    if not p.is_file():
        raise InputError(f"{p}: no such {kind} file (named by the run); pass --{kind} PATH")
    return p


def _normal_forms(table: pa.Table, side: str) -> dict[str, list[Any]]:
    """Normalised text per field, as the matcher compares it; address as its five parts."""
    def col(f: str) -> Any:
        return table.column(f"{f}_{side}")

    parts = normalize_address(col("address"))
    return {"name_alpha": normalize_alpha(col("name_alpha")).to_pylist(),
            "name_kanji": normalize_kanji(col("name_kanji"))[0].to_pylist(),
            "name_kana": normalize_kana(col("name_kana")).to_pylist(),
            "address": [list(p) for p in zip(*(x.to_pylist() for x in parts))]}


def _registered(conn: sqlite3.Connection, persons: list[str]) -> set[str]:
    out: set[str] = set()
    for i in range(0, len(persons), _CHUNK):
        chunk = persons[i:i + _CHUNK]
        out.update(r[0] for r in conn.execute(
            f"SELECT person_id FROM registrations WHERE status = 'registered' AND person_id IN"
            f" ({', '.join('?' * len(chunk))})", chunk))
    return out


def _responses_by_row(path: Path, rows: np.ndarray) -> dict[int, dict[str, Any]]:
    s = read_table(path, "responses").table
    have = s.column(ROW_COLUMN).to_numpy()
    pos = np.searchsorted(have, rows)
    ok = (pos < len(have)) & (have[np.minimum(pos, len(have) - 1)] == rows)
    if not ok.all():
        raise InputError(f"{path}: row {int(rows[~ok][0])}: not in the file (was it changed since the run?)")
    take = s.take(pa.array(pos)).select(["person_id", "my_number"])
    return {int(r): row for r, row in zip(rows, take.to_pylist())}


def load_run(store: Store, run_dir: str | Path, *, key: bytes | None = None, residents: str | Path | None = None,
             responses: str | Path | None = None, staff_id: str = "cli:review-load",
             role: str = "operator") -> LoadResult:
    """Load the review queue of the reconcile run in ``run_dir``; see the module docstring."""
    run_dir = Path(run_dir)
    if not (run_dir / "summary.json").is_file():
        raise InputError(f"{run_dir}: no summary.json: not a reconcile run's output folder")
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    review_path = _review_file(run_dir)
    run_id = _run_id(review_path)
    if store.conn.execute("SELECT 1 FROM review_runs WHERE run_id = ?", (run_id,)).fetchone():
        return LoadResult(run_id, 0, 0, 0, 0, already_loaded=True)
    review = read_parquet(review_path, key)
    persons = pc.unique(review.column("person_id")).to_pylist()
    registered = _registered(store.conn, persons)
    if registered:
        review = review.filter(pc.invert(pc.is_in(review.column("person_id"), pa.array(sorted(registered)))))
    queued = pc.unique(review.column("person_id"))

    res = read_table(_input_path(residents, summary, "residents", run_dir), "residents").table
    res = res.filter(pc.is_in(res.column("person_id"), queued))
    resident_of = {r["person_id"]: {c: r.get(c) for c in RESIDENT_COLUMNS} for r in res.to_pylist()}
    resp_rows = review.column("response_row").drop_null().to_numpy()
    resp_path = _input_path(responses, summary, "responses", run_dir)
    number_of = _responses_by_row(resp_path, np.unique(resp_rows)) if len(resp_rows) else {}

    left, right = _normal_forms(review, "l"), _normal_forms(review, "r")
    rows = review.to_pylist()
    related = review.column("related_person_ids").to_pylist() if "related_person_ids" in review.column_names \
        else [None] * len(rows)
    now = now_iso()
    cases: dict[str, dict[str, Any]] = {}
    candidates: list[tuple[Any, ...]] = []
    for i, row in enumerate(rows):
        pid = row["person_id"]
        case = cases.get(pid)
        if case is None:
            resident = resident_of.get(pid) or {f: row[f"{f}_l"] for f in FIELDS} | {"person_id": pid}
            resident["normal"] = {f: left[f][i] for f in left}
            parts = left["address"][i]
            case = cases[pid] = {"reasons": row["reasons"] or [], "related": related[i] or [], "resident": resident,
                                 "municipality": "".join(p for p in parts[:2] if p) or None, "n": 0}
        if row["candidate_rank"] == 0:
            continue
        number = None
        if row["response_row"] is not None:
            src = number_of[int(row["response_row"])]
            shown = mask(src["my_number"], whole=True)
            if src["person_id"] != pid or shown != (row["my_number_masked"] or ""):
                raise InputError(f"{resp_path}: row {row['response_row']}: field my_number: does not match the "
                                 f"run's review queue (was the file changed since the run?)")
            number = src["my_number"]
        response = {f: row[f"{f}_r"] for f in FIELDS} | {"normal": {f: right[f][i] for f in right}}
        case["n"] += 1
        candidates.append((pid, int(row["candidate_rank"]), number, row["match_weight"], row["match_probability"],
                           _json(response), _json({f: row[f"level_{f}"] for f in FIELDS}),
                           _json({f: row[f"weight_{f}"] for f in FIELDS})))

    with store.write() as conn:
        if conn.execute("SELECT 1 FROM review_runs WHERE run_id = ?", (run_id,)).fetchone():
            return LoadResult(run_id, 0, 0, 0, 0, already_loaded=True)  # a concurrent load won
        conn.execute("INSERT INTO review_runs (run_id, run_dir, loaded_at, thresholds, model, cases)"
                     " VALUES (?, ?, ?, ?, ?, ?)", (run_id, str(run_dir.resolve()), now,
                                                    dumps(summary.get("thresholds") or {}),
                                                    dumps(summary.get("model")), len(cases)))
        before = conn.total_changes
        conn.executemany("UPDATE review_cases SET status = 'superseded', closed_at = ? WHERE person_id = ?"
                         " AND status IN ('open', 'escalated')", [(now, pid) for pid in cases])
        superseded = conn.total_changes - before
        conn.executemany(
            "INSERT OR IGNORE INTO persons (person_id, resident_class, name_alpha, name_kanji, name_kana, birth_date,"
            " sex, nationality, address, card_number, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(pid, *(c["resident"].get(k) for k in ("resident_class", "name_alpha", "name_kanji", "name_kana",
                                                     "birth_date", "sex", "nationality", "address", "card_number")),
              now) for pid, c in cases.items()])
        first = conn.execute("SELECT coalesce(max(case_id), 0) + 1 FROM review_cases").fetchone()[0]
        case_id = {pid: first + i for i, pid in enumerate(cases)}  # queue order: the run's order
        conn.executemany(
            "INSERT INTO review_cases (case_id, run_id, person_id, status, reasons, related, municipality, nationality,"
            " resident, candidates, created_at) VALUES (?, ?, ?, 'open', ?, ?, ?, ?, ?, ?, ?)",
            [(case_id[pid], run_id, pid, _json(c["reasons"]), _json(c["related"]), c["municipality"],
              c["resident"].get("nationality"), _json(c["resident"]), c["n"], now) for pid, c in cases.items()])
        conn.executemany("INSERT OR IGNORE INTO review_case_reasons (case_id, reason) VALUES (?, ?)",
                         [(case_id[pid], r) for pid, c in cases.items() for r in c["reasons"]])
        conn.executemany("INSERT INTO review_candidates (case_id, rank, my_number, match_weight, match_probability,"
                         " response, levels, weights) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                         [(case_id[c[0]], *c[1:]) for c in candidates])
        result = LoadResult(run_id, len(cases), len(candidates), len(registered), superseded)
        audit.append(conn, staff_id=staff_id, role=role, operation="review_load",
                     detail={"run_dir": str(run_dir.resolve()), **result.as_dict()})
    return result
