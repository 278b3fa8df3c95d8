"""The local backend over partitions taken in turn decides and writes exactly like the whole
input in one part: Parquet and CSV (with unparseable rows), conflicts across partitions,
encrypted outputs; and what it parks on disk is the owner's alone and gone at the end."""
import json
import os
import threading
import time

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

from jukimatch.api import reconcile
from jukimatch.api.cli import main
from jukimatch.engine.files.crypt import read_parquet, write_key_file
from jukimatch.engine.reconcile.partition import partition_of
from jukimatch.engine.reconcile.parts import Sealed
from tests.engine.reconcile.planted import PARTS, same_outputs


def test_in_turn_decides_exactly_like_local(data, local, tmp_path, capsys):
    root, (res, resp), who = data
    code = main(["reconcile", "--residents", str(res), "--responses", str(resp), "--out", str(tmp_path),
                 "--chunk-rows", "700", "--partitions", str(PARTS)])
    assert code == 0 and f"({PARTS} partitions in turn)" in capsys.readouterr().out
    summary = json.loads((tmp_path / "summary.json").read_text())
    same_outputs(local[0], tmp_path)
    assert summary["run"]["backend"] == "local" and summary["run"]["in_turn"]
    assert "in_turn" not in local[1]["run"]  # no partitions asked for, and the whole input fits
    assert summary["run"]["partitions"] == PARTS
    assert summary["decisions"] == local[1]["decisions"] and summary["reasons"] == local[1]["reasons"]
    assert summary["rows"] == local[1]["rows"] and summary["rows"]["conserved"]
    assert summary["model"] == local[1]["model"]
    assert summary["namesakes"] == local[1]["namesakes"]
    assert (tmp_path / "report.html").exists()
    # the planted conflicts sit in different partitions and are caught as in one part
    parts = dict(zip(who.values(), partition_of(pa.array(list(who.values())), PARTS).tolist()))
    assert parts[who["a"]] != parts[who["b"]] and parts[who["c"]] != parts[who["d"]]
    d = {r["person_id"]: r for r in pq.read_table(tmp_path / "decisions.parquet").to_pylist()}
    assert "number_shared" in d[who["a"]]["reasons"] and "held_by_other" in d[who["d"]]["reasons"]
    # nothing parked is left behind
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".jukimatch")]


def _csv_with_bad_rows(table: pa.Table, path, bad_every: int) -> int:
    """``table`` as CSV with an extra field on every ``bad_every``-th line and a quoted
    newline in one name; returns the number of bad lines."""
    pcsv.write_csv(table, path)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    head, body = lines[0], lines[1:]
    bad = 0
    out = [head]
    for i, line in enumerate(body):
        out.append(line)
        if i % bad_every == 3:
            out.append(line.rstrip("\n") + ',"surplus"\n')
            bad += 1
    path.write_text("".join(out), encoding="utf-8")
    return bad


def test_in_turn_reads_csv_like_the_whole_reader(data, tmp_path):
    """Unparseable lines quarantined with the same record numbers; empty fields as nulls."""
    root, (res, resp), _ = data
    R, S = pq.read_table(res), pq.read_table(resp)
    R = R.set_column(R.column_names.index("nationality"), "nationality",
                     pa.array([None if i % 7 == 0 else v for i, v in enumerate(R["nationality"].to_pylist())],
                              pa.string()))
    r_csv, s_csv = tmp_path / "residents.csv", tmp_path / "responses.csv"
    assert _csv_with_bad_rows(R, r_csv, 400) > 3
    assert _csv_with_bad_rows(S, s_csv, 500) > 3
    whole = reconcile(r_csv, s_csv, tmp_path / "whole", chunk_rows=700, report=False)
    turns = reconcile(r_csv, s_csv, tmp_path / "turns", chunk_rows=700, report=False, partitions=4)
    same_outputs(tmp_path / "whole", tmp_path / "turns")
    assert turns["rows"] == whole["rows"] and turns["rows"]["conserved"]
    assert turns["rows"]["responses_rejected"] > 3
    rejected = pq.read_table(tmp_path / "turns" / "rejected.parquet")
    assert set(rejected["error"].to_pylist()) >= {"row:expected 11 fields, got 12"}


