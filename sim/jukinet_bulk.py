"""A Juki-net stand-in for bulk inquiry files (一括照会): residents file in, responses file out.

Juki-net's register is what the datasets corruption model says the resident register holds
for each person (:func:`jukimatch.datasets.make_population`: the true record with its
discrepancies, look-alikes, not-found rows, bad check digits — ``datasets/corrupt.py``); it
is not rewritten here. :class:`BulkJukinet` holds such a register (generated, or read from
a ``responses`` file written by ``jukimatch generate``) and answers an agency's inquiry file
in the contract's ``responses`` format, with the faults of a file transfer:

- ``lost_batch_rate``: a whole batch of ``batch_size`` inquiry rows is never answered
  (障害によって未取得: the engine's ``pending`` rows, to be resent);
- ``lost_row_rate``: single rows lost;
- ``garble_rate``: a found row with one text field garbled in transfer — a character
  replaced by 〓 (the geta mark systems print for a character they cannot hold), the field
  cut short, or UTF-8 bytes read as CP932 (mojibake).

Inquiry rows the register does not know are answered ``not_found``, except the ``silent``
ones: persons the register knows but whose answer the generated population lost on purpose
(its ``unanswered`` case, read from ``truth``), which get no row. Seeded: the same file and
seed give the same answer.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from jukimatch.datasets import make_population, read_table

RESPONSE_COLUMNS = ("person_id", "status", "my_number", "name_alpha", "name_kanji", "name_kana", "birth_date",
                    "sex", "address")
GARBLE_FIELDS = ("name_alpha", "name_kanji", "name_kana", "address")
GETA = "〓"


@dataclass
class BulkAnswer:
    responses: pa.Table
    report: dict[str, Any] = field(default_factory=dict)


def _garble(text: str, rng: np.random.Generator) -> tuple[str, str]:
    kind = int(rng.integers(0, 3))
    if kind == 0:
        i = int(rng.integers(0, len(text)))
        return text[:i] + GETA + text[i + 1:], "geta"
    if kind == 1:
        return text[: max(1, int(len(text) * rng.uniform(0.3, 0.8)))], "truncated"
    return text.encode("utf-8").decode("cp932", errors="replace"), "mojibake"


class BulkJukinet:
    """Answers bulk inquiry files from a register of ``responses`` rows keyed by ``person_id``."""

    def __init__(self, register: pa.Table, *, batch_size: int = 10_000, lost_batch_rate: float = 0.0,
                 lost_row_rate: float = 0.0, garble_rate: float = 0.0, seed: int = 0,
                 silent: frozenset[str] | set[str] = frozenset()) -> None:
        missing = set(RESPONSE_COLUMNS) - set(register.column_names)
        if missing:
            raise ValueError(f"the register lacks columns {sorted(missing)}")
        for name, rate in (("lost_batch_rate", lost_batch_rate), ("lost_row_rate", lost_row_rate),
                           ("garble_rate", garble_rate)):
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name} must lie in [0, 1], got {rate}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.register = register.select(list(RESPONSE_COLUMNS)).cast(
            pa.schema([(c, pa.string()) for c in RESPONSE_COLUMNS]))
        self.batch_size, self.lost_batch_rate = batch_size, lost_batch_rate
        self.lost_row_rate, self.garble_rate, self.seed = lost_row_rate, garble_rate, seed
        self.silent = frozenset(silent)

    @staticmethod
    def silent_of(truth: pa.Table) -> frozenset[str]:
        """Person ids of the population's ``unanswered`` case (they have a record, never an answer)."""
        rows = truth.filter(pc.equal(truth.column("case"), "unanswered"))
        return frozenset(rows.column("person_id").to_pylist())

    @classmethod
    def from_population(cls, n: int, *, seed: int = 0, profile: Any = None,
                        **faults: Any) -> tuple["BulkJukinet", pa.Table, pa.Table]:
        """A generated register and the agency's residents file for it: (stand-in, residents, truth)."""
        tables = make_population(n, seed=seed, profile=profile)
        silent = cls.silent_of(tables["truth"])
        return cls(tables["responses"], silent=silent, **faults), tables["residents"], tables["truth"]

    @classmethod
    def from_file(cls, path: str | Path, *, encoding: str = "utf-8", **faults: Any) -> "BulkJukinet":
        """The register from a ``responses`` file (``jukimatch generate`` writes one beside the residents)."""
        return cls(read_table(path, encoding=encoding), **faults)

    def answer(self, inquiry: pa.Table) -> BulkAnswer:
        """The responses for ``inquiry`` (rows with a ``person_id``), in inquiry order, with faults."""
        if "person_id" not in inquiry.column_names:
            raise ValueError("the inquiry file needs a person_id column")
        rng = np.random.default_rng(self.seed)
        ids = inquiry.column("person_id").cast(pa.string())
        n = len(ids)
        n_batches = (n + self.batch_size - 1) // self.batch_size
        lost_batch = rng.random(n_batches) < self.lost_batch_rate
        lost = np.repeat(lost_batch, self.batch_size)[:n] | (rng.random(n) < self.lost_row_rate)
        silent = pc.is_in(ids, pa.array(sorted(self.silent), pa.string())).to_numpy(zero_copy_only=False) \
            if self.silent else np.zeros(n, dtype=bool)
        asked = pa.table({"person_id": ids, "_order": pa.array(np.arange(n))}).filter(pa.array(~(lost | silent)))
        reg = self.register.append_column("_sub", pa.array(np.arange(self.register.num_rows)))
        joined = asked.join(reg, "person_id", join_type="left outer")
        known = pc.is_valid(joined.column("_sub"))
        found = joined.filter(known).sort_by([("_order", "ascending"), ("_sub", "ascending")])
        unknown = joined.filter(pc.invert(known))
        not_found = pa.table({"person_id": unknown.column("person_id"), "status": pa.array(["not_found"] * len(unknown), pa.string()),
                              **{c: pa.nulls(len(unknown), pa.string()) for c in RESPONSE_COLUMNS[2:]},
                              "_order": unknown.column("_order").cast(pa.int64())})
        cols = {c: found.column(c) for c in RESPONSE_COLUMNS}
        garbled: dict[str, int] = {}
        status = found.column("status").to_numpy(zero_copy_only=False)
        hit = np.flatnonzero((status == "found") & (rng.random(len(found)) < self.garble_rate))
        if len(hit):
            which = rng.integers(0, len(GARBLE_FIELDS), len(hit))
            for f_idx, fname in enumerate(GARBLE_FIELDS):
                rows = hit[which == f_idx]
                if not len(rows):
                    continue
                values = cols[fname].to_pylist()
                for r in rows:
                    if values[r]:
                        values[r], how = _garble(values[r], rng)
                        garbled[how] = garbled.get(how, 0) + 1
                cols[fname] = pa.array(values, pa.string())
        answered = pa.table({**cols, "_order": found.column("_order")})
        out = pa.concat_tables([answered, not_found]).sort_by("_order").drop(["_order"])
        report = {"inquiry_rows": n, "batches": n_batches, "lost_batches": int(lost_batch.sum()),
                  "unanswered_rows": int((lost | silent).sum()), "silent_rows": int(silent.sum()), "response_rows": out.num_rows,
                  "found_rows": int(pc.sum(pc.equal(out.column("status"), "found")).as_py() or 0),
                  "not_found_rows": int(pc.sum(pc.equal(out.column("status"), "not_found")).as_py() or 0),
                  "unknown_to_register": len(unknown), "garbled": garbled}
        return BulkAnswer(out, report)


