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


def naive_bearers(names, answer_names, answer_numbers):
    """Per name: the rows bearing it, or the distinct (name, number) answers bearing it where
    more; 0 for the absent name 0; answers without a number (negative) not counted."""
    rows = {}
    for k in names:
        rows[k] = rows.get(k, 0) + 1
    distinct = {(a, v) for a, v in zip(answer_names, answer_numbers) if a and v >= 0}
    answered = {}
    for a, _v in distinct:
        answered[a] = answered.get(a, 0) + 1
    return [max(rows[k], answered.get(k, 0)) if k else 0 for k in names]


def naive_risk(b, cell, rel, r, scale=1.0):
    prior = max(scale * (r.alpha0 + r.alpha * (1 - math.exp(-r.k * b))), r.floor[0] * (1 - math.exp(-r.floor[1] * b)))
    ri = rel if rel >= 0 else N_RELATIONS
    odds = prior * (r.u_cell[cell] * r.u_rel[ri]) / (r.m_cell[cell] * r.m_rel[ri])
    return odds / (1 + odds)


def naive_rules(has, strong, plausible, confirmed, shared, held_by_other, held, ch, rival, w, w_run, p_run, risk,
                risk_given, number_ok, number, sex_level, date_level, gaiji, conflict, elsewhere, thin, twin, rejected,
                answered, response_invalid, counts, min_margin, runner_up, max_risk):
    """The decision's rules as numpy masks over all persons (the engine's code before the
    rules kernel): (code as DECISIONS index, {reason: bool per person})."""
    import numpy as np

    from jukimatch.engine.outcomes import DECISIONS, MATCH, NO_MATCH, PENDING, REJECTED, REVIEW

    n = len(has)
    if len(number):
        pick = lambda a: a[ch]  # noqa: E731
    else:  # no pair at all: no person has a candidate; pair values are never read
        pick = lambda a: np.zeros(n, a.dtype)  # noqa: E731
    rules = {
        "response_invalid": response_invalid & ~rejected,
        "check_digit": plausible & ~pick(number_ok) & (pick(number) >= 0),
        "number_format": plausible & (pick(number) < 0),
        "number_shared": plausible & shared,
        "held_by_other": plausible & held_by_other,
        "held_number_differs": plausible & (held >= 0) & ~confirmed,
        "sex_mismatch": strong & (pick(sex_level) == 0) & ~confirmed,
        "birth_date_mismatch": strong & (pick(date_level) == 0) & ~confirmed,
        "gaiji": has & pick(gaiji),
        "name_conflict": strong & ~confirmed & pick(conflict),
        "address_elsewhere": strong & ~confirmed & pick(elsewhere),
        "weak_corroboration": strong & ~confirmed & pick(thin),
        "ambiguous": plausible & ~confirmed & (rival >= 0) & (
            (w - w_run < min_margin)
            | ((p_run >= runner_up) & ~(conflict | elsewhere | thin)[np.maximum(rival, 0)] if len(number)
               else np.zeros(n, bool))),
        "namesake_risk": strong & ~confirmed & (risk > max_risk) if risk_given else np.zeros(n, bool),
        "duplicate_record": twin == 1,
        "namesake_twin": twin == 2,
    }
    fired = np.zeros(n, dtype=bool)
    for m in rules.values():
        fired |= m
    unanswered = ~answered & ~rejected
    pending = unanswered & (twin == 0)
    live = ~unanswered & ~rejected
    auto = live & (strong | (confirmed & plausible)) & ~fired
    uncertain = live & has & ~auto & ~fired & (plausible | confirmed)
    flags = dict(rules)
    flags.update(strong_unique=auto & ~confirmed, held_number_confirmed=auto & confirmed, uncertain=uncertain,
                 weak_candidates=live & has & ~plausible & ~confirmed & ~fired,
                 not_found=live & (counts == 0) & ~response_invalid, unanswered=unanswered)
    kept = ~rejected
    for c in flags:
        flags[c] = flags[c] & (kept if c in ("unanswered", "duplicate_record", "namesake_twin") else kept & ~unanswered)
    code = np.full(n, DECISIONS.index(NO_MATCH), dtype=np.int8)
    code[uncertain | (fired & live)] = DECISIONS.index(REVIEW)
    code[auto] = DECISIONS.index(MATCH)
    code[twin > 0] = DECISIONS.index(REVIEW)
    code[pending] = DECISIONS.index(PENDING)
    code[rejected] = DECISIONS.index(REJECTED)
    return code, flags