def test_in_turn_encrypted_outputs_and_owner_only_parking(data, local, tmp_path, monkeypatch):
    root, (res, resp), _ = data
    key_file = write_key_file(tmp_path / "k.key")
    seen = []
    from jukimatch.engine.reconcile import spill

    real = spill.spill

    def spying(obj, path, key=None, durable=False):
        handle = real(obj, path, key, durable=durable)
        seen.append((os.stat(handle.path).st_mode & 0o777, key is not None, handle.path.read_bytes()[:4]))
        return handle

    monkeypatch.setattr("jukimatch.engine.reconcile.inturn.spill", spying)
    from jukimatch.engine.reconcile import inturn

    real_split = inturn.split_inputs
    someone = pq.read_table(res, columns=["person_id"])["person_id"][0].as_py().encode()
    split_files = []

    def split_and_look(*args):
        made = real_split(*args)
        for piece in made[0].pieces:
            for path in (piece.value.residents, piece.value.responses):
                split_files.append((os.stat(path).st_mode & 0o777, someone in path.read_bytes()))
        return made

    monkeypatch.setattr(inturn, "split_inputs", split_and_look)
    out = tmp_path / "enc"
    reconcile(res, resp, out, chunk_rows=700, report=False, partitions=PARTS, encrypt_key_file=key_file)
    assert split_files and all(mode == 0o600 and not clear for mode, clear in split_files)  # no row in clear
    from jukimatch.engine.files.crypt import load_key

    key = load_key(key_file)
    for name in ("decisions", "review", "pending"):
        assert read_parquet(out / f"{name}.parquet.enc", key).equals(pq.read_table(local[0] / f"{name}.parquet"))
    assert seen and all(mode == 0o600 and encrypted and head != b"JKS1" for mode, encrypted, head in seen)


def test_more_partitions_than_people_and_an_empty_input(tmp_path):
    """Empty partitions, and no rows at all, still give the whole input's outputs."""
    from jukimatch.api import generate

    made = generate(30, tmp_path / "d", seed=2)
    res, resp = made["paths"]["residents"], made["paths"]["responses"]
    reconcile(res, resp, tmp_path / "whole", report=False, partitions=1)
    reconcile(res, resp, tmp_path / "turns", report=False, partitions=16)
    same_outputs(tmp_path / "whole", tmp_path / "turns")
    (tmp_path / "r.csv").write_text("person_id,name_alpha\n")
    (tmp_path / "s.csv").write_text("person_id,status\n")
    s = reconcile(tmp_path / "r.csv", tmp_path / "s.csv", tmp_path / "empty", report=False, partitions=3)
    assert s["rows"]["residents_in"] == 0 and s["rows"]["conserved"]


def _pass(x):
    if x < 0:
        raise ValueError(f"bad part {x}")
    return Sealed((x, threading.current_thread().name))


def _gather(*results):
    return Sealed([r.value for r in results])


def test_side_by_side_tasks_run_on_two_threads_in_order_and_their_errors_surface(tmp_path, monkeypatch):
    """Tasks of SIDE_BY_SIDE run off the calling thread, two at a time, and a task that takes
    an earlier one's result receives it; ``each`` yields in the order given; a failure
    reaches whoever opens the result."""
    from jukimatch.engine.reconcile import inturn, parts

    names = {task.__name__ for task in parts.SIDE_BY_SIDE}
    assert {"_prepare", "_compare", "_population_inputs", "_units", "_first_pass", "_outputs", "_sample"} <= names
    monkeypatch.setattr(inturn, "SIDE_BY_SIDE", frozenset({_pass, _gather}))
    runner = inturn.InTurnRunner(tmp_path, None, [])
    try:
        firsts = [runner.submit(_pass, x) for x in range(4)]
        (got,) = runner.each(_gather, [tuple(firsts)])
        assert [x for x, _ in got] == [0, 1, 2, 3]
        assert all(name.startswith("jukimatch-turn") for _, name in got)
        assert [x for x, _ in runner.each(_pass, [(x,) for x in range(5)])] == [0, 1, 2, 3, 4]
        failed = runner.submit(_pass, -1)
        with pytest.raises(ValueError, match="bad part -1"):
            list(runner.each(_gather, [(failed,)]))
        with pytest.raises(ValueError, match="bad part -2"):
            list(runner.each(_pass, [(1,), (-2,), (3,)]))
    finally:
        runner.close()


