"""A reconciliation over hash partitions: the stages as tasks, on any :class:`Runner`.

The Dask backend (:mod:`.distributed`) runs the tasks on a cluster; the local backend with
partitions (:mod:`.inturn`) runs them one after another in this process and parks each
result on disk. The driver, :func:`run_parts`, is the same for both: partitions stay where
their runner keeps them from stage to stage, and only small things reach the driver:

1. *prepare* (validate, link) → compared pairs per resident row, for the global u plan;
2. *compare* (saved in the work folder for ``resume``: chunk by chunk, or each partition
   whole where the runner keeps results in files) → pattern counts and the
   partition's sides of the u-sample pairs; the driver runs one EM on the summed counts;
3. *population*: the run's names, places and duplicates, from every partition's keys;
4. *decide, first pass* → the numbers the partition's plausible persons would be given
   and the numbers its persons hold, split into buckets by number; one task per bucket
   resolves the conflicts across partitions into stand-in persons
   (:mod:`.partition`);
5. *decide, final* with the stand-ins → output rows with sort keys, which
   :func:`~jukimatch.engine.reconcile.common.finish` merges into input order.

Decisions are identical to those of the whole input in one part.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, NamedTuple, Protocol

import numpy as np

from jukimatch.engine.memory import release_above, release_unused
from jukimatch.engine.reconcile.chunks import compare_chunks, pattern_counts, plan_u_sample, u_levels_from_exports
from jukimatch.engine.reconcile.common import Options, finish, fit_model, namesake_info, wants_u_sample
from jukimatch.engine.reconcile.namesakes import PopulationInputs, population
from jukimatch.engine.reconcile.partition import bucket_report, localize_plan, resolve_numbers
from jukimatch.engine.reconcile.prepare import prepare
from jukimatch.engine.reconcile.score import (
    CandidateUnits, Phantoms, candidate_units, population_inputs, rates_from, score_and_decide, score_and_report,
    with_rates,
)
from jukimatch.engine.reconcile.tables import part_outputs, side_by_side


class Runner(Protocol):
    """Where the tasks run. A reference is whatever ``submit`` returns; it may be passed to
    later tasks as an argument, which then receive the value."""

    def submit(self, fn: Callable, *args: Any, part: int | None = None) -> Any:
        """Run ``fn(*args)`` (``part``: the partition it works on, a placement hint)."""

    def scatter(self, value: Any) -> Any:
        """A reference to ``value``, for tasks to take."""

    def each(self, fn: Callable, calls: list[tuple]) -> Iterator[Any]:
        """The values of ``fn(*calls[p])`` for each partition p, in order, :class:`Sealed`
        ones opened: results the driver takes at once, never kept where the runner keeps
        partitions."""

    #: whether results live in files: then a partition's comparison is kept whole (:meth:`keep`)
    #: rather than saved chunk by chunk by its task
    keeps_files: bool

    def keep(self, path: Path, fn: Callable, *args: Any, part: int) -> tuple[Any, bool]:
        """``submit(fn, *args)`` with the result kept at ``path`` where a resumed run finds it
        and takes it instead; (reference, whether it was found). Only where :attr:`keeps_files`."""

    def gather(self, fn: Callable, calls: list[tuple], into: Callable[[int, Any], None]) -> None:
        """``into(p, value)`` with the value of ``fn(*calls[p])`` for each partition p,
        :class:`Sealed` ones opened, perhaps on the runner's threads, several at once (for
        different p). The value may be a view of where the runner keeps partitions, good only
        during the call: ``into`` copies what it keeps, and no value is copied to reach it."""

    def discard(self) -> None:
        """No task will run again: what the runner keeps of the partitions may go (perhaps
        while the driver goes on)."""


# -- tasks (module-level functions: picklable by reference) ------------------------------
#
# Dask logs the arguments of a task that fails. Everything that carries rows, names or
# numbers travels in a Sealed box whose repr shows only its type: no number reaches a log.


class Sealed:
    """Task data whose repr never shows its contents."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value

    def __repr__(self) -> str:
        return f"<sealed {type(self.value).__name__}>"

    def __reduce__(self):
        return Sealed, (self.value,)


def _prepare(rows: Sealed, r_global, s_global) -> Sealed:
    """``rows``: the partition's (residents, responses) tables, or something whose
    ``tables()`` reads them (:class:`~jukimatch.engine.reconcile.split.TurnPart`)."""
    value = rows.value
    R, S = value.tables() if hasattr(value, "tables") else value
    return Sealed(prepare(R, S, r_global, s_global))


def _counts(prep: Sealed):
    return prep.value.pair_counts()


def _compare(prep: Sealed, plan, chunk_rows, store, part) -> Sealed:
    return Sealed(compare_chunks(prep.value, plan, chunk_rows=chunk_rows, store=store, part=part))


