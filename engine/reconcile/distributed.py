"""The Dask backend: the reconciliation over hash partitions on a ``dask.distributed`` cluster.

The driver reads both inputs (as the local backend does: the same parsing, the same row
numbers, the same quarantine of unparseable lines), splits them by a hash of person_id
(:mod:`jukimatch.engine.reconcile.partition`) and sends one partition to each task. The partitions
stay on their workers from stage to stage (Dask futures); only small things travel:

1. *prepare* (validate, link) → compared pairs per resident row, for the global u plan;
2. *compare* (chunks saved in the work folder for ``resume``) → pattern counts and the
   partition's sides of the u-sample pairs; the driver runs one EM on the summed counts;
3. *decide, first pass* → the numbers the partition's plausible persons would be given
   and the numbers its persons hold, split into buckets by number; one task per bucket
   resolves the conflicts across partitions into stand-in persons;
4. *decide, final* with the stand-ins → output rows with sort keys; the driver merges them
   into input order and writes the same files as the local backend.

Decisions are identical to the local backend's. ``dask`` is imported here only, when the
backend is asked for. With ``scheduler`` (a running cluster's address), the work folder
``OUT/.jukimatch-work`` must be on storage the workers share with the driver.
"""
from __future__ import annotations

import logging
import os
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from jukimatch.engine.files.crypt import load_key, read_parquet, write_parquet
from jukimatch.engine.io import InputError
from jukimatch.engine.reconcile.chunks import compare_chunks, pattern_counts, plan_u_sample, u_levels_from_exports
from jukimatch.engine.reconcile.common import Options, clear_summary, finish, fit_model, namesake_info, open_workdir, read_inputs
from jukimatch.engine.reconcile.namesakes import PopulationInputs, population
from jukimatch.engine.reconcile.partition import bucket_report, localize_plan, partition_of, resolve_numbers, split_rows
from jukimatch.engine.reconcile.prepare import prepare
from jukimatch.engine.reconcile.score import (
    CandidateUnits, Phantoms, candidate_units, number_report, population_inputs, rates_from, score_and_decide,
    with_rates,
)
from jukimatch.engine.reconcile.tables import part_outputs, side_by_side
from jukimatch.engine.runtime import Timer


SCHEDULER_TIMEOUT_S = 15


def _import_dask():
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise ImportError("the dask backend needs dask.distributed: pip install 'jukimatch[dask]'") from None
    return Client, LocalCluster


@contextmanager
def client_for(opts: Options):
    """A client of the given scheduler, or of a LocalCluster of ``opts.workers`` processes."""
    Client, LocalCluster = _import_dask()
    if opts.scheduler:
        try:
            client = Client(opts.scheduler, timeout=SCHEDULER_TIMEOUT_S)
        except (OSError, TimeoutError) as exc:
            raise InputError(f"dask scheduler {opts.scheduler}: cannot connect ({type(exc).__name__})") from None
        try:
            yield client
        finally:
            client.close()
        return
    cpus = os.cpu_count() or 1
    n = opts.workers or cpus
    # One task thread per worker; the Numba kernels inside share the cores between workers.
    threads = max(1, cpus // n)
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0",
                           silence_logs=logging.ERROR,
                           env={"NUMBA_NUM_THREADS": str(threads)})
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


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


def _prepare(rows: Sealed, r_global, s_global) -> Sealed:
    """``rows``: the partition's (residents, responses) tables, or the paths of their files in
    the work folder with the key they are encrypted with (None: plain)."""
    R, S, *key = rows.value
    if isinstance(R, Path):
        R, S = read_parquet(R, key[0]), read_parquet(S, key[0])
    return Sealed(prepare(R, S, r_global, s_global))


def _split_to_files(root: Path, R, S, r_rows, s_rows, key: bytes | None) -> list[Sealed]:
    """Write each partition's rows to the work folder; the tasks read them from there, so the
    driver keeps no copy and a rerun after a lost worker reads the file again."""
    folder = root / "input"
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for p in range(len(r_rows)):
        r = write_parquet(R.take(r_rows[p]), folder / f"part{p:04d}-residents.parquet", key)
        s = write_parquet(S.take(s_rows[p]), folder / f"part{p:04d}-responses.parquet", key)
        out.append(Sealed((r, s, key)))
    return out


