"""Who shares a name: a heavy head of common names, a long tail, namesake twins, absent answers.

DOMAIN.md: NGUYEN VAN AN or WANG WEI is held by hundreds of residents, most names by one or
two; two humans can share name, birth date and sex; and Juki-net, asked about a person it
has no record of, may answer with such a namesake. Every draw comes from the generator
passed in; a profile that leaves these phenomena off never calls them.
"""
from __future__ import annotations

from functools import cache

import numpy as np

from . import vocab
from .names import Names, draw_sexed
from .people import People

# What a namesake twin copies from the first of the pair: everything the 4 information holds
# except the address (placed by [namesakes]) and the notation of the record.
TWIN_FIELDS = ("klass", "nationality", "male", "sex", "year", "month", "day")


@cache
def head_names() -> list[tuple[str, bool, int, int, tuple[int, ...], float]]:
    """(nationality, male, surname id, middle id or -1, given ids, weight) of ``data/head_names.tsv``."""
    tokens = vocab.name_tokens()
    alpha = tokens.alpha.to_pylist()
    nat = vocab.nationalities()
    groups = vocab.group_names()

    def token(group: str, role: str, text: str) -> int:
        ids, probs = tokens.pool(group, role)
        hits = [i for i in ids[np.argsort(-probs, kind="stable")] if alpha[i] == text]
        if not hits:
            raise ValueError(f"head_names.tsv: {text!r} is not a {group} {role} token of names.tsv")
        return int(hits[0])

    out = []
    for r in vocab.rows_of("head_names.tsv"):
        group = groups[nat.group[nat.codes.index(r["nationality"])]]
        sx = r["sex"]
        mid = -1 if r["middle"] == "-" else token(group, f"mid_{sx}", r["middle"])
        given = tuple(token(group, f"giv_{sx}", g) for g in r["given"].split())
        out.append((r["nationality"], sx == "m", token(group, "sur", r["surname"]), mid, given, float(r["weight"])))
    return out


def shape_names(rng: np.random.Generator, people: People, codes: list[str], head: float,
                long_tail: float) -> np.ndarray:
    """Give ``head`` of each head name's nationality and sex one of them; lengthen ``long_tail`` of the rest.

    Returns the rows now carrying a head name.
    """
    names = people.names
    n = len(people)
    is_head = np.zeros(n, dtype=bool)
    table = head_names()
    for code in sorted({h[0] for h in table}):
        for male in (True, False):
            options = [h for h in table if h[0] == code and h[1] == male]
            if not options:
                continue
            rows = np.flatnonzero((people.nationality == codes.index(code)) & (people.male == male)
                                  & (rng.random(n) < head))
            weights = np.array([o[5] for o in options])
            pick = rng.choice(len(options), size=len(rows), p=weights / weights.sum())
            for k, (_, _, sur, mid, given, _) in enumerate(options):
                sel = rows[pick == k]
                names.sur[sel] = sur
                names.mid[sel] = mid
                names.giv[sel] = -1
                names.giv[sel, : len(given)] = given
            is_head[rows] = True
    if long_tail > 0:
        free = (names.giv < 0).any(axis=1)
        rows = np.flatnonzero(~is_head & free & (rng.random(n) < long_tail))
        slot = (names.giv[rows] >= 0).sum(axis=1)
        for gi, gname in enumerate(vocab.group_names()):
            sel = names.group[rows] == gi
            if sel.any():
                names.giv[rows[sel], slot[sel]] = draw_sexed(rng, gname, "giv", people.male[rows[sel]])
    return is_head


def name_keys(names: Names) -> np.ndarray:
    """One integer per distinct name (group, surname, given tokens, middle): equal iff same name."""
    key = np.column_stack([names.group, names.sur, names.giv, names.mid]).astype(np.int64)
    return np.unique(key, axis=0, return_inverse=True)[1].ravel()


def bearers(names: Names) -> np.ndarray:
    """Per row, how many rows bear the same name (itself included)."""
    keys = name_keys(names)
    return np.bincount(keys)[keys]


def namesake_chance(bearer_counts: np.ndarray, share: float) -> np.ndarray:
    """Per absent person, the chance Juki-net answers with a namesake: ``1 - exp(-k * bearers)``.

    ``k`` is set so that the mean chance is ``share``: a name borne by hundreds nearly always
    has a namesake on the register born the same day, a name borne by one rarely does.
    """
    b = np.asarray(bearer_counts, dtype=np.float64)
    if share <= 0 or not len(b):
        return np.zeros(len(b))
    lo, hi = 0.0, 1.0
    while np.mean(1 - np.exp(-hi * b)) < share and hi < 1e9:
        hi *= 2
    for _ in range(60):
        k = (lo + hi) / 2
        lo, hi = (k, hi) if np.mean(1 - np.exp(-k * b)) < share else (lo, k)
    return 1 - np.exp(-hi * b)


def pair_twins(rng: np.random.Generator, people: People, eligible: np.ndarray,
               share: float) -> tuple[np.ndarray, np.ndarray]:
    """Make ``share`` of the rows into namesake-twin pairs: (first rows, second rows).

    The second copies the first's name, birth date, sex, nationality and class; it keeps its
    own card and notation; the caller places its address.
    """
    pool = np.flatnonzero(eligible)
    pairs = min(int(round(share * len(people) / 2)), len(pool) // 2)
    chosen = rng.choice(pool, size=2 * pairs, replace=False)
    first, second = chosen[:pairs], chosen[pairs:]
    src = people.take(first)
    for f in TWIN_FIELDS:
        getattr(people, f)[second] = getattr(src, f)
    for f in ("group", "sur", "giv", "mid", "has_kanji", "has_kana"):
        getattr(people.names, f)[second] = getattr(src.names, f)
    return first, second
