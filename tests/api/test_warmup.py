"""The kernel warm-up of ``make install``: who compiles what, and whether its list is current.

Speed is measured in bench/ (``bench_first_demo``); here only the plan and the list.
"""
import json
import subprocess
import sys

from jukimatch.api.warmup import Kernel, load, shares


def _k(module, name, seconds, *helpers):
    return Kernel(module, name, "()", seconds, frozenset(helpers))


def test_shares_keep_modules_and_two_signature_helpers_together_and_balance():
    kernels = [_k("a", "f", 10.0), _k("a", "g", 2.0), _k("b", "f", 5.0), _k("c", "f", 4.0),
               _k("d", "f", 1.0, ("c", "h", "(int64,)")), _k("e", "f", 1.0, ("c", "h", "(int64,)")), _k("f", "f", 3.0)]
    parts = shares(kernels, 2)
    assert sorted(i for p in parts for i in p) == list(range(len(kernels)))
    where = {i: n for n, p in enumerate(parts) for i in p}
    assert where[0] == where[1]  # module a in one process
    assert where[4] == where[5]  # tied by their helper c.h, compiled for two signatures
    loads = sorted(sum(kernels[i].seconds for i in p) for p in parts)
    assert loads == [12.0, 14.0]
    assert len(shares(kernels, 1)) == 1
    assert shares([], 2) == []


SMALL_RUN = """
import json, sys, tempfile
from pathlib import Path
from jukimatch.api.warmup import called_kernels, compiled_by_small_run
with tempfile.TemporaryDirectory() as tmp:
    compiled_by_small_run(Path(tmp))
print(json.dumps(sorted(called_kernels())))
"""


def test_the_list_is_what_a_small_reconciliation_calls():
    """A kernel added, renamed or given another signature since the list was recorded is compiled
    by the first run instead (slower, not wrong): record the list again when this fails."""
    out = subprocess.run([sys.executable, "-c", SMALL_RUN], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    called = {tuple(k) for k in json.loads(out.stdout)}
    listed = {(k.module, k.name, k.signature) for k in load()}
    hint = "run `.venv/bin/python -m jukimatch.api.warmup --record` and commit api/data/kernels.txt"
    assert called - listed == set(), f"not listed: {sorted(called - listed)}; {hint}"
    assert listed - called == set(), f"listed, no longer called: {sorted(listed - called)}; {hint}"