def _counts(prep: Sealed):
    return prep.value.pair_counts()


def _compare(prep: Sealed, plan, chunk_rows, store, part) -> Sealed:
    return Sealed(compare_chunks(prep.value, plan, chunk_rows=chunk_rows, store=store, part=part))


def _compare_summary(comp: Sealed) -> Sealed:
    c = comp.value
    res, pair = c.exports()
    return Sealed((pattern_counts(c.levels), len(c.levels), c.u_levels, res, pair, c.reused_chunks))


def _population_inputs(prep: Sealed, comp: Sealed) -> Sealed:
    return Sealed(population_inputs(prep.value, comp.value))


def _units(prep: Sealed, comp: Sealed, model, th, pop: Sealed) -> Sealed:
    return Sealed(candidate_units(prep.value, comp.value, model, th, pop.value))


def _first_pass(prep: Sealed, comp: Sealed, model, th, n_buckets, pop: Sealed, rates) -> Sealed:
    d, pairs = score_and_decide(prep.value, comp.value, model, th, pop=pop.value, rates=rates)
    return Sealed(bucket_report(number_report(prep.value, pairs, d, th), n_buckets))


def _bucket(report: Sealed, b: int) -> Sealed:
    return Sealed(report.value[b])


def _resolve(*reports: Sealed) -> Sealed:
    return Sealed(resolve_numbers([r.value for r in reports]))


def _final_decide(prep: Sealed, comp: Sealed, model, th, part, pop: Sealed, rates, *bucket_results: Sealed) -> Sealed:
    phantoms = Phantoms.concat([b.value[part] for b in bucket_results])
    return Sealed(score_and_decide(prep.value, comp.value, model, th, phantoms, pop=pop.value, rates=rates))


def _outputs(prep: Sealed, comp: Sealed, decided: Sealed, model, sources, report, pop: Sealed, rates, th) -> Sealed:
    d, pairs = decided.value
    return Sealed(part_outputs(prep.value, d, pairs, comp.value.levels, model, sources, report=report,
                               pop=pop.value, rates=rates, th=th))


def _sample(prep: Sealed, comp: Sealed, decided: Sealed, model, global_rows, pop: Sealed) -> Sealed:
    p, d, pairs = prep.value, decided.value[0], decided.value[1]
    local = np.searchsorted(p.r_global, global_rows)
    return Sealed(side_by_side(p.R, p.S, d, pairs, p.pair_resp, comp.value.levels, model, local, keys=p.r_global,
                               twin_group=pop.value.group))


def _open(futures, client) -> list:
    return [x.value for x in client.gather(futures)]


