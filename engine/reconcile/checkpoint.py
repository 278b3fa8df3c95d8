"""The crash-safe work folder of a bulk run: a manifest and per-chunk results, resumable.

A run keeps its expensive intermediate results — the comparison levels of each chunk of
resident rows, or of each whole partition for a run taking partitions in turn — in
``OUT/.jukimatch-work/``. Every file there is written to a temporary name,
flushed to disk and renamed into place (``os.replace`` is atomic), so a run killed at any
moment leaves either a whole chunk file or none. The manifest names the inputs by content
hash (SHA-256) and the settings that shape the results; ``resume`` reuses the chunk files of
a run with the same inputs and settings and refuses, in one line, inputs that changed.
The folder is removed once every output is written.

Nothing here holds a My Number: chunk files carry comparison levels (and, for a partitioned
run, the normalised names, dates and address hashes of the random pairs that estimate u).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from jukimatch.engine.files.atomic import atomic_file, atomic_write_bytes, fsync_dir
from jukimatch.engine.io import InputError, partitions_for

WORK_DIR = ".jukimatch-work"
MANIFEST = "manifest.json"
FORMAT = 2  # 2: a chunk is .npy records one after another (1: an .npz archive)
CHUNK_SUFFIX = ".npys"
#: Test hook: ``JUKIMATCH_FAULT=<point>`` kills the process with SIGKILL when the run reaches
#: ``<point>`` (``chunk:<k>`` after chunk k of the first partition is saved, ``kept:<p>``
#: after partition p's comparison is kept whole by a run in turn, ``compared``,
#: ``fitted``, ``decided``, ``write:<output file>`` after that output is in place).
FAULT_ENV = "JUKIMATCH_FAULT"


class ResumeError(InputError):
    """A resume that cannot continue the interrupted run (exit 2, one line)."""


def fault_point(name: str) -> None:
    """Die here, abruptly, if the test hook names this point (see :data:`FAULT_ENV`)."""
    if os.environ.get(FAULT_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


def file_digest(path: str | Path) -> str:
    """SHA-256 of a file's bytes, hex."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def digests_in_background(paths: dict[str, Path]) -> dict[str, Future]:
    """Start hashing input files on a thread (hashlib releases the GIL), one future per file."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jukimatch-hash")
    futures = {k: pool.submit(file_digest, p) for k, p in paths.items()}
    pool.shutdown(wait=False)
    return futures


def local_partitions(residents_path: str | Path, out_dir: str | Path, *, resume: bool) -> int:
    """The partitions a local run takes in turn when none are asked for: those of the run it
    resumes, else as many as the memory available calls for (:func:`~jukimatch.engine.io.partitions_for`).
    Light to import: the CLI asks it before the engine is loaded, to know whether to read ahead."""
    if resume:
        saved = saved_settings(Path(out_dir)).get("partitions")
        if isinstance(saved, int) and saved >= 1:
            return saved
    return partitions_for(residents_path)


def saved_settings(out: Path) -> dict:
    """The settings in the manifest of an interrupted run in ``out`` ({} when none is readable)."""
    try:
        return dict(json.loads((out / WORK_DIR / MANIFEST).read_text()).get("settings") or {})
    except (OSError, ValueError, AttributeError, TypeError):
        return {}


class WorkDir:
    """``OUT/.jukimatch-work``: the manifest and the chunk files of one run.

    ``settings`` are the values that shape chunk results (chunk size, sample size, model,
    partitions); ``digests`` the inputs' content hashes by role (``residents``, ``responses``).
    """

    def __init__(self, out: str | Path, *, inputs: dict[str, Path], digests: dict[str, str],
                 settings: dict, resume: bool):
        self.root = Path(out) / WORK_DIR
        self.inputs = {k: str(v) for k, v in inputs.items()}
        self.digests = dict(digests)
        self.settings = json.loads(json.dumps(settings, sort_keys=True, default=str))
        self.resumed = False
        self.reused_chunks = 0
        manifest = self.root / MANIFEST
        if resume and manifest.exists():
            self._check(json.loads(manifest.read_text()))
            self.resumed = True
            self._write_manifest(resumes=self._manifest.get("resumes", 0) + 1)
        else:
            if self.root.exists():
                shutil.rmtree(self.root)
            self.root.mkdir(parents=True)
            self._manifest = {}
            self._write_manifest(resumes=0)

    def _check(self, old: dict) -> None:
        if old.get("format") != FORMAT:
            raise ResumeError(f"{self.root}: work folder of another jukimatch version; run without --resume")
        for role, digest in self.digests.items():
            if old.get("digests", {}).get(role) != digest:
                raise ResumeError(f"{self.inputs[role]}: {role} changed since the interrupted run "
                                  f"(content hash differs); run without --resume to start afresh")
        if old.get("settings") != self.settings:
            diff = sorted(k for k in set(old.get("settings", {})) | set(self.settings)
                          if old.get("settings", {}).get(k) != self.settings.get(k))
            raise ResumeError(f"{self.root}: the interrupted run used other settings ({', '.join(diff)}); "
                              f"resume with the same options or run without --resume")
        self._manifest = old

    def _write_manifest(self, **extra) -> None:
        self._manifest.update({
            "format": FORMAT,
            "inputs": self.inputs,
            "digests": self.digests,
            "settings": self.settings,
            "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            **extra,
        })
        atomic_write_bytes(self.root / MANIFEST, json.dumps(self._manifest, indent=2).encode())

    def chunk_path(self, part: int, chunk: int) -> Path:
        return self.root / f"part{part:04d}" / f"chunk{chunk:06d}{CHUNK_SUFFIX}"

    def part_path(self, part: int, name: str) -> Path:
        """Where a result of the whole partition ``part`` is kept (a run in turn keeps its
        comparison whole, in one file, instead of chunk by chunk); its folder is made."""
        path = self.root / f"part{part:04d}" / name
        self._made(path.parent)
        return path

    def _made(self, folder: Path) -> None:
        """A partition's folder, made (and its entry flushed) where it is not yet."""
        if not folder.exists():
            folder.mkdir(parents=True, exist_ok=True)
            fsync_dir(self.root)

    def load_chunk(self, part: int, chunk: int) -> dict[str, np.ndarray] | None:
        """The saved arrays of a finished chunk, or None (never saved, or unreadable)."""
        path = self.chunk_path(part, chunk)
        if not path.exists():
            return None
        try:
            with open(path, "rb") as f:
                names = np.load(f, allow_pickle=False)
                arrays = {str(k): np.load(f, allow_pickle=False) for k in names}
        except (OSError, ValueError, EOFError):
            return None
        self.reused_chunks += 1
        return arrays

    def save_chunk(self, part: int, chunk: int, arrays: dict[str, np.ndarray]) -> None:
        path = self.chunk_path(part, chunk)
        self._made(path.parent)
        # the arrays' names, then each array, as .npy records written straight from memory:
        # an .npz archive copied every byte twice and checksummed it (a third of the save)
        with atomic_file(path) as f:
            np.save(f, np.array(list(arrays), dtype=str), allow_pickle=False)
            for a in arrays.values():
                np.save(f, a, allow_pickle=False)
        if part == 0:
            fault_point(f"chunk:{chunk}")

    def mark(self, phase: str) -> None:
        """Record a finished phase in the manifest (for people reading it; resume re-derives)."""
        self._write_manifest(phase=phase)
        fault_point(phase)

    def finish(self) -> None:
        """Every output is in place: the work folder has served."""
        shutil.rmtree(self.root, ignore_errors=True)


__all__ = ["CHUNK_SUFFIX", "FAULT_ENV", "ResumeError", "WORK_DIR", "WorkDir", "digests_in_background", "fault_point", "file_digest",
           "local_partitions", "saved_settings"]
