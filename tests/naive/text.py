"""Plain-Python twins of the code-point layout and string hashes:
slow, obviously right, compared with the kernels by Hypothesis."""
from __future__ import annotations


def naive_layout(values):
    cp, off = [], [0]
    for v in values:
        cp.extend(map(ord, v or ""))
        off.append(len(cp))
    return cp, off


def naive_hash(s: str) -> int:
    if not s:
        return 0
    h = 14695981039346656037
    for ch in s:
        h = ((h ^ ord(ch)) * 1099511628211) % 2**64
    return h or 1


def naive_number_kind(v):
    if v is None or v == "":
        return 3, -1
    if len(v) != 12 or not all("0" <= c <= "9" for c in v):
        return 0, -1
    r = sum(int(d) * w for d, w in zip(v[:11], (6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2))) % 11
    return (1 if (0 if r <= 1 else 11 - r) == int(v[11]) else 2), int(v)