class CompareSummary(NamedTuple):
    """What the fit needs of a partition's comparison, and what a resumed run reports of it."""

    patterns: np.ndarray  # count per level pattern
    pairs: int
    u_levels: np.ndarray  # the u sample's pairs compared inside the partition
    res_exports: Any  # the sample's sides to compare across partitions (``Compared.exports``)
    pair_exports: Any
    reused_chunks: int  # chunks a resumed run took from the checkpoint
    chunks: int


def _compare_summary(comp: Sealed) -> Sealed:
    c = comp.value
    res, pair = c.exports()
    return Sealed(CompareSummary(pattern_counts(c.levels), len(c.levels), c.u_levels, res, pair, c.reused_chunks,
                                 c.chunks))


def _population_inputs(prep: Sealed, comp: Sealed) -> Sealed:
    return Sealed(population_inputs(prep.value, comp.value))


def _units(prep: Sealed, comp: Sealed, model, th, pop: Sealed) -> Sealed:
    return Sealed(candidate_units(prep.value, comp.value, model, th, pop.value))


def _first_pass(prep: Sealed, comp: Sealed, model, th, n_buckets, pop: Sealed, rates) -> Sealed:
    return Sealed(bucket_report(score_and_report(prep.value, comp.value, model, th, pop.value, rates), n_buckets))


def _bucket(report: Sealed, b: int) -> Sealed:
    return Sealed(report.value[b])


def _resolve(*reports: Sealed) -> Sealed:
    return Sealed(resolve_numbers([r.value for r in reports]))


def _decided(prep: Sealed, comp: Sealed, model, th, part, pop: Sealed, rates, bucket_results: tuple[Sealed, ...]):
    """The partition decided with the stand-ins of its persons' numbers from every bucket.

    Not parked between the tasks that need it: a partition's pairs and decisions were
    ~100 MB to write and map back per 1M residents (1.5 of the ~10 CPU-s of a 10M run's
    decide phase). The outputs decide once; the report's sample, when there is one, again."""
    phantoms = Phantoms.concat([b.value[part] for b in bucket_results])
    return score_and_decide(prep.value, comp.value, model, th, phantoms, pop=pop.value, rates=rates)


def _outputs(prep: Sealed, comp: Sealed, model, th, part, sources, report, pop: Sealed, rates,
             *bucket_results: Sealed) -> Sealed:
    d, pairs = _decided(prep, comp, model, th, part, pop, rates, bucket_results)
    # what deciding freed, handed back above the line before the tables are built: the
    # driver holds the parts' outputs by now, and two of these run side by side
    release_above()
    return Sealed(part_outputs(prep.value, d, pairs, comp.value.levels, model, sources, report=report,
                               pop=pop.value, rates=rates, th=th))


def _sample(prep: Sealed, comp: Sealed, model, th, part, global_rows, pop: Sealed, rates,
            *bucket_results: Sealed) -> Sealed:
    p = prep.value
    d, pairs = _decided(prep, comp, model, th, part, pop, rates, bucket_results)
    local = np.searchsorted(p.r_global, global_rows)
    return Sealed(side_by_side(p.R, p.S, d, pairs, p.pair_resp, comp.value.levels, model, local, keys=p.r_global,
                               twin_group=pop.value.group))


#: Tasks a runner may run two at a time, two partitions side by side (the local runner in
#: turn does): mostly single-threaded work (numpy, Arrow, serial kernels) that leaves the
#: other core idle; comparison's pair kernels spread over the cores themselves, yet leave
#: one idle a third of the time (its normalisers, the steps between kernels). None of these
#: may call a parallel (``prange``) kernel: Numba's workqueue layer, where no OpenMP or TBB
#: is installed, aborts the process when two threads launch one at once.
SIDE_BY_SIDE = frozenset({_prepare, _compare, _population_inputs, _units, _first_pass, _bucket, _resolve, _outputs,
                          _sample})


@dataclass
class Split:
    """The input as partitions: where each partition's rows are, and which rows they are."""

    pieces: list[Sealed]  # per partition: its tables, or how to read them (``_prepare``)
    r_rows: list[np.ndarray]  # per partition: its rows' indices in the whole residents table (ascending)
    s_rows: list[np.ndarray]
    r_part: np.ndarray  # per whole-table resident row: its partition
    n_res: int


