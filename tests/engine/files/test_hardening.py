"""Files at rest: the exchange log's identity and chain, hidden files swept, the 10-day cap,
plaintext outputs and key files that others cannot read or swap (reconcile's outputs: test_files_crypt)."""
import json
import os
import pwd
import stat
import subprocess
import sys
import time

import pytest

from jukimatch.api.files_cli import main as files_main
from jukimatch.engine.files import crypt
from jukimatch.engine.files.exchange import LOG, read_log, record, sweep, verify_log

DAY = 86400


def test_the_log_names_the_process_uid_not_the_environment(tmp_path):
    f = tmp_path / "batch.csv.enc"
    f.write_text("x")
    code = "import sys; from jukimatch.engine.files.exchange import record; record(sys.argv[1], 'sent')"
    env = {**os.environ, "USER": "anyone", "LOGNAME": "anyone", "LNAME": "anyone", "USERNAME": "anyone"}
    subprocess.run([sys.executable, "-c", code, str(f)], env=env, check=True)
    (entry,) = read_log(tmp_path)
    assert entry["user"] == pwd.getpwuid(os.getuid()).pw_name and entry["uid"] == os.getuid()


def test_the_log_is_chained(tmp_path, capsys):
    for i in range(3):
        f = tmp_path / f"f{i}.enc"
        f.write_text(str(i))
        record(f, "sent")
    assert verify_log(tmp_path) is None
    assert files_main(["files", "verify-log", "--dir", str(tmp_path)]) == 0
    lines = (tmp_path / LOG).read_text().splitlines()
    (tmp_path / LOG).write_text("\n".join([lines[0], lines[2]]) + "\n")  # the middle line removed
    assert "line 2 does not follow" in verify_log(tmp_path)
    assert files_main(["files", "verify-log", "--dir", str(tmp_path)]) == 1
    edited = json.loads(lines[1]) | {"user": "someone-else"}
    (tmp_path / LOG).write_text("\n".join([lines[0], json.dumps(edited), lines[2]]) + "\n")
    assert "line 2" in verify_log(tmp_path)


def test_hidden_backups_are_deleted_after_ten_days(tmp_path):
    d, b = tmp_path / "exchange", tmp_path / "backup"
    d.mkdir()
    b.mkdir()
    now = time.time()
    for name in (".hidden.csv", ".decisions.parquet.sweep.tmp", "plain.csv"):
        (b / name).write_text("old plaintext")
        os.utime(b / name, (now - 11 * DAY, now - 11 * DAY))
    hidden = d / ".answer.csv"
    hidden.write_text("a hidden plaintext")
    record(hidden, "plaintext")
    sweep(d, b, now=now)
    assert sorted(p.name for p in b.iterdir()) == [".answer.csv", ".jukimatch-sweep.lock"]
    assert not hidden.exists()


def test_more_than_ten_days_is_refused(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    with pytest.raises(ValueError, match="at most 10 days"):
        sweep(d, tmp_path / "b", days=30)
    assert files_main(["files", "sweep", "--dir", str(d), "--backup", str(tmp_path / "b"), "--days", "11"]) == 2


def test_decrypted_plaintext_is_logged_private_and_swept(tmp_path):
    d, b = tmp_path / "exchange", tmp_path / "backup"
    d.mkdir()
    key = crypt.write_key_file(tmp_path / "k")
    (d / "answers.csv").write_text("person_id,my_number\nA1,123456789018\n")
    assert files_main(["files", "encrypt", str(d / "answers.csv"), "--key-file", str(key)]) == 0
    os.unlink(d / "answers.csv")  # the sender's side; the consumer decrypts
    assert files_main(["files", "decrypt", str(d / "answers.csv.enc"), "--key-file", str(key)]) == 0
    assert stat.S_IMODE(os.stat(d / "answers.csv").st_mode) == 0o600
    sweep(d, b)
    assert not (d / "answers.csv").exists() and (b / "answers.csv").exists()


def test_key_files_others_can_write_are_refused(tmp_path):
    key = crypt.write_key_file(tmp_path / "k")
    os.chmod(key, 0o644)
    with pytest.warns(crypt.KeyFileWarning):
        crypt.load_key(key)
    os.chmod(key, 0o666)
    with pytest.raises(crypt.CryptError, match="writable by others"):
        crypt.load_key(key)

