"""Plain-Python twins of check digits and exact key look-ups:
slow, obviously right, compared with the kernels by Hypothesis."""
from __future__ import annotations


def naive_check_digit(body: str) -> int:
    """The ordinance's words: P_n the n-th digit from the right, Q_n = n+1 (n<=6) else n-5."""
    r = 0
    for n in range(1, 12):
        p = int(body[11 - n])
        q = n + 1 if n <= 6 else n - 5
        r += p * q
    r %= 11
    return 0 if r <= 1 else 11 - r


def naive_key_positions(keys, values):
    first, count = {}, {}
    for i, k in enumerate(keys):
        if k is None:
            continue
        first.setdefault(k, i)
        count[k] = count.get(k, 0) + 1
    repeated = [k is not None and count[k] > 1 for k in keys]
    return repeated, [first.get(v, -1) if v is not None else -1 for v in values]
