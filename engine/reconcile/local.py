"""The local backend: the whole input in this process, the stages in order over bounded chunks.

Comparison runs over bounded chunks of resident rows; what is kept across chunks is
compact: 6 bytes of levels and a few numbers per pair. Each finished chunk is saved
atomically in ``OUT/.jukimatch-work`` with a manifest naming the inputs by content hash, so a
run killed at any moment can be resumed (``Options.resume``) and ends with the same outputs.
The model is fitted once over all pairs' level patterns.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pyarrow as pa

from jukimatch.engine.files.crypt import load_key
from jukimatch.engine.memory import release_above
from jukimatch.engine.reconcile.chunks import PartPlan, compare_chunks, plan_u_sample
from jukimatch.engine.reconcile.common import (
    DecisionsWrite, Options, clear_summary, finish, fit_model, namesake_info, open_workdir, read_inputs,
    wants_u_sample,
)
from jukimatch.engine.reconcile.namesakes import population
from jukimatch.engine.reconcile.prepare import prepare
from jukimatch.engine.reconcile.score import (
    candidate_units, population_inputs, rates_from, score_and_decide, with_rates,
)
from jukimatch.engine.reconcile.tables import part_decisions, part_outputs, side_by_side
from jukimatch.engine.runtime import Timer
from jukimatch.engine.validate.rows import check_residents


def run_local(residents_path: str | Path, responses_path: str | Path, out_dir: str | Path, opts: Options) -> dict:
    """The reconciliation over the whole input in this process (see the module docstring)."""
    timer = Timer()
    t0 = time.perf_counter()
    out = Path(out_dir)
    key = load_key(opts.encrypt_key_file) if opts.encrypt_key_file else None
    r_in, s_in, paths, digests, rcheck = read_inputs(residents_path, responses_path, opts, timer, check_residents)
    R, S = r_in.table, s_in.table

    with timer.phase("validate"):
        prep = prepare(R, S, rcheck=rcheck)
    release_above()
    out.mkdir(parents=True, exist_ok=True)
    store = open_workdir(out, paths, digests, opts, partitions=1)
    clear_summary(out)

    plan = None
    if wants_u_sample(opts, len(prep.pair_res)):
        plan = PartPlan.whole(plan_u_sample(prep.pair_counts(), opts.chunk_rows, opts.u_sample))
    comp = compare_chunks(prep, plan, chunk_rows=opts.chunk_rows, store=store, timer=timer, progress=opts.progress)
    release_above()
    if store is not None:
        store.mark("compared")

    with timer.phase("fit"):
        model, source = fit_model(opts, len(comp.levels), comp.levels, None, comp.u_levels)
    if store is not None:
        store.mark("fitted")

    th = opts.thresholds
    with timer.phase("population"):
        pop = population(population_inputs(prep, comp))
        rates = rates_from(candidate_units(prep, comp, model, th, pop), model, pop, given=opts.model)
        model = with_rates(model, rates)
    with timer.phase("decide"):
        d, pairs = score_and_decide(prep, comp, model, th, pop=pop, rates=rates)
    with timer.phase("write"):
        # the decisions are encoded while the other rows and the counts are made
        dec = part_decisions(prep, d)
        decisions = DecisionsWrite(out, key, [dec], r_in, R.num_rows + len(r_in.malformed))
        try:
            parts = [part_outputs(prep, d, pairs, comp.levels, model, (r_in.path, s_in.path), report=opts.report,
                                  pop=pop, rates=rates, th=th, decisions=dec)]
        except BaseException:
            decisions.close()
            raise

    def sample(chosen: np.ndarray) -> list[pa.Table]:
        return [side_by_side(R, S, d, pairs, prep.pair_resp, comp.levels, model, chosen, keys=prep.r_global,
                             twin_group=pop.group)]

    info = {"backend": "local", "partitions": 1, "resumed": bool(store and store.resumed),
            "chunks_reused": comp.reused_chunks, "namesakes": namesake_info(rates, pop)}
    return finish(out, opts, timer, t0, r_in, s_in, parts, model, source, key, store, sample, info, decisions)


__all__ = ["run_local"]
