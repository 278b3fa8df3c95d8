"""Run one contestant in its own process and measure it from outside, the same way for all.

Wall time is the parent's monotonic clock from spawn to exit (interpreter start and imports
included, for every contestant alike). Peak memory is the largest sum of resident set sizes
over the child and all its descendants, sampled by the parent with psutil every
``interval`` seconds; the child's own ``ru_maxrss`` (exact, kernel-kept, main process only)
is reported beside it and the larger of the two is the peak, so a short spike between two
samples of a single-process contestant is not missed.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class Measurement:
    """What one run of one contestant cost, and what it reported about itself."""

    returncode: int
    wall_s: float
    peak_rss_bytes: int  # max(sampled process-tree RSS, child's ru_maxrss)
    sampled_tree_peak_bytes: int
    child_maxrss_bytes: int | None
    samples: int
    timed_out: bool
    user_s: float = 0.0  # CPU seconds of the child and the descendants it waited for
    system_s: float = 0.0
    child: dict = field(default_factory=dict)  # the contestant's own result JSON
    stderr_tail: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def _tree_rss(proc) -> int:
    import psutil

    total = 0
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def run_measured(argv: list[str], *, result_path: Path, timeout: float | None = None,
                 interval: float = 0.02, env: dict | None = None, log_path: Path | None = None) -> Measurement:
    """Spawn ``argv``, sample its process tree until it exits, read its result JSON.

    The child is expected to write a JSON object to ``result_path`` (work time, its own
    ``ru_maxrss`` and anything else it wants reported). stdout and stderr go to
    ``log_path`` (or are discarded); the last lines of stderr come back on failure.
    """
    import psutil

    result_path = Path(result_path)
    if result_path.exists():
        result_path.unlink()
    import resource

    log = open(log_path, "wb") if log_path else subprocess.DEVNULL
    before = resource.getrusage(resource.RUSAGE_CHILDREN)  # the child's CPU: what reaping it adds
    try:
        t0 = time.perf_counter()
        popen = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT if log_path else subprocess.DEVNULL,
                                 env=env)
        proc = psutil.Process(popen.pid)
        peak = 0
        samples = 0
        timed_out = False
        while True:
            rc = popen.poll()
            if rc is not None:
                break
            peak = max(peak, _tree_rss(proc))
            samples += 1
            if timeout is not None and time.perf_counter() - t0 > timeout:
                timed_out = True
                _kill_tree(proc)
                popen.wait()
                rc = popen.returncode
                break
            time.sleep(interval)
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    finally:
        if log_path:
            log.close()
    child = {}
    if result_path.exists():
        try:
            child = json.loads(result_path.read_text())
        except json.JSONDecodeError:
            child = {}
    child_rss = child.get("maxrss_bytes")
    tail = ""
    if rc != 0 and log_path and Path(log_path).exists():
        tail = "\n".join(Path(log_path).read_text(errors="replace").splitlines()[-15:])
    return Measurement(
        returncode=rc, wall_s=wall, peak_rss_bytes=max(peak, child_rss or 0), sampled_tree_peak_bytes=peak,
        child_maxrss_bytes=child_rss, samples=samples, timed_out=timed_out, child=child, stderr_tail=tail,
        user_s=after.ru_utime - before.ru_utime, system_s=after.ru_stime - before.ru_stime,
    )


def _kill_tree(proc) -> None:
    """End the child we started and its descendants (by pid, children first)."""
    import psutil

    try:
        kids = proc.children(recursive=True)
    except psutil.Error:
        kids = []
    for p in [*reversed(kids), proc]:
        try:
            p.kill()
        except psutil.Error:
            pass


def self_maxrss_bytes() -> int:
    """This process's peak resident set (``ru_maxrss`` is KiB on Linux, bytes on macOS)."""
    import resource

    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(r if sys.platform == "darwin" else r * 1024)


def write_child_result(path: str | os.PathLike, payload: dict) -> None:
    payload = dict(payload)
    payload.setdefault("maxrss_bytes", self_maxrss_bytes())
    Path(path).write_text(json.dumps(payload, indent=2, default=str))
