"""What ``jukimatch reconcile`` imports before it reads a row: what the run needs, nothing else.

Speed is measured in bench/ (``bench_probe``'s cold-start row); here only which modules load.
"""
import json
import subprocess
import sys

START = """
import json, sys
from jukimatch.api.cli import build_parser
build_parser().parse_args(["reconcile", "--residents", "a.csv", "--responses", "b.csv", "--out", "o"])
import jukimatch.engine.reconcile.pipeline, jukimatch.engine.reconcile.local
print(json.dumps(sorted(sys.modules)))
"""

#: loaded by other commands only: the service's store and audit chain, the generator, the
#: linker, the web stack, plotting. (Not scipy: Numba imports it to check its version
#: wherever it is installed, as the bench extra does; the core install has none.)
NOT_FOR_RECONCILE = ("sqlite_utils", "jukimatch.api.service.store", "jukimatch.api.service.chain",
                     "jukimatch.api.review.cases", "jukimatch.datasets", "jukimatch.engine.link",
                     "jukimatch.engine.report", "matplotlib", "jinja2", "starlette", "httpx")


def test_reconcile_starts_without_what_it_does_not_use():
    out = subprocess.run([sys.executable, "-c", START], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    loaded = set(json.loads(out.stdout))
    assert "jukimatch.engine.reconcile.local" in loaded
    assert not [m for m in NOT_FOR_RECONCILE if m in loaded]


def test_lazy_names_are_the_functions_whatever_was_imported_first():
    """``link`` and ``export`` name both a function and its submodule: importing the submodule
    first must not hide the function."""
    code = """
import jukimatch.api.link, jukimatch.api.review.export
from jukimatch.api import link
from jukimatch.api.review import export, load_run
from jukimatch.api.service import Store, check_authenticity
import jukimatch.api as api
assert callable(link) and link is api.link and link.__module__ == "jukimatch.api.link"
assert callable(export) and export.__module__ == "jukimatch.api.review.export"
assert callable(load_run) and isinstance(Store, type) and check_authenticity is api.check_authenticity
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]


FIRST_READ = """
import os, sys
import jukimatch.engine.io as io
def first_read(path, kind, encoding):
    os.write(1, (kind + " " + str("numba" in sys.modules) + chr(10)).encode())
    os._exit(0)
io._read_table = first_read
from jukimatch.api.cli import main
main(sys.argv[1:])
"""


def test_reconcile_reads_before_it_imports_the_engine(tmp_path):
    """The inputs are being read while Numba and the engine import (the cold start's largest
    part): the first read, of either input (both are read at once), starts before ``numba``
    is imported."""
    args = ["reconcile", "--residents", str(tmp_path / "r.csv"), "--responses", str(tmp_path / "s.csv"),
            "--out", str(tmp_path / "o"), "--max-risk", "1e-4"]
    out = subprocess.run([sys.executable, "-c", FIRST_READ, *args], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    kind, numba_loaded = out.stdout.split()[:2]
    assert kind in ("residents", "responses") and numba_loaded == "False", out.stdout


OWN_PROCESS = """
import atexit, sys
atexit.register(lambda: print("pandas" in sys.modules))
from jukimatch.api.cli import entry
sys.argv = ["jukimatch", *sys.argv[1:]]
entry()
"""


def test_reconcile_in_its_own_process_never_imports_pandas(tmp_path):
    """The command refuses pandas in its own process (pyarrow would import it only to ask
    whether a value is a pandas object): the run ends without it, with the outputs of a
    run in this process, where pandas is not refused."""
    import pyarrow.parquet as pq

    from jukimatch.api import generate
    from jukimatch.api.cli import main

    paths = generate(400, tmp_path / "data", seed=5, fmt="csv")["paths"]
    args = ["reconcile", "--residents", str(paths["residents"]), "--responses", str(paths["responses"]), "--quiet"]
    out = subprocess.run([sys.executable, "-c", OWN_PROCESS, *args, "--out", str(tmp_path / "own")],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["False"]
    assert main([*args, "--out", str(tmp_path / "here")]) == 0
    from jukimatch.engine.io import _NoPandas
    assert _NoPandas not in sys.meta_path  # main() in a process of others refuses nothing
    for name in ("decisions", "review", "pending", "rejected"):
        assert pq.read_table(tmp_path / "own" / f"{name}.parquet").equals(
            pq.read_table(tmp_path / "here" / f"{name}.parquet")), name
