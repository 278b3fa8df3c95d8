"""The Dask backend: the reconciliation over hash partitions on a ``dask.distributed`` cluster.

The driver splits both inputs into partition files in the work folder as it reads them
(:mod:`.split`: the same parsing, row numbers and quarantine of unparseable lines as the
local backend), and runs the stages of :mod:`.parts` as Dask tasks, one partition each.
The partitions stay on their workers from stage to stage (Dask futures); only small things
travel. Decisions are identical to the local backend's. ``dask`` is imported here only,
when the backend is asked for. With ``scheduler`` (a running cluster's address), the work
folder ``OUT/.jukimatch-work`` must be on storage the workers share with the driver;
without a work folder (no checkpoint) the driver reads both inputs whole and sends each
partition's rows to its worker.
"""
from __future__ import annotations

import logging
import os
import time
from contextlib import contextmanager
from pathlib import Path

from jukimatch.engine.files.crypt import load_key
from jukimatch.engine.io import InputError, TableStream
from jukimatch.engine.reconcile.checkpoint import digests_in_background
from jukimatch.engine.reconcile.common import Options, clear_summary, open_workdir, read_inputs
from jukimatch.engine.reconcile.partition import partition_of, split_rows
from jukimatch.engine.reconcile.parts import Sealed, Split, run_parts
from jukimatch.engine.reconcile.split import split_inputs
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


class DaskRunner:
    """:class:`~jukimatch.engine.reconcile.parts.Runner` on a Dask client: each partition's
    tasks on one worker, dealt round-robin (a lost worker's partitions may go elsewhere)."""

    keeps_files = False  # results live in workers' memory: a comparison's task saves its chunks

    def __init__(self, client):
        self.client = client
        self.addrs = sorted(client.scheduler_info().get("workers", {}))

    def submit(self, fn, *args, part=None):
        if part is None or not self.addrs:
            return self.client.submit(fn, *args, pure=False)
        return self.client.submit(fn, *args, pure=False, workers=[self.addrs[part % len(self.addrs)]],
                                  allow_other_workers=True)

    def scatter(self, value):
        return self.client.scatter(value)

    def each(self, fn, calls):
        futures = [self.submit(fn, *args, part=p) for p, args in enumerate(calls)]
        for f in futures:
            v = f.result()
            yield v.value if isinstance(v, Sealed) else v

    def gather(self, fn, calls, into):
        for p, value in enumerate(self.each(fn, calls)):
            into(p, value)

    def discard(self):
        pass  # the workers' results go with their futures, and the cluster with the run


def run_dask(residents_path: str | Path, responses_path: str | Path, out_dir: str | Path, opts: Options) -> dict:
    """:func:`jukimatch.engine.reconcile.pipeline.run` on a Dask cluster (see the module's docstring)."""
    _import_dask()
    timer = Timer()
    t0 = time.perf_counter()
    out = Path(out_dir)
    key = load_key(opts.encrypt_key_file) if opts.encrypt_key_file else None
    paths = {"residents": Path(residents_path), "responses": Path(responses_path)}
    for kind, path in paths.items():
        TableStream(path, kind)  # a missing or unknown file: its one-line error before a cluster starts
    with client_for(opts) as client:
        n_workers = max(1, len(client.scheduler_info().get("workers", {})))
        n_parts = opts.partitions or 2 * n_workers
        out.mkdir(parents=True, exist_ok=True)
        if opts.checkpoint:
            # Split while reading, into the work folder the workers share: the driver never
            # holds a whole input, and a rerun after a lost worker reads the file again.
            digests = digests_in_background({k: v for k, v in paths.items() if v.exists()})
            with timer.phase("read"):
                store = open_workdir(out, paths, digests, opts, partitions=n_parts)
                clear_summary(out)
                folder = store.root / "input"
                folder.mkdir(exist_ok=True)
                split, r_in, s_in = split_inputs(paths["residents"], paths["responses"], n_parts, folder,
                                                 opts.encoding, key)
        else:  # no shared folder: the partitions travel to the workers in memory
            store = None
            r_in, s_in, _, _, _ = read_inputs(residents_path, responses_path, opts, timer)
            R, S = r_in.table, s_in.table
            with timer.phase("partition"):
                r_part = partition_of(R.column("person_id"), n_parts)
                r_rows = split_rows(r_part, n_parts)
                s_rows = split_rows(partition_of(S.column("person_id"), n_parts), n_parts)
                clear_summary(out)
                pieces = [Sealed((R.take(r_rows[p]), S.take(s_rows[p]))) for p in range(n_parts)]
                split = Split(pieces, r_rows, s_rows, r_part, R.num_rows)
                # the driver keeps what the outputs need of the inputs, not their rows
                r_in, s_in = r_in._replace(table=R.schema.empty_table()), s_in._replace(table=S.schema.empty_table())
                del R, S, pieces
        info = {"backend": "dask", "scheduler": opts.scheduler or "LocalCluster", "workers": n_workers}
        return run_parts(DaskRunner(client), split, out=out, opts=opts, timer=timer, t0=t0, r_in=r_in, s_in=s_in,
                         store=store, key=key, run_info=info)


__all__ = ["DaskRunner", "client_for", "run_dask"]
