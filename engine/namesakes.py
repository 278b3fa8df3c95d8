"""Namesake risk and duplicate records, estimated from the two files themselves.

Juki-net answers an inquiry about a person it has no record of with the closest record it
has, and a *namesake* — same name, birth date and sex — is as close as the person. Foreign
residents cluster by nationality, so that namesake often lives in the same town or the same
dormitory: address agreement that proves a rare name proves little for NGUYEN VAN AN in
川口. Nothing here is assumed about where namesakes live; every rate comes from the inputs:

- how many people bear each name (per notation, after normalisation): among the agency's
  residents, and the distinct numbers Juki-net returned with it;
- how often two bearers of one name also share birth date and sex (``rho``), from the
  residents themselves, shrunk towards the file's birth-date coincidence rate;
- how often an inquiry has no record of its own (``absent``: not_found or only weak answers);
- where the other bearers of the name live relative to this person (same room, block, town,
  municipality, elsewhere), shrunk towards where the person's nationality lives.

The risk that a candidate is a namesake is then, by Bayes,
``odds = absent/(1-absent) · P(a namesake exists) · u(address relation)/m(address relation)``
with ``P(a namesake exists) = 1 - exp(-λ)``, ``λ = (bearers - 1 + κ·bearers)·rho``; ``κ``
stands for the bearers in the register that the file does not hold.

Residents who share name, birth date and sex (or a held number, or a card number) are
found here too: ``duplicate_record`` (one human twice) or ``namesake_twin`` (two humans the
4 information cannot tell apart); both rows go to review.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numba as nb
import numpy as np

from ._numba import JIT

FNV_OFFSET, FNV_PRIME = 14695981039346656037, 1099511628211

# Address relation of a candidate to the person: the address comparison's levels (0 differs,
# 1 prefecture, 2 municipality, 3 town, 4 block) with the block split by building and room.
RELATIONS = ("elsewhere", "prefecture", "municipality", "town", "block", "room", "other_room")
N_RELATIONS = len(RELATIONS)
BLOCK, ROOM, OTHER_ROOM = 4, 5, 6  # block: a side gives no building; room: building and room agree
# building code per pair: what the two sides' building-and-room parts say
BUILDING_MISSING, BUILDING_SAME, BUILDING_DIFFERS = 0, 1, 2

KAPPA = 0.1  # bearers in the register outside the file, per bearer in the file
NAT_PSEUDO = 1.0  # weight (in bearers) of the nationality's geography beside the name's own
RHO_PSEUDO_PAIRS = 1_000.0  # weight (in pairs) of the file's coincidence rate beside the names'
DAYS_PER_YEAR = 365.25
U_PSEUDO = 5.0  # weight (in namesakes) of the file's geography beside the namesakes the EM finds
GEO_FLOOR = 0.01  # keeps a relation nobody of the name lives at possible

NONE, DUPLICATE_RECORD, NAMESAKE_TWIN = 0, 1, 2


# ---------------------------------------------------------------------------------------
# keys


@nb.njit(**JIT)
def _mix(h):  # pragma: no cover - compiled
    """splitmix64's finaliser: spreads a hash so that sums of hashes stay distinct."""
    h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return h ^ (h >> np.uint64(31))


@nb.njit(**JIT)
def _name_keys(cp, off, tokens):  # pragma: no cover - compiled
    """Per string: FNV-1a over the code points without spaces, mixed (``tokens`` False), or
    the sum of the mixed hashes of the space-separated tokens (True). 0 = empty."""
    n = len(off) - 1
    out = np.zeros(n, dtype=np.uint64)
    for i in range(n):
        total = np.uint64(0)
        h = np.uint64(FNV_OFFSET)
        inside = False
        seen = False
        for k in range(off[i], off[i + 1]):
            c = cp[k]
            if c == 0x20 or c == 0x3000:
                if tokens and inside:
                    total += _mix(h)
                    h = np.uint64(FNV_OFFSET)
                inside = False
                continue
            h = (h ^ np.uint64(c)) * np.uint64(FNV_PRIME)
            inside = True
            seen = True
        if not seen:
            continue
        if tokens:
            if inside:
                total += _mix(h)
        else:
            total = _mix(h)
        out[i] = total if total != 0 else np.uint64(1)
    return out


