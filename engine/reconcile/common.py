"""What both backends of a reconciliation share: options, reading, the model fit, and finishing.

The local backend (:mod:`.local`) and the Dask backend (:mod:`.distributed`) each run the
stages over their parts and then hand the parts' rows to :func:`finish`, which merges them
into input order, checks rows in = rows out, writes every output atomically and builds the
summary (and the report). Neither backend imports the other; :mod:`.pipeline` picks one.
"""
from __future__ import annotations

import itertools
import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute  # noqa: F401  (pa.compute)

from jukimatch.engine.files.atomic import atomic_write_bytes
from jukimatch.engine.files.crypt import SUFFIX, write_parquet
from jukimatch.engine.io import InputTable, read_table
from jukimatch.engine.model import Model, default_model, estimate_u, fit, unpack_patterns
from jukimatch.engine.reconcile.checkpoint import WorkDir, digests_in_background, fault_point
from jukimatch.engine.reconcile.decide import DECISIONS, Thresholds
from jukimatch.engine.reconcile.features import FIELDS, N_LEVELS
from jukimatch.engine.reconcile.merge import add_stats, merge_sorted, merged_blocks
from jukimatch.engine.reconcile.namesakes import poisson_bounds
from jukimatch.engine.reconcile.prepare import KEY
from jukimatch.engine.reconcile.tables import PartOutputs, TWIN_KEY, malformed_decisions, sample_persons, with_related
from jukimatch.engine.runtime import Timer, one_ahead

Progress = Callable[[str, int, int], None]  # (phase, done, total)
U_SAMPLE = 500_000  # random pairs for u
MIN_PAIRS_TO_FIT = 2_000  # fewer compared pairs than this: EM says nothing, use the shipped model
BACKENDS = ("local", "dask")
PROTECTED = ("decisions", "review", "pending")  # outputs that carry numbers or personal data


@dataclass
class Options:
    chunk_rows: int = 500_000  # resident rows per chunk
    u_sample: int = U_SAMPLE
    thresholds: Thresholds = field(default_factory=Thresholds)
    model: Model | None = None  # a saved model to reuse instead of fitting
    encoding: str | None = None
    report: bool = True
    progress: Progress | None = None
    backend: str = "local"  # "local" or "dask"
    scheduler: str | None = None  # dask: address of a running scheduler; None: a LocalCluster
    workers: int | None = None  # dask LocalCluster: worker processes (default: CPU count)
    partitions: int | None = None  # dask: hash partitions (default: 2 per worker)
    checkpoint: bool = True  # keep per-chunk results in OUT/.jukimatch-work until the run ends
    resume: bool = False  # reuse the chunk results of an interrupted run with the same inputs
    encrypt_key_file: str | Path | None = None  # write decisions, review and pending encrypted


def settings_of(opts: Options, partitions: int) -> dict:
    """What shapes the saved chunk results: a resume must use the same."""
    return {
        "chunk_rows": opts.chunk_rows,
        "u_sample": opts.u_sample if opts.model is None else None,
        "model": opts.model.to_dict() if opts.model is not None else None,
        "encoding": opts.encoding,
        "partitions": partitions,
        "fields": list(FIELDS),
        "chunk_keys": "namesakes-1",  # chunks carry the population keys
    }


def read_inputs(residents_path, responses_path, opts: Options, timer: Timer, while_reading=None):
    """Both inputs; ``while_reading(residents)`` runs on the residents while the responses
    are still being read (validation is mostly one thread; reading Parquet is not)."""
    paths = {"residents": Path(residents_path), "responses": Path(responses_path)}
    digests = digests_in_background({k: p for k, p in paths.items() if p.exists()}) if opts.checkpoint else None
    with timer.phase("read"):
        r_in: InputTable = read_table(residents_path, "residents", encoding=opts.encoding)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="jukimatch-read") as pool:
        s_future = pool.submit(read_table, responses_path, "responses", encoding=opts.encoding)
        early = None
        if while_reading is not None:
            with timer.phase("validate"):
                early = while_reading(r_in.table)
        with timer.phase("read"):
            s_in: InputTable = s_future.result()
    return r_in, s_in, paths, digests, early


