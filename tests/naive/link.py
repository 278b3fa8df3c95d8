"""Plain-Python twins of blocking, one-to-one assignment and the link model's weights and EM:
slow, obviously right, compared with the kernels by Hypothesis."""
from __future__ import annotations

import math

import numpy as np

from jukimatch.engine.link.model import WeightTables


def naive_greedy(w, li, ri):
    """Sort by (-weight, left, right); take a pair when both records are still free."""
    order = sorted(range(len(w)), key=lambda k: (-w[k], li[k], ri[k]))
    used_l, used_r, keep = set(), set(), [False] * len(w)
    for k in order:
        if li[k] not in used_l and ri[k] not in used_r:
            used_l.add(li[k])
            used_r.add(ri[k])
            keep[k] = True
    return keep


def naive_block(lk: np.ndarray, rk: np.ndarray | None):
    """Every pair, the first rule whose keys agree (non-zero, equal); raw counts per rule."""
    dedupe = rk is None
    other = lk if dedupe else rk
    pairs, raw = {}, [0] * lk.shape[1]
    for i in range(len(lk)):
        for j in range(len(other)):
            if dedupe and j <= i:
                continue
            for r in range(lk.shape[1]):
                if lk[i, r] != 0 and lk[i, r] == other[j, r]:
                    raw[r] += 1
                    pairs.setdefault((i, j), r)
    return pairs, raw


def naive_token_key(s: str, transform: str) -> tuple | None:
    """What a key identifies, as a plain value (equal keys <=> equal values); None = no key."""
    if not s:
        return None
    toks = s.split(" ")
    if transform == "first_token":
        return ("t", toks[0])
    if transform == "last_token":
        return ("t", toks[-1])
    if transform == "sorted_tokens":
        return ("s", tuple(sorted(toks)))
    if transform == "nospace":
        return ("t", s.replace(" ", ""))
    n = int(transform[len("prefix"):])
    return ("t", s.replace(" ", "")[:n])


def naive_pair(t: WeightTables, lv: list[int], a: int, b: int) -> tuple[float, list[float]]:
    """Weight without the prior and field weights of one pair, written out plainly."""
    fw = []
    for f, level in enumerate(lv):
        w = float(t.lw[f][level + 1])
        if t.tf_on[f][level + 1]:
            s = t.tf_slot[f]
            if t.keyed[s]:  # only a shared value is adjusted
                same = t.key_l[s][a] != 0 and t.key_l[s][a] == t.key_r[s][b]
                tf = t.log_tf_l[s][a] if same else -math.inf
            else:
                tf = max(t.log_tf_l[s][a], t.log_tf_r[s][b])
            if tf != -math.inf:
                w = float(t.lm[f][level + 1]) - tf
        fw.append(w)
    total = 0.0
    best: dict[int, int] = {}
    for f, w in enumerate(fw):
        g = int(t.group[f])
        if g < 0 or w <= 0:
            total += w
        elif g not in best or w > fw[best[g]]:
            best[g] = f
    for g in sorted(best):
        total += fw[best[g]]
    shown = [0.0 if t.group[f] >= 0 and w > 0 and best.get(int(t.group[f])) != f else w for f, w in enumerate(fw)]
    return total, shown


def naive_weights(t: WeightTables, levels, li, ri):
    out, fws = [], []
    for k in range(len(li)):
        w, fw = naive_pair(t, list(levels[k]), int(li[k]), int(ri[k]))
        out.append(t.prior_weight + w)
        fws.append(fw)
    return np.array(out), np.array(fws).reshape(len(li), levels.shape[1])


def naive_em(t: WeightTables, levels, li, ri):
    sums = np.zeros((levels.shape[1], 8))
    total = 0.0
    w, _ = naive_weights(t, levels, li, ri)
    for k in range(len(li)):
        if w[k] < -60.0:  # the kernel leaves out pairs below 1e-18
            continue
        p = 1.0 / (1.0 + 2.0 ** (-min(w[k], 60.0)))
        total += p
        for f in range(levels.shape[1]):
            sums[f][levels[k][f] + 1] += p
    return sums, total
