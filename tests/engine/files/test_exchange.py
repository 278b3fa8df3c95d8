"""The hourly sweep: moves what the operation log says is encrypted, sent or decrypted; deletes
backups older than 10 days; idempotent; two sweeps at once do each thing once."""
import os
import subprocess
import sys
import time

import pytest

from jukimatch.api.files_cli import main as files_main
from jukimatch.engine.files.exchange import LOG, read_log, record, sweep

DAY = 86400


def _file(folder, name, text="x"):
    p = folder / name
    p.write_text(text)
    return p


@pytest.fixture
def exchange(tmp_path):
    d, b = tmp_path / "exchange", tmp_path / "backup"
    d.mkdir()
    record(_file(d, "batch1.csv", "plain one"), "encrypted")
    _file(d, "batch1.csv.enc", "cipher one")
    record(d / "batch1.csv.enc", "sent")
    record(_file(d, "answer.csv.enc", "cipher two"), "decrypted")
    _file(d, "answer.csv", "plain two")  # the consumer's plaintext: nothing logged it as done
    _file(d, "waiting.csv.enc", "cipher three")  # encrypted output not yet sent
    return d, b


def test_moves_done_files_only(exchange):
    d, b = exchange
    actions = sweep(d, b)
    moved = sorted(p.name for p in b.iterdir() if not p.name.startswith("."))
    assert moved == ["answer.csv.enc", "batch1.csv", "batch1.csv.enc"]
    assert sorted(p.name for p in d.iterdir() if p.name != LOG) == ["answer.csv", "waiting.csv.enc"]
    assert len(actions) == 3 and all(a.startswith("moved ") for a in actions)
    assert (b / "batch1.csv").read_text() == "plain one"
    # the backup's age starts at the move
    assert abs((b / "batch1.csv").stat().st_mtime - time.time()) < 60
    assert [e["op"] for e in read_log(d)].count("swept") == 3


def test_idempotent(exchange):
    d, b = exchange
    first = sweep(d, b)
    assert len(first) == 3
    assert sweep(d, b) == []
    assert sweep(d, b) == []
    assert len([p for p in b.iterdir() if not p.name.startswith(".")]) == 3


def test_age_rule(exchange):
    d, b = exchange
    b.mkdir()
    now = time.time()
    ages = {"old.enc": 10 * DAY + 60, "edge.enc": 10 * DAY - 60, "new.enc": DAY}
    for name, age in ages.items():
        p = _file(b, name)
        os.utime(p, (now - age, now - age))
    actions = sweep(d, b, now=now)
    assert f"deleted {b / 'old.enc'}" in actions
    left = {p.name for p in b.iterdir() if not p.name.startswith(".")}
    assert "old.enc" not in left and {"edge.enc", "new.enc", "batch1.csv"} <= left
    # just-moved files are young: a day later nothing new is due but edge.enc ...
    assert [a.split("/")[-1] for a in sweep(d, b, now=now + DAY)] == ["edge.enc"]
    # ... and ten days after their move everything is gone
    later = sweep(d, b, now=now + 10 * DAY + 1)
    assert sorted(a.split("/")[-1] for a in later) == ["answer.csv.enc", "batch1.csv", "batch1.csv.enc", "new.enc"]


def test_dry_run_changes_nothing(exchange):
    d, b = exchange
    before = sorted(p.name for p in d.iterdir())
    log = (d / LOG).read_text()
    actions = sweep(d, b, dry_run=True)
    assert len(actions) == 3 and all(a.startswith("would move") for a in actions)
    assert sorted(p.name for p in d.iterdir()) == before and (d / LOG).read_text() == log
    assert not b.exists()


def test_file_replaced_after_logging_is_left(exchange):
    d, b = exchange
    (d / "batch1.csv").write_text("a new batch under the old name")
    sweep(d, b)
    assert (d / "batch1.csv").exists() and not (b / "batch1.csv").exists()


def test_same_name_swept_twice_keeps_both_backups(exchange):
    d, b = exchange
    sweep(d, b)
    record(_file(d, "batch1.csv", "second batch"), "encrypted")
    sweep(d, b)
    assert (b / "batch1.csv").read_text() == "plain one" and (b / "batch1.csv.1").read_text() == "second batch"


def test_two_sweeps_at_once(tmp_path):
    d, b = tmp_path / "exchange", tmp_path / "backup"
    d.mkdir()
    for i in range(60):
        record(_file(d, f"f{i:03d}.enc", str(i)), "sent")
    code = ("import sys; from jukimatch.engine.files.exchange import sweep; "
            "print('\\n'.join(sweep(sys.argv[1], sys.argv[2])))")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(d), str(b)], stdout=subprocess.PIPE, text=True)
             for _ in range(3)]
    outs = [p.communicate(timeout=60)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs)
    moved = [line for out in outs for line in out.splitlines() if line.startswith("moved")]
    assert len(moved) == 60  # each file moved exactly once, by one of them
    assert sorted(p.name for p in b.iterdir() if not p.name.startswith(".")) == [f"f{i:03d}.enc" for i in range(60)]
    assert [e["op"] for e in read_log(d)].count("swept") == 60


def test_cli_sweep_and_mark_sent(tmp_path, capsys):
    d, b = tmp_path / "exchange", tmp_path / "backup"
    d.mkdir()
    _file(d, "out.parquet.enc")
    assert files_main(["files", "mark-sent", str(d / "out.parquet.enc")]) == 0
    assert files_main(["files", "sweep", "--dir", str(d), "--backup", str(b), "--dry-run"]) == 0
    assert "would move" in capsys.readouterr().out and (d / "out.parquet.enc").exists()
    assert files_main(["files", "sweep", "--dir", str(d), "--backup", str(b)]) == 0
    out = capsys.readouterr().out
    assert "moved" in out and "1 action(s)" in out and (b / "out.parquet.enc").exists()
    assert files_main(["files", "sweep", "--dir", str(tmp_path / "nope"), "--backup", str(b)]) == 2


def test_files_parser_fits_the_main_cli(tmp_path):
    from jukimatch.api.cli import build_parser
    from jukimatch.api.files_cli import add_files_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    if "files" not in sub.choices:
        add_files_parser(sub)
    d, b = tmp_path / "d", tmp_path / "b"
    d.mkdir()
    args = parser.parse_args(["files", "sweep", "--dir", str(d), "--backup", str(b)])
    assert args.func(args) == 0 and b.is_dir()