def run_parts(runner: Runner, split: Split, *, out: Path, opts: Options, timer, t0: float, r_in, s_in, store,
              key: bytes | None, run_info: dict) -> dict:
    """The stages over ``split``'s partitions on ``runner``; then :func:`finish`."""
    th = opts.thresholds
    n_parts = len(split.pieces)
    r_rows, s_rows = split.r_rows, split.s_rows
    with timer.phase("validate"):
        prep_f = [runner.submit(_prepare, piece, r_rows[p], s_rows[p], part=p) for p, piece in enumerate(split.pieces)]
        split.pieces = []
        counts = np.zeros(split.n_res, dtype=np.int32)
        for p, c in enumerate(runner.each(_counts, [(f,) for f in prep_f])):
            counts[r_rows[p]] = c
    plans = [None] * n_parts
    if wants_u_sample(opts, int(counts.sum())):
        plan = plan_u_sample(counts, opts.chunk_rows, opts.u_sample)
        plans = localize_plan(plan, counts, split.r_part, r_rows)
    del counts
    with timer.phase("compare"):
        if store is not None and runner.keeps_files:  # one file per partition, not one per chunk
            kept = [runner.keep(store.part_path(p, "compared"), _compare, prep_f[p], plans[p], opts.chunk_rows,
                                None, p, part=p) for p in range(n_parts)]
            comp_f, found = [ref for ref, _ in kept], [hit for _, hit in kept]
        else:
            comp_f = [runner.submit(_compare, prep_f[p], plans[p], opts.chunk_rows, store, p, part=p)
                      for p in range(n_parts)]
            found = [False] * n_parts
        summaries = []
        for i, s in enumerate(runner.each(_compare_summary, [(c,) for c in comp_f])):
            summaries.append(s)
            if opts.progress:
                opts.progress("compare", i + 1, n_parts)
    if store is not None:
        store.mark("compared")
    with timer.phase("fit"):
        pairs = [s.pairs for s in summaries]
        n_pairs = sum(pairs)
        pat = np.sum([s.patterns for s in summaries], axis=0)
        u_cross = u_levels_from_exports([s.res_exports for s in summaries], [s.pair_exports for s in summaries])
        u = np.concatenate([s.u_levels for s in summaries] + [u_cross])
        model, source = fit_model(opts, n_pairs, None, pat, u)
        # a partition kept whole and found again counts every one of its chunks as reused
        reused = sum(s.chunks if hit else s.reused_chunks for s, hit in zip(summaries, found))
        del summaries
    if store is not None:
        store.mark("fitted")
    with timer.phase("population"):
        # the population is the whole run's: names, places and duplicates cross partitions
        # the partitions' rows one after another, each part's put in place where it is made
        at = np.cumsum([0] + [len(r) for r in r_rows])
        answer_at = np.cumsum([0] + pairs)
        whole = PopulationInputs.empty(split.n_res, int(answer_at[-1]))
        runner.gather(_population_inputs, [(prep_f[p], comp_f[p]) for p in range(n_parts)],
                      lambda p, part: whole.put(slice(at[p], at[p + 1]), slice(answer_at[p], answer_at[p + 1]), part))
        # the heap handed back before and after population(), the run's peak: what the parts'
        # inputs left free is fragmented (a trim here lowers the 10M peak by a tenth)
        release_unused()
        pop_all = population(whole, consume=True)
        del whole
        release_unused()
        pop_f = [runner.scatter(Sealed(pop_all.take(slice(at[p], at[p + 1])))) for p in range(n_parts)]
        units = list(runner.each(_units, [(prep_f[p], comp_f[p], model, th, pop_f[p]) for p in range(n_parts)]))
        rates = rates_from(CandidateUnits.concat(units), model, pop_all, given=opts.model)
        model = with_rates(model, rates)
        info = namesake_info(rates, pop_all)
        del units, pop_all
    with timer.phase("decide"):
        n_buckets = n_parts
        rep_f = [runner.submit(_first_pass, prep_f[p], comp_f[p], model, th, n_buckets, pop_f[p], rates, part=p)
                 for p in range(n_parts)]
        bucket_f = [runner.submit(_resolve, *[runner.submit(_bucket, r, b) for r in rep_f]) for b in range(n_buckets)]
        del rep_f
        sources = (r_in.path, s_in.path)
        parts = list(runner.each(_outputs, [(prep_f[p], comp_f[p], model, th, p, sources, opts.report, pop_f[p], rates,
                                             *bucket_f) for p in range(n_parts)]))
    if not opts.report:  # no sample to take: the partitions go while the outputs are written
        runner.discard()
    if store is not None:
        store.mark("decided")

    def sample(chosen: np.ndarray):
        chosen = np.sort(chosen)
        tables = list(runner.each(_sample, [(prep_f[p], comp_f[p], model, th, p, chosen[split.r_part[chosen] == p],
                                             pop_f[p], rates, *bucket_f) for p in range(n_parts)]))
        runner.discard()
        return tables

    info = {**run_info, "partitions": n_parts, "resumed": bool(store and store.resumed), "chunks_reused": int(reused),
            "namesakes": info}
    return finish(out, opts, timer, t0, r_in, s_in, parts, model, source, key, store, sample, info)


__all__ = ["Runner", "SIDE_BY_SIDE", "Sealed", "Split", "run_parts"]
