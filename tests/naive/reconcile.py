"""Plain-Python twins of the decision's ranking and the namesake kernels:
slow, obviously right, compared with the kernels by Hypothesis."""
from __future__ import annotations

import math

from jukimatch.engine.reconcile.namesakes import N_RELATIONS


def naive_rank(person, weight, n):
    """Per person: candidates ordered by weight (highest first), ties by pair order."""
    best, runner = [-1] * n, [-1] * n
    for p in range(n):
        mine = sorted((i for i in range(len(person)) if person[i] == p), key=lambda i: (-weight[i], i))
        if mine:
            best[p] = mine[0]
        if len(mine) > 1:
            runner[p] = mine[1]
    return best, runner


M64 = (1 << 64) - 1
FNV_OFFSET, FNV_PRIME = 14695981039346656037, 1099511628211


def naive_mix(h):
    h = ((h ^ (h >> 30)) * 0xBF58476D1CE4E5B9) & M64
    h = ((h ^ (h >> 27)) * 0x94D049BB133111EB) & M64
    return h ^ (h >> 31)


def naive_fnv(text):
    h = FNV_OFFSET
    for ch in text:
        h = ((h ^ ord(ch)) * FNV_PRIME) & M64
    return h


def naive_name_key(text, tokens):
    if text is None:
        return 0
    parts = [t for t in text.replace("\u3000", " ").split(" ") if t]
    if not parts:
        return 0
    key = sum(naive_mix(naive_fnv(t)) for t in parts) & M64 if tokens else naive_mix(naive_fnv("".join(parts)))
    return key or 1


def naive_mix_keys(*keys):
    out, absent = [0] * len(keys[0]), [False] * len(keys[0])
    for k in keys:
        for i, x in enumerate(int(v) for v in k):
            absent[i] |= x == 0
            out[i] = naive_mix((((out[i] ^ x) * 0x9E3779B97F4A7C15) + 0x632BE59BD9B4E019) & M64)
    return [0 if a else (o or 1) for o, a in zip(out, absent)]


def naive_risk(b, cell, rel, r, scale=1.0):
    prior = max(scale * (r.alpha0 + r.alpha * (1 - math.exp(-r.k * b))), r.floor[0] * (1 - math.exp(-r.floor[1] * b)))
    ri = rel if rel >= 0 else N_RELATIONS
    odds = prior * (r.u_cell[cell] * r.u_rel[ri]) / (r.m_cell[cell] * r.m_rel[ri])
    return odds / (1 + odds)
