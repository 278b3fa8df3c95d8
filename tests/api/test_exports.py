"""The public surface changes only on purpose; the core imports without the extras."""
import subprocess
import sys

import jukimatch.api as api

EXPECTED = ["check_authenticity", "check_numbers", "generate", "link", "provide", "reconcile"]


def test_all_is_complete_and_sorted():
    assert api.__all__ == sorted(api.__all__) == EXPECTED
    for name in api.__all__:
        assert callable(getattr(api, name))
        assert getattr(api, name).__doc__


BLOCKER = """
import sys, importlib.abc
EXTRAS = {"starlette", "uvicorn", "httpx", "locust", "dask", "distributed", "splink", "duckdb",
          "pandas", "recordlinkage", "matplotlib"}
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in EXTRAS:
            raise ImportError(f"extra {name} imported by the core")
sys.meta_path.insert(0, Block())
import jukimatch.api, jukimatch.api.cli, jukimatch.engine.reconcile.pipeline, jukimatch.datasets
print("ok")
"""


def test_core_import_needs_no_extras():
    out = subprocess.run([sys.executable, "-c", BLOCKER], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