def name_keys(cps, *, tokens: bool) -> np.ndarray:
    """64-bit key of each normalised name (0 = no name); with ``tokens`` the key ignores the
    order of the space-separated tokens (alphabet names), otherwise only spaces (kanji, kana)."""
    if cps.cp.dtype != np.uint32 or cps.off.dtype != np.int64:
        raise ValueError(f"expected uint32/int64 layout, got {cps.cp.dtype}/{cps.off.dtype}")
    return _name_keys(cps.cp, cps.off, bool(tokens))


def mix(*keys: np.ndarray) -> np.ndarray:
    """One 64-bit key from several (order matters); 0 where any part is 0 (absent)."""
    out = np.zeros(len(keys[0]), dtype=np.uint64)
    absent = np.zeros(len(keys[0]), dtype=bool)
    with np.errstate(over="ignore"):
        for k in keys:
            k = np.asarray(k).astype(np.uint64, copy=False)
            absent |= k == 0
            h = (out ^ k) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(0x632BE59BD9B4E019)
            h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            out = h ^ (h >> np.uint64(31))
    out[out == 0] = 1
    out[absent] = 0
    return out


@nb.njit(**JIT)
def _count_keys(keys):  # pragma: no cover - compiled
    """Rows sharing each row's key (0 for key 0), by open addressing on the key itself."""
    n = len(keys)
    size = 1
    while size < 2 * n + 2:
        size *= 2
    mask = np.uint64(size - 1)
    slot_key = np.zeros(size, dtype=np.uint64)
    slot_count = np.zeros(size, dtype=np.int64)
    where = np.full(n, -1, dtype=np.int64)
    for i in range(n):
        k = keys[i]
        if k == 0:
            continue
        s = _mix(k) & mask
        while slot_key[s] != 0 and slot_key[s] != k:
            s = (s + np.uint64(1)) & mask
        slot_key[s] = k
        slot_count[s] += 1
        where[i] = s
    out = np.zeros(n, dtype=np.int64)
    for i in range(n):
        if where[i] >= 0:
            out[i] = slot_count[where[i]]
    return out


def count_keys(keys: np.ndarray) -> np.ndarray:
    """For each row, how many rows (itself included) carry its key; 0 where the key is 0."""
    return _count_keys(np.ascontiguousarray(keys, dtype=np.uint64))


_KEY_FIELDS = ("alpha", "kanji", "kana", "birth", "cohort", "city", "town", "block", "room")


@dataclass
class ResidentKeys:
    """What the population statistics need of each resident row (aligned uint64 arrays)."""

    alpha: np.ndarray  # name keys per notation (0 = none)
    kanji: np.ndarray
    kana: np.ndarray
    birth: np.ndarray  # key of (year, month, day, sex); 0 when the year is unknown
    cohort: np.ndarray  # key of (year, sex); 0 when the year is unknown
    city: np.ndarray  # address keys, each including the parts above it (0 = none)
    town: np.ndarray
    block: np.ndarray
    room: np.ndarray

    def __len__(self) -> int:
        return len(self.alpha)

    @classmethod
    def concat(cls, parts: list["ResidentKeys"]) -> "ResidentKeys":
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in _KEY_FIELDS))

    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        return {f"{prefix}{f}": getattr(self, f) for f in _KEY_FIELDS}

    @classmethod
    def from_arrays(cls, d: dict, prefix: str) -> "ResidentKeys":
        return cls(*(d[f"{prefix}{f}"] for f in _KEY_FIELDS))

    @classmethod
    def empty(cls, n: int = 0) -> "ResidentKeys":
        return cls(*(np.zeros(n, np.uint64) for _ in _KEY_FIELDS))

    def put(self, at: slice, other: "ResidentKeys") -> None:
        for f in _KEY_FIELDS:
            getattr(self, f)[at] = getattr(other, f)


def _u64(x: np.ndarray) -> np.ndarray:
    return np.asarray(x).astype(np.int64).astype(np.uint64)


def resident_keys(f) -> ResidentKeys:
    """Keys of every row of a :class:`~jukimatch.engine.features.Features` (residents side)."""
    one = np.uint64(1)
    birth = mix(_u64(f.year) + one, _u64(f.month) + one, _u64(f.day) + one, _u64(f.sex) + one)
    cohort = mix(_u64(f.year) + one, _u64(f.sex) + one)
    birth[np.asarray(f.year) <= 0] = 0
    cohort[np.asarray(f.year) <= 0] = 0
    _pref, city, town, block, building = f.address
    block_k = mix(city, town, block)
    # the room key keeps an absent building as a value of its own (an address without one)
    room_k = mix(block_k, building.astype(np.uint64) + one)
    room_k[block_k == 0] = 0
    return ResidentKeys(name_keys(f.alpha, tokens=True), name_keys(f.kanji, tokens=False),
                        name_keys(f.kana, tokens=False), birth, cohort, mix(city), mix(city, town), block_k, room_k)


