"""The machine and the library versions a measurement ran on, printed beside every figure."""
from __future__ import annotations

import os
import platform
from importlib import metadata

#: distributions whose versions every benchmark reports (absent ones are reported as such)
LIBRARIES = (
    "jukimatch", "numpy", "numba", "pyarrow", "rapidfuzz", "jntajis-python", "splink", "duckdb",
    "pandas", "psutil", "pytest-benchmark", "python-stdnum", "matplotlib",
)


BENCH_EXTRA = ".venv/bin/uv pip install -e '.[bench]'"


def missing_modules(*names: str) -> list[str]:
    """Which of the modules ``names`` are not installed (the bench extra brings them all)."""
    import importlib.util

    return sorted(n for n in set(names) if importlib.util.find_spec(n) is None)


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (Linux), else what :mod:`platform` knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def core_count() -> dict:
    """Logical cores, cores usable by this process, and physical cores when psutil knows."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    physical = None
    try:
        import psutil

        physical = psutil.cpu_count(logical=False)
    except ImportError:
        pass
    return {"logical": os.cpu_count(), "usable": usable, "physical": physical}


def memory_bytes() -> int | None:
    try:
        import psutil

        return int(psutil.virtual_memory().total)
    except ImportError:
        return None


def versions(names: tuple[str, ...] = LIBRARIES) -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def describe() -> dict:
    """Everything above as one JSON-ready dict."""
    return {
        "cpu": cpu_model(),
        "cores": core_count(),
        "memory_bytes": memory_bytes(),
        "platform": platform.platform(),
        "versions": versions(),
    }


def banner(info: dict | None = None) -> str:
    """A few human lines: CPU, cores, memory, library versions."""
    info = info or describe()
    c = info["cores"]
    mem = info.get("memory_bytes")
    lines = [
        f"machine : {info['cpu']}, {c['logical']} logical cores ({c['usable']} usable, "
        f"{c['physical'] or '?'} physical), "
        + (f"{mem / 2**30:.1f} GiB RAM" if mem else "RAM unknown"),
        f"platform: {info['platform']}",
        "versions: " + ", ".join(f"{k} {v}" for k, v in info["versions"].items() if v),
    ]
    missing = [k for k, v in info["versions"].items() if not v]
    if missing:
        lines.append("absent  : " + ", ".join(missing))
    return "\n".join(lines)
