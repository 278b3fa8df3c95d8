"""Survival: a real subprocess killed with SIGKILL at several points, then resumed, ends with
the outputs of an uninterrupted run; no row lost or duplicated; changed inputs refused."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from jukimatch.api import generate, reconcile
from jukimatch.engine.io import InputError
from jukimatch.engine.reconcile.checkpoint import CHUNK_SUFFIX, FAULT_ENV, WORK_DIR, ResumeError

N = 3_000
CHUNK = 250  # 12 chunks
OUTPUTS = ("decisions", "review", "pending", "rejected")

RUNNER = """
import sys
from jukimatch.api import reconcile
from jukimatch.engine.io import InputError
try:
    reconcile(sys.argv[1], sys.argv[2], sys.argv[3], chunk_rows=int(sys.argv[4]), report=False,
              resume=sys.argv[5] == "1", partitions=int(sys.argv[6]) or None)
except InputError as exc:
    print(f"jukimatch: error: {exc}", file=sys.stderr)
    sys.exit(2)
"""


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("resume")
    made = generate(N, root / "data", seed=7)
    paths = {k: Path(v) for k, v in made["paths"].items()}
    full = root / "full"
    summary = reconcile(paths["residents"], paths["responses"], full, chunk_rows=CHUNK, report=False)
    return root, paths, full, summary


def _run(paths, out, resume, fault=None, wait=True, partitions=0):
    env = dict(os.environ)
    env.pop(FAULT_ENV, None)
    if fault:
        env[FAULT_ENV] = fault
    args = [sys.executable, "-c", RUNNER, str(paths["residents"]), str(paths["responses"]), str(out), str(CHUNK),
            "1" if resume else "0", str(partitions)]
    if not wait:
        return subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)


def _same_as_full(full, out, summary_full):
    for name in OUTPUTS:
        a, b = pq.read_table(full / f"{name}.parquet"), pq.read_table(out / f"{name}.parquet")
        assert a.equals(b), name
    assert (full / "model.json").read_text() == (out / "model.json").read_text()
    s = json.loads((out / "summary.json").read_text())
    for k in ("rows", "decisions", "reasons", "model"):
        assert s[k] == summary_full[k], k
    d = pq.read_table(out / "decisions.parquet")
    assert d.num_rows == N and len(set(d["person_id"].to_pylist())) == N  # none lost, none twice
    assert not (out / WORK_DIR).exists()


# One kill point per kind of step: inside the compare loop, after a partition's comparison
# is kept whole, after a phase mark, between two output files (chunk:0, compared and
# write:decisions are the same kinds again). The run
# killed after the fit takes 3 partitions in turn; its resume asks for none and finds them
# in the work folder.
@pytest.mark.parametrize("point,parts", [("chunk:5", 0), ("kept:1", 3), ("fitted", 3), ("write:pending", 0)])
def test_killed_at_a_point_then_resumed(data, tmp_path, point, parts):
    root, paths, full, summary = data
    out = tmp_path / "out"
    killed = _run(paths, out, resume=False, fault=point, partitions=parts)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert (out / WORK_DIR / "manifest.json").exists()
    assert not (out / "summary.json").exists()  # an unfinished run never shows a summary
    kept_before = (out / WORK_DIR / "part0001" / "compared").exists()
    resumed = _run(paths, out, resume=True)
    assert resumed.returncode == 0, resumed.stderr
    _same_as_full(full, out, summary)
    assert json.loads((out / "summary.json").read_text())["run"].get("partitions", 1) == max(parts, 1)
    assert not (out / ".jukimatch-turns").exists()  # what the killed run parked is gone too
    if point.startswith("chunk:"):
        k = int(point.split(":")[1])
        assert json.loads((out / "summary.json").read_text())["run"]["chunks_reused"] == k + 1
    if point.startswith("kept:"):  # in turn, each partition's comparison is kept whole, its chunks with it
        assert kept_before and json.loads((out / "summary.json").read_text())["run"]["chunks_reused"] >= 2


def test_killed_from_outside_while_chunks_appear(data, tmp_path):
    root, paths, full, summary = data
    out = tmp_path / "out"
    proc = _run(paths, out, resume=False, wait=False)
    chunks = out / WORK_DIR / "part0000"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if chunks.exists() and len([p for p in chunks.iterdir() if p.suffix == CHUNK_SUFFIX]) >= 3:
            break
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    if proc.returncode == -signal.SIGKILL:
        assert not (out / "summary.json").exists()
    resumed = _run(paths, out, resume=True)
    assert resumed.returncode == 0, resumed.stderr
    _same_as_full(full, out, summary)
    # a second resume of a finished run simply runs again, to the same outputs
    reconcile(paths["residents"], paths["responses"], out, chunk_rows=CHUNK, report=False, resume=True)
    _same_as_full(full, out, summary)


def test_changed_input_refused_on_resume(data, tmp_path):
    root, paths, full, summary = data
    out = tmp_path / "out"
    res = tmp_path / "residents.parquet"
    res.write_bytes(paths["residents"].read_bytes())
    mine = dict(paths, residents=res)
    assert _run(mine, out, resume=False, fault="chunk:2").returncode == -signal.SIGKILL
    t = pq.read_table(res)
    names = t["name_alpha"].to_pylist()
    names[10] = "SOMEBODY ELSE"
    pq.write_table(t.set_column(t.column_names.index("name_alpha"), "name_alpha", pa.array(names)), res)
    refused = _run(mine, out, resume=True)
    assert refused.returncode == 2
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and "residents.parquet" in lines[0] and "changed" in lines[0], lines
    with pytest.raises(ResumeError, match="changed since the interrupted run"):
        reconcile(res, paths["responses"], out, chunk_rows=CHUNK, report=False, resume=True)
    assert issubclass(ResumeError, InputError)  # the CLI's exit 2
    # without --resume the run starts afresh and finishes
    reconcile(res, paths["responses"], out, chunk_rows=CHUNK, report=False)
    assert not (out / WORK_DIR).exists()


def test_other_settings_refused_on_resume(data, tmp_path):
    root, paths, full, summary = data
    out = tmp_path / "out"
    assert _run(paths, out, resume=False, fault="chunk:1").returncode == -signal.SIGKILL
    with pytest.raises(ResumeError, match="chunk_rows"):
        reconcile(paths["residents"], paths["responses"], out, chunk_rows=CHUNK + 1, report=False, resume=True)


def test_without_resume_an_old_work_folder_is_discarded(data, tmp_path):
    root, paths, full, summary = data
    out = tmp_path / "out"
    assert _run(paths, out, resume=False, fault="chunk:3").returncode == -signal.SIGKILL
    s = reconcile(paths["residents"], paths["responses"], out, chunk_rows=CHUNK, report=False)
    assert s["run"]["chunks_reused"] == 0 and not s["run"]["resumed"]
    _same_as_full(full, out, summary)


def test_dask_worker_killed_mid_run_picks_up_saved_chunks(data, tmp_path):
    pytest.importorskip("dask.distributed")
    from dask.distributed import LocalCluster

    root, paths, full, summary = data
    out = tmp_path / "out"
    # Every worker dies right after saving chunk 2 of partition 0; Dask reruns the lost tasks
    # on the restarted worker and the rerun reloads the chunks saved before the kill.
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                      env={"NUMBA_NUM_THREADS": "1", FAULT_ENV: "chunk:2"}) as cluster:
        s = reconcile(paths["residents"], paths["responses"], out, chunk_rows=CHUNK, report=False, backend="dask",
                      scheduler=cluster.scheduler_address, partitions=2)
    assert s["run"]["chunks_reused"] >= 3
    _same_as_full(full, out, summary)


def _reconcile_parser():
    """The CLI's parser (its reconcile sub-command carries the scale-out options)."""
    from jukimatch.api.cli import build_parser

    return build_parser()