_PAIR_FIELDS = ("alpha", "kanji", "kana", "room_same")


@dataclass
class PairKeys:
    """Per compared pair: the answer's name keys, and whether building and room agree."""

    alpha: np.ndarray
    kanji: np.ndarray
    kana: np.ndarray
    room_same: np.ndarray  # int8 building code: BUILDING_MISSING / _SAME / _DIFFERS

    @classmethod
    def empty(cls, n: int = 0) -> "PairKeys":
        return cls(np.zeros(n, np.uint64), np.zeros(n, np.uint64), np.zeros(n, np.uint64), np.zeros(n, np.int8))

    def put(self, at: slice, other: "PairKeys") -> None:
        for f in _PAIR_FIELDS:
            getattr(self, f)[at] = getattr(other, f)

    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        return {f"{prefix}{f}": getattr(self, f) for f in _PAIR_FIELDS}

    @classmethod
    def from_arrays(cls, d: dict, prefix: str) -> "PairKeys":
        return cls(*(d[f"{prefix}{f}"] for f in _PAIR_FIELDS))


def pair_keys(left, right, li: np.ndarray, ri: np.ndarray) -> PairKeys:
    """:class:`PairKeys` of pairs (left[li], right[ri]) of two Features."""
    lb, rb = left.address[4][li], right.address[4][ri]
    code = np.where((lb == 0) | (rb == 0), BUILDING_MISSING, np.where(lb == rb, BUILDING_SAME, BUILDING_DIFFERS))
    code[(lb == 0) & (rb == 0)] = BUILDING_SAME
    return PairKeys(name_keys(right.alpha, tokens=True)[ri], name_keys(right.kanji, tokens=False)[ri],
                    name_keys(right.kana, tokens=False)[ri], code.astype(np.int8))


# ---------------------------------------------------------------------------------------
# population statistics


@dataclass
class Population:
    """Per resident row: what the namesake risk and the duplicate rule need; and the rates."""

    bearers: np.ndarray  # float64: people bearing the name (min over the notations present)
    g: np.ndarray  # float64 (rows × N_RELATIONS): how much likelier than for the average row a
    #                namesake lives at each relation to this row (where its name's bearers live)
    twin: np.ndarray  # int8: NONE, DUPLICATE_RECORD, NAMESAKE_TWIN
    group: np.ndarray  # int64: the duplicate group (smallest whole-table row in it), -1 none
    rho: float  # P(two bearers of one name share birth date and sex)
    rho_bounds: tuple[float, float]
    info: dict = field(default_factory=dict)

    def take(self, idx) -> "Population":
        return Population(self.bearers[idx], self.g[idx], self.twin[idx], self.group[idx], self.rho,
                          self.rho_bounds, self.info)


@dataclass
class PopulationInputs:
    """What one part contributes to the run's :class:`Population` (rows in the part's order)."""

    rows: np.ndarray  # int64: each row's index in the whole residents table
    keys: ResidentKeys
    valid: np.ndarray  # bool: the row passed validation
    nationality: np.ndarray  # uint64 key, 0 = none
    card: np.ndarray  # uint64 key, 0 = none
    held: np.ndarray  # int64 held number, -1 = none
    answer_names: tuple[np.ndarray, np.ndarray, np.ndarray]  # name keys of every compared answer
    answer_numbers: np.ndarray  # int64 its valid number, -1 = none

    def take(self, idx: np.ndarray) -> "PopulationInputs":
        """The rows ``idx``; the answers' keys are kept whole (they are not per row)."""
        return PopulationInputs(self.rows[idx], ResidentKeys(*(getattr(self.keys, f)[idx] for f in _KEY_FIELDS)),
                                self.valid[idx], self.nationality[idx], self.card[idx], self.held[idx],
                                self.answer_names, self.answer_numbers)

    @classmethod
    def concat(cls, parts: list["PopulationInputs"]) -> "PopulationInputs":
        def cat(name):
            return np.concatenate([getattr(p, name) for p in parts])

        return cls(cat("rows"), ResidentKeys.concat([p.keys for p in parts]), cat("valid"), cat("nationality"),
                   cat("card"), cat("held"),
                   tuple(np.concatenate([p.answer_names[j] for p in parts]) for j in range(3)),
                   cat("answer_numbers"))


