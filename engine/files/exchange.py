"""Exchange files with Juki-net and on media: the operation log and the hourly sweep.

The agency's assessment asks for a batch program that *consults the operation log* and
moves files already encrypted, already sent and already decrypted to a backup folder,
then deletes backups ten days after they were backed up; it runs every hour and by hand.

- Every operation on an exchange file appends one JSON line to ``.jukimatch-exchange.jsonl``
  in the file's folder: time, operation, file name, its SHA-256, the operator — the login of
  the process's uid, not an environment variable anyone can set. Never a file's contents: no
  number reaches the log. Each line carries the SHA-256 of the previous line's hash and its
  own content (``prev``, ``hash``), so :func:`verify_log` finds a line edited or removed.
- ``encrypted`` names a plaintext file whose encrypted copy now exists; ``sent`` a file that
  went out; ``decrypted`` an encrypted file whose plaintext has been made; ``plaintext`` that
  plaintext itself. Each is done with, so the sweep backs it up: no plaintext stays behind.
- :func:`sweep` moves every file the log names as done — if it is still there and still the
  file the log saw (same SHA-256) — into the backup folder, with its modification time set
  to the moment of backup, and deletes backup files — hidden ones too — older than ``days``
  (at most the assessment's 10: a longer keep is refused). It holds an
  exclusive lock on the backup folder while it works, moves by atomic rename and treats a
  file that vanished meanwhile as already handled, so two sweeps at once, or a sweep
  interrupted and run again, do each thing once.
"""
from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import pwd
import shutil
import time
from contextlib import contextmanager
from pathlib import Path

LOG = ".jukimatch-exchange.jsonl"
LOCK = ".jukimatch-sweep.lock"
DONE = ("encrypted", "sent", "decrypted", "plaintext")
OPS = DONE + ("swept",)
BACKUP_DAYS = 10
GENESIS = "0" * 64


def _sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _user() -> str:
    """The login of the process's real uid (``USER``/``LOGNAME`` are whatever the caller set)."""
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return str(os.getuid())


def _line_hash(prev: str, entry: dict) -> str:
    body = json.dumps({k: v for k, v in entry.items() if k != "hash"}, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256((prev + body).encode()).hexdigest()


def _last_hash(fd: int) -> str:
    """The ``hash`` of the log's last line (the file is locked by the caller)."""
    size = os.fstat(fd).st_size
    if size == 0:
        return GENESIS
    tail = os.pread(fd, min(size, 65536), max(0, size - 65536)).decode("utf-8", "replace")
    for line in reversed(tail.splitlines()):
        try:
            return json.loads(line)["hash"]
        except (ValueError, KeyError, TypeError):
            return GENESIS  # an unchained or damaged line: verify_log reports it; keep logging
    return GENESIS


def record(path: str | Path, op: str, **extra) -> dict:
    """Append one chained entry for ``path`` to the operation log of its folder; return the entry."""
    if op not in OPS:
        raise ValueError(f"op must be one of {OPS}, got {op!r}")
    path = Path(path)
    entry = {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "op": op, "file": path.name,
             "sha256": _sha256(path) if path.exists() else None, "user": _user(), "uid": os.getuid(), **extra}
    fd = os.open(path.parent / LOG, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o640)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        entry["prev"] = _last_hash(fd)
        entry["hash"] = _line_hash(entry["prev"], entry)
        os.write(fd, (json.dumps(entry, ensure_ascii=False) + "\n").encode())  # one write: lines never interleave
    finally:
        os.close(fd)
    return entry


def verify_log(directory: str | Path) -> str | None:
    """None if the folder's operation log chains from its first line to its last; else the problem."""
    path = Path(directory) / LOG
    if not path.exists():
        return None
    prev = GENESIS
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            e = json.loads(line)
            ok = e["prev"] == prev and e["hash"] == _line_hash(prev, e)
        except (ValueError, KeyError, TypeError):
            return f"{path}: line {n} is not a chained log entry"
        if not ok:
            return f"{path}: line {n} does not follow line {n - 1} (edited, inserted or a line removed)"
        prev = e["hash"]
    return None


def read_log(directory: str | Path) -> list[dict]:
    path = Path(directory) / LOG
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            e = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut by a crash mid-write: ignore it
        if isinstance(e, dict) and e.get("op") in OPS and isinstance(e.get("file"), str):
            out.append(e)
    return out


@contextmanager
def _locked(path: Path):
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o640)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _free_name(folder: Path, name: str) -> Path:
    target = folder / name
    n = 1
    while target.exists():
        target = folder / f"{name}.{n}"
        n += 1
    return target