def run_dask(residents_path: str | Path, responses_path: str | Path, out_dir: str | Path, opts: Options) -> dict:
    """:func:`jukimatch.engine.reconcile.pipeline.run` on a Dask cluster (see the module's docstring)."""
    _import_dask()
    timer = Timer()
    t0 = time.perf_counter()
    out = Path(out_dir)
    key = load_key(opts.encrypt_key_file) if opts.encrypt_key_file else None
    r_in, s_in, paths, digests, _ = read_inputs(residents_path, responses_path, opts, timer)
    R, S = r_in.table, s_in.table
    th = opts.thresholds
    with client_for(opts) as client:
        n_workers = max(1, len(client.scheduler_info().get("workers", {})))
        n_parts = opts.partitions or 2 * n_workers
        with timer.phase("partition"):
            r_part = partition_of(R.column("person_id"), n_parts)
            s_part = partition_of(S.column("person_id"), n_parts)
            r_rows, s_rows = split_rows(r_part, n_parts), split_rows(s_part, n_parts)
            out.mkdir(parents=True, exist_ok=True)
            store = open_workdir(out, paths, digests, opts, partitions=n_parts)
            clear_summary(out)
            if store is not None:
                pieces = _split_to_files(store.root, R, S, r_rows, s_rows, key)
            else:
                pieces = [Sealed((R.take(r_rows[p]), S.take(s_rows[p]))) for p in range(n_parts)]
            n_res = R.num_rows
            # the driver keeps what the outputs need of the inputs, not their rows
            r_in, s_in = r_in._replace(table=R.schema.empty_table()), s_in._replace(table=S.schema.empty_table())
            del R, S
        with timer.phase("validate"):
            # partitions dealt round-robin, so that each worker holds its share of the state
            # (a lost worker's partitions may still go elsewhere)
            addrs = sorted(client.scheduler_info().get("workers", {}))
            prep_f = [client.submit(_prepare, piece, r_rows[p], s_rows[p], pure=False,
                                    workers=[addrs[p % len(addrs)]] if addrs else None, allow_other_workers=True)
                      for p, piece in enumerate(pieces)]
            del pieces
            counts = np.zeros(n_res, dtype=np.int32)
            for p, c in enumerate(client.gather([client.submit(_counts, f) for f in prep_f])):
                counts[r_rows[p]] = c
        plans = [None] * n_parts
        if opts.model is None:
            plan = plan_u_sample(counts, opts.chunk_rows, opts.u_sample)
            plans = localize_plan(plan, counts, r_part, r_rows)
        with timer.phase("compare"):
            comp_f = [client.submit(_compare, prep_f[p], plans[p], opts.chunk_rows, store, p, pure=False)
                      for p in range(n_parts)]
            summaries = []
            for i, s in enumerate(_open([client.submit(_compare_summary, c) for c in comp_f], client)):
                summaries.append(s)
                if opts.progress:
                    opts.progress("compare", i + 1, n_parts)
        if store is not None:
            store.mark("compared")
        with timer.phase("fit"):
            n_pairs = sum(s[1] for s in summaries)
            pat = np.sum([s[0] for s in summaries], axis=0)
            u_local = [s[2] for s in summaries]
            u_cross = u_levels_from_exports([s[3] for s in summaries], [s[4] for s in summaries])
            u = np.concatenate(u_local + [u_cross])
            model, source = fit_model(opts, n_pairs, None, pat, u)
            reused = sum(s[5] for s in summaries)
            del summaries
        if store is not None:
            store.mark("fitted")
        with timer.phase("population"):
            # the population is the whole run's: names, places and duplicates cross partitions
            inputs = _open([client.submit(_population_inputs, prep_f[p], comp_f[p]) for p in range(n_parts)], client)
            pop_all = population(PopulationInputs.concat(inputs))
            ends = np.cumsum([len(x.rows) for x in inputs])
            del inputs
            pop_f = [client.scatter(Sealed(pop_all.take(slice(int(ends[p] - len(r_rows[p])), int(ends[p])))))
                     for p in range(n_parts)]
            units = _open([client.submit(_units, prep_f[p], comp_f[p], model, th, pop_f[p]) for p in range(n_parts)],
                          client)
            rates = rates_from(CandidateUnits.concat(units), model, pop_all, given=opts.model)
            model = with_rates(model, rates)
            del units
        with timer.phase("decide"):
            n_buckets = n_parts
            rep_f = [client.submit(_first_pass, prep_f[p], comp_f[p], model, th, n_buckets, pop_f[p], rates)
                     for p in range(n_parts)]
            bucket_f = [client.submit(_resolve, *[client.submit(_bucket, r, b) for r in rep_f])
                        for b in range(n_buckets)]
            dec_f = [client.submit(_final_decide, prep_f[p], comp_f[p], model, th, p, pop_f[p], rates, *bucket_f)
                     for p in range(n_parts)]
            out_f = [client.submit(_outputs, prep_f[p], comp_f[p], dec_f[p], model, (r_in.path, s_in.path),
                                   opts.report, pop_f[p], rates, th) for p in range(n_parts)]
            parts = _open(out_f, client)
        if store is not None:
            store.mark("decided")

        def sample(chosen: np.ndarray):
            chosen = np.sort(chosen)
            futs = [client.submit(_sample, prep_f[p], comp_f[p], dec_f[p], model, chosen[r_part[chosen] == p],
                                  pop_f[p]) for p in range(n_parts)]
            return _open(futs, client)

        info = {"backend": "dask", "scheduler": opts.scheduler or "LocalCluster", "workers": n_workers,
                "partitions": n_parts, "resumed": bool(store and store.resumed), "chunks_reused": int(reused),
                "namesakes": namesake_info(rates, pop_all)}
        return finish(out, opts, timer, t0, r_in, s_in, parts, model, source, key, store, sample, info)


__all__ = ["Sealed", "client_for", "run_dask"]
