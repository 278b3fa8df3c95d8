"""The process keeps the memory it frees (``keep_freed_memory``): a second array of the same
size reuses the first one's pages instead of faulting in fresh ones the kernel must zero."""
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
