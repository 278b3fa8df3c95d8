"""Plain-Python twins of the FIFO multi-server queue:
slow, obviously right, compared with the kernels by Hypothesis."""
from __future__ import annotations

import heapq


def fifo_waits_naive(arrivals, service, servers):
    """Obviously FIFO: each request takes the server that frees first (a heap of free times)."""
    free = [0.0] * servers
    heapq.heapify(free)
    waits = []
    for a, s in zip(arrivals, service):
        earliest = heapq.heappop(free)
        start = max(a, earliest)
        waits.append(start - a)
        heapq.heappush(free, start + s)
    return waits
