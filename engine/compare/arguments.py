"""Argument checks of the comparison wrappers: kernels take contiguous arrays and check nothing.

Each check raises ``ValueError`` with a message naming the argument, so a caller's mistake
never reaches a kernel (where it would read out of bounds or fail to compile).
"""
from __future__ import annotations

import numpy as np

from jukimatch.engine.text import Codepoints

__all__ = ["check_array", "check_codepoints", "check_pairs", "check_range", "max_len"]


def check_array(x, name: str, dtype) -> np.ndarray:
    if not isinstance(x, np.ndarray):
        raise ValueError(f"{name} must be a numpy array of {np.dtype(dtype)}, got {type(x).__name__}")
    if x.dtype != dtype:
        raise ValueError(f"{name} must have dtype {np.dtype(dtype)}, got {x.dtype}")
    if x.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {x.shape}")
    # Kernels only ever see read-only contiguous views: one compiled signature whether the
    # caller's array is writable or an np.frombuffer view, and a kernel that wrote to an
    # input would not compile.
    view = np.ascontiguousarray(x).view()
    view.flags.writeable = False
    return view


def check_pairs(li, ri, n_left: int, n_right: int) -> tuple[np.ndarray, np.ndarray]:
    li = check_array(li, "li", np.int64)
    ri = check_array(ri, "ri", np.int64)
    if len(li) != len(ri):
        raise ValueError(f"li and ri must have the same length, got {len(li)} and {len(ri)}")
    for idx, name, n in ((li, "li", n_left), (ri, "ri", n_right)):
        if len(idx) and (idx.min() < 0 or idx.max() >= n):
            raise ValueError(f"{name} must index rows 0..{n - 1} of its side, got values in "
                             f"[{idx.min()}, {idx.max()}]")
    return li, ri


def check_codepoints(c, name: str) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(c, Codepoints):
        raise ValueError(f"{name} must be a Codepoints (engine.text.to_codepoints), got {type(c).__name__}")
    cp = check_array(c.cp, f"{name}.cp", np.uint32)
    off = check_array(c.off, f"{name}.off", np.int64)
    if len(off) == 0:
        raise ValueError(f"{name}.off must hold n + 1 offsets, got an empty array")
    if off[0] < 0 or off[-1] > len(cp) or (len(off) > 1 and np.any(off[1:] < off[:-1])):
        raise ValueError(f"{name}.off must be non-decreasing offsets into {name}.cp (length {len(cp)})")
    return cp, off


def max_len(*offs: np.ndarray) -> int:
    return max((int(np.max(o[1:] - o[:-1])) if len(o) > 1 else 0) for o in offs)


def check_range(x: np.ndarray, name: str, lo: int, hi: int) -> None:
    if len(x) and (x.min() < lo or x.max() > hi):
        bad = int(np.flatnonzero((x < lo) | (x > hi))[0])
        raise ValueError(f"{name} must lie in [{lo}, {hi}] (0 = unknown), row {bad} holds {x[bad]}")