def test_cli_options_map_to_library_keywords():
    from jukimatch.api.console import UsageError
    from jukimatch.api.reconcile_cli import reconcile_kwargs

    parser = _reconcile_parser()
    base = ["reconcile", "--residents", "r.parquet", "--responses", "s.parquet", "--out", "o"]
    kw = reconcile_kwargs(parser.parse_args(base))
    assert kw == {"backend": "local", "resume": False, "encrypt_key_file": None}
    kw = reconcile_kwargs(parser.parse_args(base + ["--scheduler", "tcp://h:8786", "--resume", "--dask-workers", "2",
                                                    "--encrypt-key-file", "k", "--chunk-rows", "1000"]))
    assert kw == {"backend": "dask", "resume": True, "encrypt_key_file": "k", "scheduler": "tcp://h:8786",
                  "dask_workers": 2, "chunk_rows": 1000}
    import inspect

    from jukimatch.api import reconcile as api_reconcile

    assert set(kw) <= set(inspect.signature(api_reconcile).parameters)
    assert reconcile_kwargs(parser.parse_args(base + ["--partitions", "4"]))["partitions"] == 4  # local, in turn
    with pytest.raises(UsageError, match="--scheduler needs --backend dask"):
        reconcile_kwargs(parser.parse_args(base + ["--backend", "local", "--scheduler", "x"]))
    with pytest.raises(UsageError, match="--dask-workers needs --backend dask"):
        reconcile_kwargs(parser.parse_args(base + ["--dask-workers", "2"]))


def test_old_workers_option_still_read_with_a_warning(capsys):
    from jukimatch.api.reconcile_cli import reconcile_kwargs

    parser = _reconcile_parser()
    base = ["reconcile", "--residents", "r.parquet", "--responses", "s.parquet", "--out", "o"]
    args = parser.parse_args(base + ["--workers", "2"])
    assert reconcile_kwargs(args)["backend"] == "local" and args.threads == 2
    assert "--workers is deprecated; use --threads" in capsys.readouterr().err
    kw = reconcile_kwargs(parser.parse_args(base + ["--backend", "dask", "--workers", "3"]))
    assert kw["dask_workers"] == 3
    assert "use --dask-workers" in capsys.readouterr().err