def _slow_pass(x):
    time.sleep(0.05 * (x == 0))  # the first ends last
    return _pass(x)


def test_gather_hands_each_value_over_where_it_is_made_and_raises_once_all_ended(tmp_path, monkeypatch):
    """``gather`` gives ``into`` each partition's value with its number, on the runner's two
    threads for a SIDE_BY_SIDE task, on the caller's otherwise; a failure is raised only once
    every call has ended, so no ``into`` is still writing when the caller sees it."""
    from jukimatch.engine.reconcile import inturn

    monkeypatch.setattr(inturn, "SIDE_BY_SIDE", frozenset({_slow_pass}))
    runner = inturn.InTurnRunner(tmp_path, None, [])
    try:
        got = {}
        runner.gather(_slow_pass, [(x,) for x in range(5)], lambda p, v: got.__setitem__(p, v))
        assert {p: x for p, (x, _) in got.items()} == {p: p for p in range(5)}
        assert {name for _, name in got.values()} == {"jukimatch-turn_0", "jukimatch-turn_1"}
        in_order = []
        runner.gather(_pass, [(x,) for x in range(3)], lambda p, v: in_order.append((p, v[1])))
        assert in_order == [(p, threading.current_thread().name) for p in range(3)]
        ended = []
        with pytest.raises(ValueError, match="bad part -1"):
            runner.gather(_slow_pass, [(-1,), (0,), (2,)], lambda p, v: ended.append(p))
        assert sorted(ended) == [1, 2]  # the slow one (0) had ended before the first's failure surfaced
    finally:
        runner.close()


def test_a_reconciliation_calls_no_parallel_kernel():
    """Two partitions are validated, compared and decided side by side (SIDE_BY_SIDE): no
    kernel a reconciliation calls may have a parallel loop, which Numba's workqueue layer
    (loaded where neither OpenMP nor TBB is installed) cannot run from two threads at once:
    it aborts the process. The pair kernels are serial, their spans threaded by
    ``runtime.over_spans``. The kernels are those of the warm-up's list, which
    ``tests/api/test_warmup.py`` keeps equal to what a small reconciliation calls."""
    import importlib

    from jukimatch.api.warmup import load

    listed = load()
    parallel = sorted({(k.module, k.name) for k in listed
                       if getattr(importlib.import_module(k.module), k.name).targetoptions.get("parallel")})
    assert len(listed) > 20 and parallel == []


def test_a_task_keeps_its_freed_memory_below_the_runners_line(tmp_path, monkeypatch):
    """After each task the runner hands freed memory back only above its line (default: at
    most memory.KEEP_FREED_BELOW, less where the memory available is small)."""
    from jukimatch.engine import memory
    from jukimatch.engine.reconcile import inturn

    lines = []
    monkeypatch.setattr(inturn, "release_above", lambda limit: lines.append(limit))
    runner = inturn.InTurnRunner(tmp_path, None, [])
    try:
        assert 0 < runner.keep_freed_below <= memory.KEEP_FREED_BELOW
        monkeypatch.setattr(memory, "memory_available", lambda: 1 << 30)
        small = inturn.InTurnRunner(tmp_path, None, [])
        small.close()
        assert small.keep_freed_below == int(memory.MEMORY_SHARE * (1 << 30))
        runner.submit(_pass, 1)
        assert lines == [runner.keep_freed_below]
    finally:
        runner.close()


def _kernel_threads(x):
    import numba

    return Sealed((numba.get_num_threads(), threading.current_thread().name))


def test_the_callers_thread_count_holds_on_the_runners_threads(tmp_path, monkeypatch):
    """``--threads`` sets Numba's count on the calling thread; the runner's tasks see the same
    count, and with one thread they run in turn on the calling thread."""
    import numba

    from jukimatch.engine.reconcile import inturn

    monkeypatch.setattr(inturn, "SIDE_BY_SIDE", frozenset({_kernel_threads}))
    before = numba.get_num_threads()
    try:
        for n in sorted({1, before}):
            numba.set_num_threads(n)
            runner = inturn.InTurnRunner(tmp_path, None, [])
            try:
                (threads, name), = runner.each(_kernel_threads, [(0,)])
                assert threads == n
                assert name.startswith("jukimatch-turn") is (n > 1)
            finally:
                runner.close()
    finally:
        numba.set_num_threads(before)


