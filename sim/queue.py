"""A multi-server FIFO queue (G/G/c, first come first served) as a Numba kernel, and Erlang C.

Requests arrive in time order; each goes to the server that becomes free first, waits
until then if all ``c`` are busy, and holds it for its service time. One pass over the
arrivals, ``O(n·c)`` with ``c`` small (a linear scan beats a heap below ~16 servers): tens
of millions of requests in well under a second. The kernel is private and trusts its
inputs; :func:`fifo_waits` checks them. Its plain-Python twin lives in the tests
(``tests/test_sim_queue.py``), checked against it with Hypothesis; :func:`erlang_c` is the
M/M/c closed form the planner is tested against.
"""
from __future__ import annotations

import math

import numba
import numpy as np

FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}  # no nnan/ninf (STYLE.md item 4)


@numba.njit(cache=True, fastmath=FASTMATH)
def _fifo_waits(arrivals, service, servers, out):  # pragma: no cover - compiled
    free = np.zeros(servers)
    for i in range(arrivals.shape[0]):
        k = 0
        earliest = free[0]
        for j in range(1, servers):
            if free[j] < earliest:
                earliest = free[j]
                k = j
        a = arrivals[i]
        start = a if a > earliest else earliest
        out[i] = start - a
        free[k] = start + service[i]
    return out


def fifo_waits(arrivals: np.ndarray, service: np.ndarray, servers: int) -> np.ndarray:
    """Waiting time of each request (seconds) in a FIFO queue before ``servers`` identical servers.

    ``arrivals`` must be sorted ascending, ``service`` as long and non-negative; both are
    read, never written (read-only buffers are fine).
    """
    arrivals = np.ascontiguousarray(arrivals, dtype=np.float64)
    service = np.ascontiguousarray(service, dtype=np.float64)
    if arrivals.ndim != 1 or service.shape != arrivals.shape:
        raise ValueError(f"arrivals and service must be 1-d of one length, got {arrivals.shape} and {service.shape}")
    if int(servers) != servers or servers < 1:
        raise ValueError(f"servers must be a positive integer, got {servers!r}")
    if len(arrivals) and (np.any(np.diff(arrivals) < 0) or np.any(service < 0)):
        raise ValueError("arrivals must be sorted ascending and service times non-negative")
    return _fifo_waits(arrivals, service, int(servers), np.empty_like(arrivals))


def erlang_c(servers: int, arrival_rate: float, service_rate: float) -> float:
    """Probability that an arrival waits in an M/M/c queue (Erlang C); 1.0 when overloaded."""
    c, a = int(servers), arrival_rate / service_rate
    if a >= c:
        return 1.0
    term, total = 1.0, 1.0  # a^k / k!, summed for k < c
    for k in range(1, c):
        term *= a / k
        total += term
    last = term * a / c * c / (c - a)  # a^c / c! * c / (c - a)
    return last / (total + last)


def mmc_wait_quantile(servers: int, arrival_rate: float, service_rate: float, q: float) -> float:
    """The ``q`` quantile of the waiting time in M/M/c: P(W > t) = C·exp(-(cμ-λ)t)."""
    pw = erlang_c(servers, arrival_rate, service_rate)
    if pw <= 1 - q:
        return 0.0
    return math.log(pw / (1 - q)) / (servers * service_rate - arrival_rate)
