"""The process keeps the memory it frees (``keep_freed_memory``): a second array of the same
size reuses the first one's pages instead of faulting in fresh ones the kernel must zero; and
what a container's cgroup still allows counts in the memory available."""
import platform
import subprocess
import sys

import pytest

_SCRIPT = """
import resource, sys
if sys.argv[1] == "keep":
    from jukimatch.engine.memory import keep_freed_memory
    keep_freed_memory()
import numpy as np
from concurrent.futures import ThreadPoolExecutor

def touch():
    a = np.ones(25_000_000)  # 200 MB
    del a

with ThreadPoolExecutor(1) as pool:  # on a thread, as the engine's stages run
    pool.submit(touch).result()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    pool.submit(touch).result()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", _SCRIPT, mode], capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


@pytest.mark.skipif(sys.platform != "linux" or platform.libc_ver()[0] != "glibc", reason="glibc's allocator only")
def test_freed_memory_is_reused():
    control, kept = _faults("default"), _faults("keep")
    assert control >= 40  # a fresh mapping: 200 MB faulted in again (huge pages or small)
    assert kept < control / 4


_ABOVE = """
import resource, sys
from jukimatch.engine.memory import keep_freed_memory, release_above, resident_bytes
keep_freed_memory()
import numpy as np

def touch():
    a = np.ones(25_000_000)  # 200 MB
    del a

touch()
rss = resident_bytes()
released = release_above(rss + (1 << 30) if sys.argv[1] == "below" else 0)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
touch()
print(int(released), resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.skipif(sys.platform != "linux" or platform.libc_ver()[0] != "glibc", reason="glibc's allocator only")
def test_freed_memory_is_handed_back_only_above_the_line():
    """Below its line a step's freed memory stays for the next step (few faults); above, it
    goes back to the kernel and the next step faults its pages in again."""
    runs = {}
    for mode in ("below", "above"):
        out = subprocess.run([sys.executable, "-c", _ABOVE, mode], capture_output=True, text=True, check=True)
        runs[mode] = tuple(int(x) for x in out.stdout.split())
    (kept_released, kept_faults), (given_released, given_faults) = runs["below"], runs["above"]
    assert (kept_released, given_released) == (0, 1)
    assert given_faults >= 40 and kept_faults < given_faults / 4


def test_resident_bytes_reads_this_process():
    from jukimatch.engine.memory import resident_bytes

    rss = resident_bytes()
    assert rss is None if sys.platform != "linux" else 10 << 20 < rss < 1 << 40


def test_a_containers_memory_limit_counts(tmp_path):
    """cgroup v2 and v1: limit less usage, droppable page cache given back; no limit: None."""
    from jukimatch.engine.memory import cgroup_room

    v2 = tmp_path / "v2"
    (v2 / "sys" / "app").mkdir(parents=True)
    (v2 / "cgroup").write_text("0::/app\n")
    (v2 / "sys" / "app" / "memory.max").write_text("4294967296\n")
    (v2 / "sys" / "app" / "memory.current").write_text("1073741824\n")
    (v2 / "sys" / "app" / "memory.stat").write_text("anon 900000000\ninactive_file 104857600\n")
    assert cgroup_room(v2 / "cgroup", v2 / "sys") == 4294967296 - 1073741824 + 104857600
    (v2 / "sys" / "app" / "memory.max").write_text("max\n")
    assert cgroup_room(v2 / "cgroup", v2 / "sys") is None
    v1 = tmp_path / "v1"
    (v1 / "sys" / "memory" / "box").mkdir(parents=True)
    (v1 / "cgroup").write_text("5:devices:/\n4:memory:/box\n0::/\n")
    (v1 / "sys" / "memory" / "box" / "memory.limit_in_bytes").write_text("2147483648\n")
    (v1 / "sys" / "memory" / "box" / "memory.usage_in_bytes").write_text("2200000000\n")
    (v1 / "sys" / "memory" / "box" / "memory.stat").write_text("cache 10\ntotal_inactive_file 0\n")
    assert cgroup_room(v1 / "cgroup", v1 / "sys") == 0  # over its limit: nothing left
    assert cgroup_room(tmp_path / "none", tmp_path) is None