def _pairs_within(counts: np.ndarray) -> float:
    """Pairs of rows sharing a key, from each row's count of rows with its key."""
    c = counts[counts > 0].astype(np.float64)
    return float(((c - 1) / 2).sum())


def _relation_shares(n_other: np.ndarray, c_city, c_town, c_block, c_room) -> np.ndarray:
    """(rows × relations) counts of the *other* members of a group at each address relation;
    ``c_*``: members, self excluded, sharing the municipality / town / block / room."""
    out = np.zeros((len(n_other), N_RELATIONS))
    out[:, ROOM] = c_room
    out[:, BLOCK] = (c_block - c_room) / 2  # the file does not say whose building is missing
    out[:, OTHER_ROOM] = (c_block - c_room) / 2
    out[:, 3] = c_town - c_block
    out[:, 2] = c_city - c_town
    out[:, 0] = n_other - c_city  # another municipality (the prefecture is not split off)
    return out


def _distinct_per_name(names: np.ndarray, numbers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sorted name keys, distinct numbers returned with each): register persons per name."""
    keep = names != 0
    if not keep.any():
        return np.zeros(0, np.uint64), np.zeros(0, np.int64)
    pairs = np.unique(np.stack([names[keep], numbers[keep].astype(np.uint64)], axis=1), axis=0)
    return np.unique(pairs[:, 0], return_counts=True)


def population(inp: PopulationInputs) -> Population:
    """Statistics over every resident row of the run (all parts together), aligned with
    ``inp``'s rows.

    The answers' name keys and numbers count the namesakes Juki-net knows and the file
    does not: each distinct (name, number) returned is one register person bearing the name.
    """
    rows = np.asarray(inp.rows, np.int64)
    if len(rows) > 1 and not (rows[1:] > rows[:-1]).all():
        # in whole-table order, so that every partitioning sums the same floats the same way
        order = np.argsort(rows, kind="stable")
        pop = population(inp.take(order))
        back = np.empty_like(order)
        back[order] = np.arange(len(order))
        return pop.take(back)
    keys, valid = inp.keys, np.asarray(inp.valid, bool)
    n = len(keys)

    def k(x):
        return np.where(valid, x, 0).astype(np.uint64)

    names = [k(keys.alpha), k(keys.kanji), k(keys.kana)]
    bearers = np.full(n, np.inf)
    ok = inp.answer_numbers >= 0
    for j, nk in enumerate(names):
        count = count_keys(nk).astype(np.float64)
        ak, acount = _distinct_per_name(np.asarray(inp.answer_names[j], np.uint64)[ok], inp.answer_numbers[ok])
        if len(ak):
            pos = np.minimum(np.searchsorted(ak, nk), len(ak) - 1)
            hit = (nk != 0) & (ak[pos] == nk)
            count[hit] = np.maximum(count[hit], acount[pos[hit]])
        bearers = np.where(nk != 0, np.minimum(bearers, count), bearers)
    bearers[~np.isfinite(bearers)] = 1.0
    bearers = np.maximum(bearers, 1.0)

    # the primary name: alphabet where present, else kanji, else kana
    primary = np.where(names[0] != 0, names[0],
                       np.where(names[1] != 0, mix(names[1], np.ones(n, np.uint64)),
                                mix(names[2], np.full(n, 2, np.uint64))))
    shares = []
    for group in (primary, k(inp.nationality)):
        n_other = np.maximum(count_keys(group) - 1, 0).astype(np.float64)
        cs = [np.maximum(count_keys(mix(group, k(a))) - 1, 0).astype(np.float64)
              for a in (keys.city, keys.town, keys.block, keys.room)]
        shares.append((n_other, _relation_shares(n_other, *cs)))
    (n_name, c_name), (n_nat, c_nat) = shares
    f_nat = c_nat / np.maximum(n_nat, 1.0)[:, None]
    f_nat[n_nat == 0, 0] = 1.0  # nobody to learn from: a namesake lives elsewhere
    u = (c_name + NAT_PSEUDO * f_nat) / (n_name + NAT_PSEUDO)[:, None]
    # the row's geography relative to the average valid row's: the tilt of the run's u
    mean = u[valid].mean(axis=0) if valid.any() else np.full(N_RELATIONS, 1.0 / N_RELATIONS)
    g = (u + GEO_FLOOR) / (mean + GEO_FLOOR)[None, :]

    # rho: how often two bearers of a name share birth year and sex, from the file (the many
    # pairs that share a year, not the few that share a day: those are mostly one human
    # twice), times the chance of one day of the year; shrunk to the whole file's rate.
    cohort = k(keys.cohort)
    pairs_name = _pairs_within(count_keys(primary))
    pairs_cohort = _pairs_within(count_keys(mix(primary, cohort)))
    n_dated = max(int((cohort != 0).sum()), 2)
    share_file = _pairs_within(count_keys(cohort)) / (n_dated * (n_dated - 1) / 2)
    denom = pairs_name + RHO_PSEUDO_PAIRS
    rho = (pairs_cohort + RHO_PSEUDO_PAIRS * share_file) / denom / DAYS_PER_YEAR
    spread = 1.96 * math.sqrt(pairs_cohort + 1.0)
    bounds = ((max(pairs_cohort - spread, 0.0) + RHO_PSEUDO_PAIRS * share_file) / denom / DAYS_PER_YEAR,
              (pairs_cohort + spread + 1.0 + RHO_PSEUDO_PAIRS * share_file) / denom / DAYS_PER_YEAR)
    birth = k(keys.birth)

    twin, root = duplicates(names, birth, k(keys.room), held=np.where(valid, inp.held, -1), card=k(inp.card))
    group = np.where(root >= 0, np.asarray(inp.rows, np.int64)[np.maximum(root, 0)], -1)
    info = {"rho": rho, "rho_bounds": list(bounds), "cohort_share_file": share_file, "name_pairs": pairs_name,
            "name_cohort_pairs": pairs_cohort, "kappa": KAPPA,
            "duplicate_record_rows": int((twin == DUPLICATE_RECORD).sum()),
            "namesake_twin_rows": int((twin == NAMESAKE_TWIN).sum())}
    info["geography_mean"] = dict(zip(RELATIONS, mean.tolist()))
    return Population(bearers, g, twin, group, rho, bounds, info)


# ---------------------------------------------------------------------------------------
# duplicate records


def duplicates(names: list[np.ndarray], birth: np.ndarray, room: np.ndarray, *, held: np.ndarray,
               card: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(kind per row, group root per row, -1 for none) of rows that share a name notation,
    birth date and sex with no notation both carry contradicting, or share a held number or
    a card number.

    A group is ``duplicate_record`` when anything says one human (a shared held or card
    number, the same address to the room), else ``namesake_twin``.
    """
    n = len(birth)
    edges, human = [], []
    for nk in names:
        a, b = _edges(mix(nk, birth))
        agree = np.ones(len(a), bool)
        for other in names:
            both = (other[a] != 0) & (other[b] != 0)
            agree &= ~both | (other[a] == other[b])
        a, b = a[agree], b[agree]
        edges.append((a, b))
        human.append((room[a] != 0) & (room[a] == room[b]))
    held_key = np.where(held >= 0, held.astype(np.int64) + 1, 0).astype(np.uint64)
    for key in (held_key, np.asarray(card, np.uint64)):
        a, b = _edges(key)
        edges.append((a, b))
        human.append(np.ones(len(a), bool))
    a = np.concatenate([e[0] for e in edges])
    b = np.concatenate([e[1] for e in edges])
    same = np.concatenate(human)
    root = _components(n, a, b)
    kind = np.zeros(n, np.int8)
    kind[root >= 0] = NAMESAKE_TWIN
    if same.any():
        kind[np.isin(root, np.unique(root[a[same]])) & (root >= 0)] = DUPLICATE_RECORD
    return kind, root


