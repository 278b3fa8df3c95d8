"""The jukimatch command loads Numba's array lowering without SciPy's BLAS probe."""
import subprocess
import sys


def test_command_loads_numba_without_importing_scipy_linalg():
    code = ("import sys\n"
            "from jukimatch.engine.runtime import numba_without_blas\n"
            "numba_without_blas()\n"
            "import numpy as np\n"
            "from jukimatch.engine.validate.checkdigit import scan_numbers\n"
            "kind, num = scan_numbers(['123456789018', 'x'])\n"
            "assert kind.tolist() == [1, 0], kind\n"
            "assert 'scipy.linalg' not in sys.modules\n"
            "assert 'scipy.linalg.cython_blas' not in sys.modules  # not left blocked either\n"
            "import importlib.util\n"
            "if importlib.util.find_spec('scipy'):\n"
            "    import scipy.linalg.cython_blas  # still importable afterwards\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