def _move(src: Path, dst: Path) -> bool:
    """Atomic rename (copy then rename across file systems); False if ``src`` vanished."""
    try:
        os.rename(src, dst)
        return True
    except FileNotFoundError:
        return False
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
    tmp = dst.with_name(f".{dst.name}.sweep.tmp")
    try:
        shutil.copy2(src, tmp)
    except FileNotFoundError:
        return False
    os.utime(tmp)
    os.replace(tmp, dst)
    try:
        os.unlink(src)
    except FileNotFoundError:
        pass
    return True


def sweep(directory: str | Path, backup: str | Path, *, days: float = BACKUP_DAYS, dry_run: bool = False,
          now: float | None = None) -> list[str]:
    """Move done exchange files of ``directory`` to ``backup``; delete backups older than ``days``.

    Returns one line per action (``moved A -> B``, ``deleted B``); with ``dry_run`` the
    lines say what would be done and nothing changes.
    """
    d, b = Path(directory), Path(backup)
    if not 0 < days <= BACKUP_DAYS:
        raise ValueError(f"backups are kept at most {BACKUP_DAYS} days; got {days}")
    if not d.is_dir():
        raise FileNotFoundError(f"{d}: no such folder")
    if d.resolve() == b.resolve():
        raise ValueError("the backup folder must differ from the exchange folder")
    if not dry_run:
        b.mkdir(parents=True, exist_ok=True)
    actions: list[str] = []
    lock = b / LOCK if b.is_dir() else None
    with (_locked(lock) if lock is not None else _nullcontext()):
        now = time.time() if now is None else now
        latest: dict[str, dict] = {}
        for e in read_log(d):
            latest[e["file"]] = e
        for name, e in sorted(latest.items()):
            src = d / name
            if e["op"] not in DONE or Path(name).name != name or name in (LOG,) or not src.is_file():
                continue
            try:
                same = e.get("sha256") is None or _sha256(src) == e["sha256"]
            except FileNotFoundError:
                continue
            if not same:
                continue  # a new file under an old name: not the one the log saw
            dst = _free_name(b, name)
            if dry_run:
                actions.append(f"would move {src} -> {dst} ({e['op']})")
                continue
            try:
                os.utime(src, (now, now))  # the backup's age counts from now
            except FileNotFoundError:
                continue
            if _move(src, dst):
                record(src, "swept", to=str(dst), reason=e["op"], sha256_moved=e.get("sha256"))
                actions.append(f"moved {src} -> {dst} ({e['op']})")
        if b.is_dir():
            limit = now - days * 86400
            for f in sorted(b.iterdir()):
                if f.name in (LOCK, LOG) or not f.is_file():  # hidden files are swept too
                    continue
                try:
                    old = f.stat().st_mtime < limit
                except FileNotFoundError:
                    continue
                if not old:
                    continue
                if dry_run:
                    actions.append(f"would delete {f}")
                    continue
                try:
                    f.unlink()
                    actions.append(f"deleted {f}")
                except FileNotFoundError:
                    pass
    return actions


@contextmanager
def _nullcontext():
    yield


__all__ = ["BACKUP_DAYS", "DONE", "LOG", "read_log", "record", "sweep", "verify_log"]