def answer_file(residents: str | Path, out: str | Path, *, register: str | Path | None = None,
                encoding: str = "utf-8", **faults: Any) -> dict[str, Any]:
    """Answer a residents file; the register defaults to the ``responses`` file beside it."""
    import pyarrow.parquet as pq

    res_path = Path(residents)
    if register is None:
        candidates = [res_path.with_name(f"responses{res_path.suffix}"), res_path.with_name("responses.parquet")]
        register = next((c for c in candidates if c.is_file()), None)
        if register is None:
            raise ValueError(f"{res_path}: no responses file beside it to serve as the register; give --register")
    truth = next((c for c in (Path(register).with_name(f"truth{Path(register).suffix}"),
                              Path(register).with_name("truth.parquet")) if c.is_file()), None)
    if truth is not None and "silent" not in faults:
        faults["silent"] = BulkJukinet.silent_of(read_table(truth, encoding=encoding))
    stand_in = BulkJukinet.from_file(register, encoding=encoding, **faults)
    ans = stand_in.answer(read_table(res_path, encoding=encoding))
    out_path = Path(out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    if out_path.suffix == ".csv":
        import pyarrow.csv as pcsv

        pcsv.write_csv(ans.responses, out_path)
    else:
        pq.write_table(ans.responses, out_path)
    return {**ans.report, "register": str(register), "out": str(out_path)}
