"""A real inquiry service on loopback for load runs: a demo store, ``jukimatch serve`` as a child process.

:class:`LocalService` fills a new store with ``serve --demo``'s own filler
(:func:`jukimatch.api.service.demo.fill_demo`: generated population, reconciled, 19
requesters, one gateway token per requesting body), writes the subject identifiers the
load may ask about, starts the service on a free 127.0.0.1 port in its own process group
(the Juki-net stand-in answering from the generated register) and stops exactly that group
on exit. :class:`Target` is what a load run needs to know about a service, local or not.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from .mix import read_subjects, subjects_from_store

_LAUNCH = """
import argparse, sys
from jukimatch.api.service.commands import add_serve_parser
p = argparse.ArgumentParser(prog="jukimatch"); sub = p.add_subparsers(dest="command", required=True)
add_serve_parser(sub); args = p.parse_args(sys.argv[1:]); sys.exit(args.func(args))
"""


@dataclass
class Target:
    """A service to load: base URL, its tokens file, the subjects file, and its store if readable here."""

    url: str
    tokens_file: Path
    subjects_file: Path
    db: Path | None = None
    pid: int | None = None  # the service's process, when started here (for CPU accounting)

    def tokens(self) -> dict[str, Any]:
        return json.loads(self.tokens_file.read_text(encoding="utf-8"))

    def subjects(self) -> list[str]:
        return read_subjects(self.subjects_file)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, *, timeout_s: float = 60.0, proc: subprocess.Popen | None = None) -> None:
    import httpx

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the service exited with status {proc.returncode} before it answered")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the service at {url} did not answer /health within {timeout_s:.0f}s")
        time.sleep(0.2)


def write_subjects(db: Path, path: Path) -> Path:
    path.write_text("\n".join(subjects_from_store(db)) + "\n", encoding="utf-8")
    return path


class LocalService:
    """Context manager: a demo store in ``workdir`` and a service on loopback serving it."""

    def __init__(self, workdir: str | Path, *, residents: int = 5000, seed: int = 1, workers: int = 1,
                 progress: Callable[[str], None] | None = None) -> None:
        if residents < 1 or workers < 1:
            raise ValueError("residents and workers must be at least 1")
        self.workdir = Path(workdir)
        self.residents, self.seed, self.workers = residents, seed, workers
        self.say = progress or (lambda msg: None)
        self.proc: subprocess.Popen | None = None
        self.target: Target | None = None
        self.log_path = self.workdir / "service.log"

    def __enter__(self) -> Target:
        from jukimatch.api.service.demo import fill_demo

        self.workdir.mkdir(parents=True, exist_ok=True)
        db = self.workdir / "demo.sqlite"
        if db.exists():
            raise FileExistsError(f"{db}: exists; a load run fills a new store")
        self.say(f"filling a demo store of {self.residents:,} residents in {db}")
        summary = fill_demo(db, self.residents, seed=self.seed)
        subjects = write_subjects(db, self.workdir / "subjects.txt")
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        cmd = [sys.executable, "-c", _LAUNCH, "serve", "--db", str(db), "--host", "127.0.0.1", "--port", str(port),
               "--workers", str(self.workers), "--jukinet-file", summary["jukinet_file"], "--no-access-log",
               "--log-level", "warning", "--retry-interval", "0"]
        self.say(f"starting the service on {url} ({self.workers} worker{'s' * (self.workers > 1)})")
        log = open(self.log_path, "wb")
        try:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        finally:
            log.close()
        try:
            wait_healthy(url, proc=self.proc)
        except BaseException:
            self.stop()
            raise
        self.target = Target(url, Path(summary["tokens_file"]), subjects, db, self.proc.pid)
        return self.target

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        os.killpg(proc.pid, signal.SIGTERM)  # the group this object started: the server and its workers
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)

    def __exit__(self, *exc: object) -> None:
        self.stop()
