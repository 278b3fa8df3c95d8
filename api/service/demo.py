"""Fill a new store from a generated population: the embedded default of ``serve --demo N``.

Generates N residents with Juki-net answers and copy data (``jukimatch.api.generate``),
reconciles them (``jukimatch.api.reconcile``), and loads the store: every resident record,
a registered number for each person decided ``match`` (audited like any registration), the
E/C/S copy data with its no-auto-response flags, the 19 requesters and their permission
list. One token per role goes to ``tokens.json`` beside the store (mode 0600), plus one
gateway token per requesting body for load tests. The generated responses file is the
register the Juki-net stand-in answers from.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from .auth import AUDITOR, GATEWAY, OPERATOR, STAFF, add_user
from .provision import seed_requesters
from .records import load_copies, load_persons, register_bulk
from .store import Store

# column prefix and no-auto-response flag column of each information kind in the copies table
COPY_KINDS = {
    "E": ("entry_exit_", "no_auto_response_entry_exit"),
    "C": ("residence_card_", "no_auto_response_residence_card"),
    "S": ("sp_certificate_", "no_auto_response_sp_certificate"),
}
DEMO_GATEWAY_REQUESTER = "mhlw"


def copy_rows(rows: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Long (subject_id, kind, data, no_auto_response) rows from the wide copies table.

    A kind whose columns are all empty for a person (a Japanese relative; S for a
    mid-to-long-term resident) yields no row: there is nothing to provide.
    """
    for r in rows:
        for kind, (prefix, flag) in COPY_KINDS.items():
            data = {k[len(prefix):]: v for k, v in r.items() if k.startswith(prefix) and v not in (None, "")}
            if data:
                yield {"subject_id": r["subject_id"], "kind": kind, "data": data,
                       "no_auto_response": str(r.get(flag) or "0") == "1"}


def _read(path: Path) -> Any:
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    if path.suffix.lower() == ".parquet":
        return pq.read_table(path)
    names = pcsv.read_csv(path, read_options=pcsv.ReadOptions(skip_rows_after_names=10**9)).column_names
    return pcsv.read_csv(path, convert_options=pcsv.ConvertOptions(column_types={n: "string" for n in names}))


def write_tokens(store: Store, path: Path) -> dict[str, Any]:
    """Issue one token per role (the gateway bound to MHLW) and one gateway per requesting body."""
    codes = sorted({r[0] for r in store.conn.execute("SELECT requester_code FROM requesters")})
    tokens: dict[str, Any] = {role: add_user(store, f"demo-{role}", role) for role in (STAFF, OPERATOR, AUDITOR)}
    gateways = {code: add_user(store, f"demo-gateway-{code}", GATEWAY, requester_code=code) for code in codes}
    tokens[GATEWAY] = gateways[DEMO_GATEWAY_REQUESTER]
    tokens["gateway_requester"] = DEMO_GATEWAY_REQUESTER
    tokens["gateways"] = gateways
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(tokens, fh, indent=2)
    return tokens


def fill_demo(db: str | Path, n: int, *, seed: int = 1, workdir: str | Path | None = None,
              progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Generate, reconcile and load a demo store at ``db``; returns counts and file paths."""
    from jukimatch.api import generate, reconcile

    say = progress or (lambda msg: None)
    db = Path(db)
    work = Path(workdir) if workdir else db.with_name(db.stem + "-demo")
    data, result = work / "data", work / "result"
    say(f"generating {n:,} residents in {data}")
    made = generate(n, data, seed=seed)
    paths = {k: Path(v) for k, v in (made.get("paths") or {}).items()}
    residents = paths.get("residents", data / "residents.parquet")
    responses = paths.get("responses", data / "responses.parquet")
    copies_path = paths.get("copies", data / "copies.parquet")
    say("reconciling with Juki-net's answers")
    reconcile(residents, responses, result, report=False)
    decisions = _read(result / "decisions.parquet")
    copies = _read(copies_path)
    subject_of = dict(zip(copies.column("person_id").to_pylist(), copies.column("subject_id").to_pylist()))
    store = Store(db)
    try:
        say(f"loading the store {db}")
        seed_requesters(store)
        persons = _read(residents).to_pylist()
        load_persons(store, ({**p, "subject_id": subject_of.get(p.get("person_id"))} for p in persons
                             if p.get("person_id")))
        load_copies(store, copy_rows(copies.to_pylist()))
        matched = [(p, m) for p, d, m in zip(decisions.column("person_id").to_pylist(),
                                             decisions.column("decision").to_pylist(),
                                             decisions.column("my_number").to_pylist()) if d == "match" and m]
        registered = register_bulk(store, matched, source="reconcile")
        tokens_file = db.with_name("tokens.json")
        write_tokens(store, tokens_file)
        counts = store.counts()
    finally:
        store.close()
    return {"db": str(db), "counts": counts, "registered": registered, "tokens_file": str(tokens_file),
            "jukinet_file": str(responses), "data": str(data), "result": str(result)}