def open_workdir(out: Path, paths: dict, digests, opts: Options, partitions: int) -> WorkDir | None:
    if not opts.checkpoint:
        return None
    return WorkDir(out, inputs=paths, digests={k: f.result() for k, f in digests.items()},
                   settings=settings_of(opts, partitions), resume=opts.resume)


def clear_summary(out: Path) -> None:
    """summary.json is written last: present means the outputs beside it are one finished run."""
    try:
        (out / "summary.json").unlink()
    except FileNotFoundError:
        pass


def wants_u_sample(opts: Options, n_pairs: int) -> bool:
    """Whether the random pairs that estimate u are worth comparing: only for a fit, and a fit
    needs :data:`MIN_PAIRS_TO_FIT` compared pairs (fewer: the shipped model, u unused)."""
    return opts.model is None and n_pairs >= MIN_PAIRS_TO_FIT


def fit_model(opts: Options, n_pairs: int, levels: np.ndarray | None, counts: np.ndarray | None,
              u_levels: np.ndarray) -> tuple[Model, str]:
    """The model to score with, and where it came from. ``counts``: summed pattern counts
    (partitioned runs) — EM then runs on them instead of on ``levels``."""
    if opts.model is not None:
        model = opts.model
        if list(model.fields) != list(FIELDS):
            raise ValueError(f"saved model compares {model.fields}, this engine {list(FIELDS)}")
        return model, "given"
    if n_pairs < MIN_PAIRS_TO_FIT:
        return default_model(), f"shipped default ({n_pairs} pairs are too few to fit)"
    u = estimate_u(u_levels, list(N_LEVELS))
    if counts is None:
        model = fit(levels, u, list(FIELDS), n_levels=list(N_LEVELS))
    else:
        distinct = np.flatnonzero(counts)
        model = fit(None, u, list(FIELDS), n_levels=list(N_LEVELS),
                    patterns=(unpack_patterns(distinct, len(FIELDS)), counts[distinct].astype(np.float64)))
    model.info["u_sample_pairs"] = int(len(u_levels))
    return model, "fitted"


class DecisionsWrite:
    """``decisions.parquet`` written on a thread of its own from the parts' decision rows:
    merged into input order block by block (the decisions are never whole in memory; the
    next block is merged, and noted in :attr:`kept`, while this one is encoded).

    :func:`finish` starts it, unless a backend started it already: the whole input in one
    part starts it as soon as its decision rows exist, and builds its review rows and counts
    while they are encoded (1M from CSV: a write phase of 0.35 s against 0.5). ``close``
    waits for the thread; what it raised is raised by :meth:`result`."""

    def __init__(self, out: Path, key: bytes | None, decisions: list[pa.Table], r_in: InputTable, n_in: int):
        """``n_in``: the residents in (counted apart from the decision rows: another count
        fails the write before the file is in place)."""
        tail = malformed_decisions(len(r_in.malformed))
        self.kept = _Kept()
        blocks = one_ahead(self.kept.keep(itertools.chain(
            merged_blocks(decisions, KEY, n_in - tail.num_rows), [tail]), n_in))
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jukimatch-write-decisions")
        self._job = self._pool.submit(write_parquet, blocks, out / "decisions.parquet", key, schema=tail.schema)

    def result(self) -> Path:
        return self._job.result()

    def close(self) -> None:
        self._pool.shutdown(wait=True)