@pytest.mark.parametrize("broken,other", [("residents", "responses"), ("responses", "residents")])
def test_a_failed_split_stops_the_other_and_its_error_is_raised(data, tmp_path, monkeypatch, broken, other):
    """The two inputs are split side by side: when one pass fails, its error is raised and
    the other pass stops at its next batch instead of reading to the end (held back here
    until the failure has stopped it, so that it always has a next batch)."""
    from jukimatch.engine.io import InputError
    from jukimatch.engine.reconcile import split

    root, (res, resp), _ = data
    paths = {"residents": res, "responses": resp}
    paths[broken] = tmp_path / f"{broken}.parquet"
    pq.write_table(pq.read_table({"residents": res, "responses": resp}[broken]).drop_columns(["person_id"]),
                   paths[broken])
    seen = {}
    real = split._split_one

    def watched(path, kind, *args):
        if kind == other:
            assert args[-1].wait(30)
        try:
            return real(path, kind, *args)
        except BaseException as exc:
            seen[kind] = type(exc)
            raise

    monkeypatch.setattr(split, "_split_one", watched)
    folder = tmp_path / "turns"
    folder.mkdir()
    with pytest.raises(InputError, match=f"{broken}.parquet.*person_id"):
        split.split_inputs(paths["residents"], paths["responses"], 2, folder, None, None)
    assert seen == {broken: InputError, other: split.Abandoned}


def test_a_kept_result_is_taken_only_where_it_loads(tmp_path):
    """``readable`` (what a resumed run asks of a kept comparison): a whole spill file, or an
    encrypted one under its own key; not other bytes, nor another key's file."""
    import numpy as np

    from jukimatch.engine.files.crypt import load_key
    from jukimatch.engine.reconcile.spill import Spilled, load, readable, spill

    value = Sealed({"levels": np.arange(1000, dtype=np.int8)})
    plain = spill(value, tmp_path / "plain", durable=True)
    assert readable(plain) and np.array_equal(load(plain).value["levels"], value.value["levels"])
    (tmp_path / "other").write_bytes(b"JKS1 not a spill file")
    assert not readable(Spilled(tmp_path / "other", False))
    key, other_key = (load_key(write_key_file(tmp_path / f"{n}.key")) for n in ("k", "j"))
    sealed = spill(value, tmp_path / "sealed", key, durable=True)
    assert readable(sealed, key) and not readable(sealed, other_key)
    assert list(tmp_path.glob(".*.tmp")) == []  # written under another name, renamed into place


def test_parked_files_go_once_no_task_needs_them(data, tmp_path, monkeypatch):
    """Without a report the split inputs and parked results are removed before the outputs
    are written (on a runner thread, while they are); with one, only after the report's
    sample has read them. Either way nothing is left, and the outputs are those of one part."""
    from jukimatch.engine.reconcile import inturn, parts

    root, (res, resp), _ = data
    events = []
    real_discard, real_finish = inturn.InTurnRunner.discard, parts.finish

    def discard(self):
        events.append("discard")
        real_discard(self)

    def finish(*args, **kwargs):
        events.append("finish")
        return real_finish(*args, **kwargs)

    monkeypatch.setattr(inturn.InTurnRunner, "discard", discard)
    monkeypatch.setattr(parts, "finish", finish)
    reconcile(res, resp, tmp_path / "plain", chunk_rows=700, report=False, partitions=PARTS)
    assert events == ["discard", "finish"]
    events.clear()
    reconcile(res, resp, tmp_path / "reported", chunk_rows=700, partitions=PARTS)
    assert events == ["finish", "discard"] and (tmp_path / "reported" / "report.html").exists()
    same_outputs(tmp_path / "plain", tmp_path / "reported")
    for out in ("plain", "reported"):
        assert not [p for p in (tmp_path / out).iterdir() if p.name.startswith(".jukimatch")]