def _edges(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (first row of a key, each later row with that key) for keys held by 2+ rows."""
    c = count_keys(key)
    rows = np.flatnonzero(c >= 2)
    if not len(rows):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    order = rows[np.argsort(key[rows], kind="stable")]
    kk = key[order]
    start = np.r_[True, kk[1:] != kk[:-1]]
    first = order[np.maximum.accumulate(np.where(start, np.arange(len(order)), 0))]
    return first[~start], order[~start]


def _components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Connected components of the edges (a, b): the smallest row of each, -1 for loners."""
    out = np.full(n, -1, np.int64)
    if not len(a):
        return out
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for x, y in zip(a.tolist(), b.tolist()):
        rx, ry = find(x), find(y)
        if rx != ry:
            parent[max(rx, ry)] = min(rx, ry)
    for x in list(parent):
        out[x] = find(x)
    return out


# ---------------------------------------------------------------------------------------
# risk


@nb.njit(**JIT)
def _em_pass(b, g, rel, theta, u, m, stats):  # pragma: no cover - compiled
    """One E-step over the units, accumulating the M-step's sums into ``stats``: [0]
    expected namesakes, [1] sum of b/(1+theta*b), [2 + A] expected true records at relation
    A, [2 + R + A] expected namesakes at A (R relations)."""
    nr = len(m)
    for j in range(len(stats)):
        stats[j] = 0.0
    for i in range(len(b)):
        a = rel[i]
        norm = 0.0
        for k in range(nr):
            norm += u[k] * g[i, k]
        u_at = u[a] * g[i, a] / norm
        odds = theta * b[i] * u_at / m[a]
        w = odds / (1.0 + odds)
        stats[0] += w
        stats[1] += b[i] / (1.0 + theta * b[i])
        stats[2 + a] += 1.0 - w
        stats[2 + nr + a] += w


def tilted(u: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Per row, the namesake's relation distribution: the run's ``u`` tilted by the row's
    geography ``g`` (how much likelier than for the average person each relation is)."""
    t = u[None, :] * g
    return t / t.sum(axis=1, keepdims=True)


def fit_namesakes(bearers: np.ndarray, g: np.ndarray, rel: np.ndarray, m0: np.ndarray, u0: np.ndarray,
                  theta0: float, *, theta_start: float = 1e-3, iterations: int = 300,
                  tol: float = 1e-6) -> tuple[float, np.ndarray, np.ndarray, float]:
    """EM for how often a strong candidate is a namesake, and where namesakes live.

    Each unit is a person whose best candidate agrees on name, birth date and sex; its
    address relation ``rel`` came either from the person's own record (``m``: records and
    moves) or from a namesake (``u``, tilted per person by ``g``: where the name's other
    bearers live, from the file), with namesake odds ``theta · bearers`` — the commoner
    the name, the likelier. ``m``, ``u`` and ``theta`` are all learnt from the units; the
    bearers tell the two apart (rare names are seldom namesakes). ``theta0`` is a floor (the
    rate the file's birth dates alone imply). Returns (theta, m, u, expected namesakes).
    """
    b = np.ascontiguousarray(bearers, np.float64)
    gg = np.ascontiguousarray(np.maximum(g, 1e-9), np.float64)
    r = np.ascontiguousarray(rel, np.int64)
    m = np.maximum(np.asarray(m0, np.float64), 1e-9)
    m /= m.sum()
    u = np.maximum(np.asarray(u0, np.float64), 1e-9)
    u /= u.sum()
    u0n = u.copy()
    room_share = float(u[ROOM])
    # started well above the floor: at the floor no unit looks like a namesake and EM stays
    stats = np.zeros(2 + 2 * N_RELATIONS)
    if not len(b):
        return max(theta0, 1e-12), m, u, 0.0
    theta = max(theta_start, theta0, 1e-12)
    for _ in range(iterations):
        _em_pass(b, gg, r, theta, u, m, stats)
        new_theta = max(stats[0] / max(stats[1], 1e-300), theta0)
        new_m = np.maximum(stats[2:2 + N_RELATIONS], 1e-9)
        # where namesakes live, learnt from the expected namesakes, beside U_PSEUDO of the
        # file's geography: with few namesakes in the run, the file's geography decides
        new_u = np.maximum(stats[2 + N_RELATIONS:] + U_PSEUDO * u0n, 1e-9)
        # a namesake shares the person's room only as often as the file says: left free,
        # u could copy m and call every record a namesake
        new_u[ROOM] = 0.0
        new_m, new_u = new_m / new_m.sum(), new_u / new_u.sum() * (1.0 - room_share)
        new_u[ROOM] = room_share
        done = abs(new_theta - theta) <= tol * theta and np.abs(new_m - m).max() < 1e-7
        theta, m, u = new_theta, new_m, new_u
        if done:
            break
    _em_pass(b, gg, r, theta, u, m, stats)
    return theta, m, u, float(stats[0])


@dataclass(frozen=True)
class Rates:
    """The run's rates that every pair's namesake risk uses."""

    theta: float  # namesake odds per bearer of the name, among strong candidates
    m: np.ndarray  # P(address relation | the true record), N_RELATIONS
    u: np.ndarray  # P(address relation | a namesake), for the average person, N_RELATIONS
    absent: float  # share of answered inquiries with no record of their own
    answered: float = 0.0  # inquiries the absent rate was measured on
    units: float = 0.0  # strong candidates the EM learnt from
    namesakes: float = 0.0  # of them, expected namesakes
    theta_floor: float = 0.0

    def theta_bounds(self) -> tuple[float, float]:
        """About 95 % bounds: the expected namesakes counted as a Poisson count."""
        f = math.exp(1.96 / math.sqrt(self.namesakes + 1.0))
        return max(self.theta / f, self.theta_floor), self.theta * f

    def model_risk(self, bits: np.ndarray) -> np.ndarray:
        """1 - P(the record is the person's) from the model's weight without prior (bits),
        with the prior odds that Juki-net answered with someone else: absent / (1 - absent)."""
        a = min(max(self.absent, 1e-9), 0.5)
        w = np.clip(np.asarray(bits, np.float64) - math.log2(a / (1 - a)), -60, 1000)
        return 1.0 / (1.0 + np.exp2(w))

    def to_dict(self) -> dict:
        return {"theta": self.theta, "theta_bounds": list(self.theta_bounds()), "theta_floor": self.theta_floor,
                "units": self.units, "expected_namesakes_among_units": self.namesakes, "absent": self.absent,
                "m_relation": dict(zip(RELATIONS, self.m.tolist())),
                "u_relation": dict(zip(RELATIONS, self.u.tolist()))}


def relation(address_level: np.ndarray, building: np.ndarray) -> np.ndarray:
    """Address relation per pair (-1 where a side has no address): the comparison's level,
    its block level split by the building code (same room / another room / not given)."""
    rel = np.asarray(address_level, np.int8).copy()
    building = np.asarray(building, np.int8)
    rel[(rel == 4) & (building == BUILDING_SAME)] = ROOM
    rel[(rel == 4) & (building == BUILDING_DIFFERS)] = OTHER_ROOM
    return rel


def namesake_risk(bearers: np.ndarray, g: np.ndarray, rel: np.ndarray, rates: Rates,
                  theta: float | None = None) -> np.ndarray:
    """Probability, per pair, that the candidate is a namesake rather than the person:
    odds ``theta · bearers · u_i[rel] / m[rel]`` (see :func:`fit_namesakes`).

    ``bearers`` and ``g`` (rows × relations): the person's :attr:`Population.bearers` and
    :attr:`Population.g`; ``rel``: the pair's address relation (-1: an address is missing,
    which says nothing). ``theta`` overrides the rates' (for the interval).
    """
    theta = rates.theta if theta is None else theta
    r = np.asarray(rel, np.int64)
    rr = np.maximum(r, 0)
    u_i = tilted(rates.u, g)[np.arange(len(r)), rr] if len(r) else np.zeros(0)
    lr = np.where(r >= 0, u_i / rates.m[rr], 1.0)
    odds = theta * bearers * lr
    return odds / (1.0 + odds)


def poisson_bounds(mean_low: float, mean_high: float, level: float = 0.95) -> tuple[float, float]:
    """Lower quantile of Poisson(mean_low) and upper quantile of Poisson(mean_high)."""
    tail = (1 - level) / 2

    def quantile(mu: float, q: float) -> int:
        if mu <= 0:
            return 0
        if mu > 500:  # the normal approximation
            return max(0, int(round(mu + (-1.96 if q < 0.5 else 1.96) * math.sqrt(mu))))
        k, p = 0, math.exp(-mu)
        cum = p
        while cum < q:
            k += 1
            p *= mu / k
            cum += p
        return k

    return float(quantile(mean_low, tail)), float(quantile(mean_high, 1 - tail))


__all__ = ["BUILDING_DIFFERS", "BUILDING_MISSING", "BUILDING_SAME", "DUPLICATE_RECORD", "NAMESAKE_TWIN", "N_RELATIONS", "PairKeys", "Population", "PopulationInputs",
           "RELATIONS", "Rates", "ResidentKeys", "count_keys", "duplicates", "fit_namesakes", "mix", "name_keys", "namesake_risk",
           "pair_keys", "poisson_bounds", "population", "relation", "resident_keys"]