def finish(out: Path, opts: Options, timer: Timer, t0: float, r_in: InputTable, s_in: InputTable,
           parts: list[PartOutputs], model: Model, source: str, key: bytes | None, store: WorkDir | None,
           sample: Callable[[np.ndarray], list[pa.Table]], run_info: dict,
           decisions: DecisionsWrite | None = None) -> dict:
    """Merge the parts' rows into input order, write every output atomically, build the summary."""
    with timer.phase("write"):
        n_in = sum(p.stats["residents"] for p in parts) + len(r_in.malformed)
        if decisions is None:
            decisions = DecisionsWrite(out, key, [p.decisions for p in parts], r_in, n_in)
        kept = decisions.kept
        written = {}
        try:
            # Arrow encodes and compresses without the GIL: the decisions (the largest) are
            # written from the start, the other three beside them as they are merged
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="jukimatch-write") as pool:
                jobs = {"decisions": decisions}
                review = with_related(merge_sorted([p.review for p in parts], ["__bare", KEY, "candidate_rank"]))
                pending = merge_sorted([p.pending for p in parts], [KEY])
                rejected = pa.concat_tables([
                    merge_sorted([p.rejected_residents for p in parts], [KEY]),
                    _malformed_table(r_in, "residents"),
                    merge_sorted([p.rejected_responses for p in parts], [KEY]),
                    _malformed_table(s_in, "responses"),
                ])
                jobs.update((name, pool.submit(write_parquet, table, out / f"{name}.parquet", key))
                            for name, table in (("review", review), ("pending", pending)))
                rejected_job = pool.submit(write_parquet, rejected, out / "rejected.parquet", None)
                for name, job in jobs.items():
                    path = job.result()
                    written[name] = path.name
                    # the other form of this output, left by an earlier run, must not outlive it
                    stale = out / f"{name}.parquet{SUFFIX}" if key is None else out / f"{name}.parquet"
                    if stale != path and stale.exists():
                        stale.unlink()
                    fault_point(f"write:{name}")
                written["rejected"] = rejected_job.result().name
        finally:
            decisions.close()
        if model is not None:
            atomic_write_bytes(out / "model.json", json.dumps(model.to_dict(), indent=2).encode())
            written["model"] = "model.json"
        fault_point("write:model")

    stats = parts[0].stats
    for p in parts[1:]:
        stats = add_stats(stats, p.stats)
    counts = {k: int(stats["decisions"].get(k, 0)) for k in DECISIONS}
    namesakes = run_info.pop("namesakes", None)
    n_pairs = int(stats["responses_compared"])
    summary = {
        "inputs": {"residents": str(r_in.path), "responses": str(s_in.path)},
        "rows": {
            "residents_in": n_in,
            "decisions_out": kept.rows,
            "responses_in": int(stats["responses"]) + len(s_in.malformed),
            "responses_compared": n_pairs,
            "responses_not_found": int(stats["responses_not_found"]),
            "responses_rejected": int(stats["responses_rejected"]) + len(s_in.malformed),
            "responses_set_aside": int(stats["responses_set_aside"]),  # answers to rejected residents
        },
        "decisions": counts,
        "reasons": {k: int(v) for k, v in stats["reasons"].items() if v},
        **risk_summary(stats.get("risk") or {}, opts.thresholds.max_risk),
        "namesakes": namesakes,
        "thresholds": opts.thresholds.to_dict(),
        "model": model.to_dict() if model is not None else None,
        "model_reused": opts.model is not None,
        "model_source": source,
        "run": run_info,
        "outputs": written,
        "encrypted": sorted(k for k in PROTECTED if key is not None),
        "timings_s": timer.phases,
    }
    rows = summary["rows"]
    rows["conserved"] = (
        rows["residents_in"] == rows["decisions_out"]
        and rows["responses_in"] == rows["responses_compared"] + rows["responses_not_found"]
        + rows["responses_rejected"] + rows["responses_set_aside"]
    )
    if opts.report:
        with timer.phase("report"):
            from jukimatch.engine.report.page import write_report

            chosen_global = sample_persons(kept.codes, kept.candidates)
            tables = sample(chosen_global)
            sample_table = pa.concat_tables(tables)
            if len(tables) > 1 and sample_table.num_rows:
                sample_table = sample_table.take(pa.compute.sort_indices(
                    sample_table, sort_keys=[(KEY, "ascending"), ("candidate_rank", "ascending")]))
            names = np.array(DECISIONS, dtype=object)
            sample_table = sample_table.append_column(
                "decision", pa.array(names[kept.codes[_sample_keys(sample_table)]], pa.string())
            ).drop_columns([KEY, "__bare", TWIN_KEY])
            levels = np.concatenate([p.levels for p in parts]) if len(parts) > 1 else parts[0].levels
            weight = np.concatenate([p.weight for p in parts]) if len(parts) > 1 else parts[0].weight
            pair_decision = np.concatenate([p.pair_decision for p in parts]) if len(parts) > 1 else parts[0].pair_decision
            decisions = pa.table({"decision": pa.DictionaryArray.from_arrays(kept.codes, pa.array(DECISIONS))})
            write_report(out / "report.html", summary=summary, decisions=decisions, review=review,
                         levels=levels, weight=weight, pair_decision=pair_decision if len(weight) else None,
                         model=model, sample=sample_table)
    summary["timings_s"] = timer.phases
    summary["timings_s"]["total"] = round(time.perf_counter() - t0, 4)
    atomic_write_bytes(out / "summary.json", json.dumps(summary, indent=2, ensure_ascii=False).encode())
    if store is not None:
        store.finish()
    return summary


class _Kept:
    """What the summary and the report need of the decisions as they stream to their file:
    the row count, each row's decision (an index into ``DECISIONS``) and candidate count."""

    def __init__(self):
        self.rows = 0
        self.codes = np.zeros(0, np.int8)
        self.candidates = np.zeros(0, np.int64)

    def keep(self, blocks, n_in: int):
        """``blocks`` (tables) passed through, noted on the way; a count other than ``n_in``
        fails the write before the file is in place."""
        codes, candidates = [], []
        for block in blocks:
            self.rows += block.num_rows
            codes.append(pa.compute.index_in(block.column("decision"), pa.array(DECISIONS))
                         .to_numpy(zero_copy_only=False).astype(np.int8))
            candidates.append(block.column("candidates").to_numpy(zero_copy_only=False))
            yield block
        if self.rows != n_in:
            raise RuntimeError(f"rows lost: {n_in} residents in, {self.rows} decisions out")
        self.codes, self.candidates = np.concatenate(codes), np.concatenate(candidates)


def namesake_info(rates, pop) -> dict:
    """The rates the namesake risk rested on, for summary.json."""
    return {**rates.to_dict(), **pop.info}


def risk_summary(risk: dict, max_risk: float) -> dict:
    """``expected_wrong_numbers`` among the run's matches, with a 95 % interval (the rates'
    bounds, then Poisson), and ``risk_curve``: for budgets from 1e-15 to 1, the matches,
    the reviews they add over the loosest budget and the wrong numbers to expect."""
    if not risk:
        return {"expected_wrong_numbers": None, "risk_curve": []}
    low, high = poisson_bounds(risk["expected_low"], risk["expected_high"])
    bins = sorted(((int(k), v) for k, v in risk["bins"].items()))
    total = sum(v["persons"] for _, v in bins)
    curve, persons, expected = [], 0, 0.0
    for b in range(-15, 1):
        for k, v in bins:
            if k == b:
                persons += v["persons"]
                expected += v["risk"]
        curve.append({"max_risk": 10.0 ** b, "matches": persons, "review_added": total - persons,
                      "expected_wrong_numbers": expected})
    return {"expected_wrong_numbers": {"mean": risk["expected"], "low": low, "high": high,
                                       "matches": risk["matches"], "max_risk": max_risk},
            "risk_curve": curve}


def _sample_keys(table: pa.Table) -> np.ndarray:
    return table.column("__g").to_numpy(zero_copy_only=False).astype(np.int64)


def _malformed_table(inp: InputTable, kind: str) -> pa.Table:
    rows = [r for r, _ in inp.malformed]
    errs = [e for _, e in inp.malformed]
    return pa.table({
        "source": pa.array([str(inp.path)] * len(rows), pa.string()),
        "table": pa.array([kind] * len(rows), pa.string()),
        "row": pa.array(rows, pa.int64()),
        "person_id": pa.nulls(len(rows), pa.string()),
        "field": pa.array(["row"] * len(rows), pa.string()),
        "error": pa.array([f"row:{e}" for e in errs], pa.string()),
    })


__all__ = ["BACKENDS", "DecisionsWrite", "Options", "finish", "fit_model", "read_inputs"]
