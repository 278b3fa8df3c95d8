"""Namesake risk and duplicate records, estimated from the two files themselves.

Juki-net answers an inquiry about a person it has no record of with the closest record it
has: a look-alike, or a *namesake* — same name, birth date and sex — as close as the person.
Foreign residents cluster by nationality, so that namesake often lives in the same town or
dormitory: address agreement that proves a rare name proves little for NGUYEN VAN AN in
川口. Nothing here is assumed about where such people live; every rate comes from the run:

- how many people bear each name (per notation, after normalisation): among the agency's
  residents, and the distinct numbers Juki-net returned with it (:func:`population`);
- a two-class mixture over every person's best candidate, fitted by EM
  (:func:`fit_others`): the person's own record, or someone else, told apart by the
  candidate's agreement cell (name × birth date), its address relation (room, block,
  town, ...; :func:`relation`) and the prior odds of someone else, which grow with the
  name's bearers (:func:`prior_odds`). Where someone else lives is learnt from the
  look-alikes Juki-net returned; the odds never fall below what the file's birth-date
  coincidences (``rho``) and its rate of unanswered inquiries imply.

:func:`other_risk` is then each candidate's probability of being someone else's record.

Residents who share name, birth date and sex (or a held number, or a card number) are
found here too (:func:`duplicates`): ``duplicate_record`` (one human twice) or
``namesake_twin`` (two humans the 4 information cannot tell apart); both rows go to review
— unless Juki-net's answers told the twins apart (:func:`told_apart`: each answered with a
record agreeing with it down to its own room, no number twice), when they are decided like
anyone else.
"""
from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numba as nb
import numpy as np

from jukimatch.engine.compare.levels import DATE_FULL
from jukimatch.engine.runtime import JIT

FNV_OFFSET, FNV_PRIME = 14695981039346656037, 1099511628211

# Address relation of a candidate to the person: the address comparison's levels (0 differs,
# 1 prefecture, 2 municipality, 3 town, 4 block) with the block split by building and room.
RELATIONS = ("elsewhere", "prefecture", "municipality", "town", "block", "room", "other_room", "block_answer_bare")
N_RELATIONS = len(RELATIONS)
# block: the answer names a building the agency's record does not; block_answer_bare: the
# agency's record names one the answer drops (a notation habit of the register); room:
# building and room agree; other_room: both name one, and they differ
BLOCK, ROOM, OTHER_ROOM, BLOCK_ANSWER_BARE = 4, 5, 6, 7
# building code per pair: what the two sides' building-and-room parts say
BUILDING_MISSING, BUILDING_SAME, BUILDING_DIFFERS, BUILDING_ANSWER_BARE = 0, 1, 2, 3

KAPPA = 0.1  # bearers in the register outside the file, per bearer in the file (the floor's k)
RHO_PSEUDO_PAIRS = 1_000.0  # weight (in pairs) of the file's coincidence rate beside the names'
DAYS_PER_YEAR = 365.25


NONE, DUPLICATE_RECORD, NAMESAKE_TWIN = 0, 1, 2
_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="jukimatch-namesakes")  # the kernels release the GIL
ROOM_SHARE = 1e-6  # a namesake outside the file in the person's own room (see lookalike_places)


# ---------------------------------------------------------------------------------------
# keys


@nb.njit(**JIT)
def _mix(h):  # pragma: no cover - compiled
    """splitmix64's finaliser: spreads a hash so that sums of hashes stay distinct."""
    h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return h ^ (h >> np.uint64(31))


@nb.njit(**JIT)
def _name_keys(cp, off, rows, tokens):  # pragma: no cover - compiled
    """Per string ``rows[i]``: FNV-1a over the code points without spaces, mixed (``tokens``
    False), or the sum of the mixed hashes of the space-separated tokens (True). 0 = empty."""
    n = len(rows)
    out = np.zeros(n, dtype=np.uint64)
    for i in range(n):
        r = rows[i]
        total = np.uint64(0)
        h = np.uint64(FNV_OFFSET)
        inside = False
        seen = False
        for k in range(off[r], off[r + 1]):
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


def name_keys(cps, *, tokens: bool, rows: np.ndarray | None = None) -> np.ndarray:
    """64-bit key of each normalised name (0 = no name), or of the names ``rows``; with
    ``tokens`` the key ignores the order of the space-separated tokens (alphabet names),
    otherwise only spaces (kanji, kana)."""
    if cps.cp.dtype != np.uint32 or cps.off.dtype != np.int64:
        raise ValueError(f"expected uint32/int64 layout, got {cps.cp.dtype}/{cps.off.dtype}")
    n = len(cps.off) - 1
    if rows is None:
        rows = np.arange(n, dtype=np.int64)
    else:
        rows = np.ascontiguousarray(rows, dtype=np.int64)
        if len(rows) and (rows.min() < 0 or rows.max() >= n):
            raise IndexError(f"name_keys: rows must lie in 0..{n - 1}")
    return _name_keys(cps.cp, cps.off, rows, bool(tokens))


@nb.njit(**JIT)
def _mix_step(out, absent, k):  # pragma: no cover - compiled
    for i in range(len(out)):
        x = k[i]
        if x == 0:
            absent[i] = True
        out[i] = _mix((out[i] ^ x) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(0x632BE59BD9B4E019))


def mix(*keys: np.ndarray) -> np.ndarray:
    """One 64-bit key from several (order matters); 0 where any part is 0 (absent)."""
    n = len(keys[0])
    out = np.zeros(n, dtype=np.uint64)
    absent = np.zeros(n, dtype=np.bool_)
    for k in keys:
        _mix_step(out, absent, np.ascontiguousarray(k).astype(np.uint64, copy=False))
    out[out == 0] = 1
    out[absent] = 0
    return out


@nb.njit(**JIT)
def _table(n):  # pragma: no cover - compiled
    """An empty open-addressing table for ``n`` keys: a power of two of at least 1.5 n slots,
    each slot a (key, count) pair side by side, so a probe touches one cache line."""
    size = 1
    while size < n + n // 2 + 2:
        size *= 2
    return np.zeros(2 * size, dtype=np.uint64), np.uint64(size - 1)


@nb.njit(**JIT)
def _slot(table, mask, k):  # pragma: no cover - compiled
    """The slot holding ``k``, or the empty slot where it would go (linear probing)."""
    s = _mix(k) & mask
    while table[2 * s] != 0 and table[2 * s] != k:
        s = (s + np.uint64(1)) & mask
    return s


PART_KEYS = 16_384  # keys per part: a part's table (1.5 slots a key, 16 bytes a slot) stays in L2


def _part_bits(n: int) -> int:
    """Top hash bits that split ``n`` keys into parts of about PART_KEYS: one table the size of
    the whole file misses the caches on every probe (0.55 s a count at 10M against 30 ms at 1M)."""
    bits = 0
    while (n >> bits) > PART_KEYS and bits < 16:
        bits += 1
    return bits


@nb.njit(**JIT)
def _parts(keys, bits, with_rows, payload):  # pragma: no cover - compiled
    """The non-zero keys grouped by the top ``bits`` of their hash, row order kept within a
    group: (group starts, rows — empty unless ``with_rows`` —, keys, the ``payload`` of each
    key — empty when it is), so that each group is then read in sequence."""
    shift = np.uint64(63 - bits)  # the top ``bits`` as (h >> 1) >> shift: no shift by 64 when bits is 0
    one = np.uint64(1)
    start = np.zeros((1 << bits) + 1, np.int64)
    for i in range(len(keys)):
        if keys[i] != 0:
            start[((_mix(keys[i]) >> one) >> shift) + one] += 1
    for b in range(1 << bits):
        start[b + 1] += start[b]
    rows = np.empty(start[1 << bits] if with_rows else 0, np.int32)  # callers check n < 2**31
    ks = np.empty(start[1 << bits], np.uint64)
    carried = len(payload) > 0
    vs = np.empty(start[1 << bits] if carried else 0, np.int64)
    fill = start[:-1].copy()
    for i in range(len(keys)):
        if keys[i] != 0:
            b = (_mix(keys[i]) >> one) >> shift
            if with_rows:
                rows[fill[b]] = np.int32(i)
            if carried:
                vs[fill[b]] = payload[i]
            ks[fill[b]] = keys[i]
            fill[b] += 1
    return start, rows, ks, vs


_NO_PAYLOAD = np.zeros(0, np.int64)


@nb.njit(**JIT)
def _counted(ks, lo, hi):  # pragma: no cover - compiled
    """A table of the keys ``ks[lo:hi]`` (one group of :func:`_parts`), each slot a key and
    how many of them carry it."""
    table, mask = _table(hi - lo)
    for j in range(lo, hi):
        s = _slot(table, mask, ks[j])
        table[2 * s] = ks[j]
        table[2 * s + 1] += np.uint64(1)
    return table, mask


@nb.njit(**JIT)
def _count_parts(start, rows, ks, n):  # pragma: no cover - compiled
    """For each row (grouped as :func:`_parts` groups them), how many rows of its group carry its key."""
    out = np.zeros(n, dtype=np.int64)
    for b in range(len(start) - 1):
        table, mask = _counted(ks, start[b], start[b + 1])
        for j in range(start[b], start[b + 1]):
            out[rows[j]] = np.int64(table[2 * _slot(table, mask, ks[j]) + 1])
    return out


def _checked(keys: np.ndarray) -> np.ndarray:
    """Keys as the kernels take them; rows are numbered in 32 bits there (half the memory of
    the biggest temporaries at 10M rows)."""
    if len(keys) >= 2**31:
        raise ValueError(f"{len(keys)} keys: at most 2**31 - 1 can be counted at once")
    return np.ascontiguousarray(keys, dtype=np.uint64)


def count_keys(keys: np.ndarray) -> np.ndarray:
    """For each row, how many rows (itself included) carry its key; 0 where the key is 0."""
    k = _checked(keys)
    start, rows, ks, _none = _parts(k, _part_bits(len(k)), True, _NO_PAYLOAD)
    return _count_parts(start, rows, ks, len(k))


@nb.njit(**JIT)
def _bearer_parts(rs, rr, rk, qs, qk, qv, n):  # pragma: no cover - compiled
    """:func:`bearer_counts` over the groups :func:`_parts` made with the same bits of the
    rows' names (``rs, rr, rk``) and of the answers' names (``qs, qk``, numbers ``qv``)."""
    out = np.zeros(n, dtype=np.int64)
    for b in range(len(rs) - 1):
        table, mask = _counted(rk, rs[b], rs[b + 1])  # name -> rows bearing it
        answered = np.zeros(len(table) // 2, dtype=np.uint64)  # per slot of ``table``: its distinct answers
        pairs, pmask = _table(qs[b + 1] - qs[b])  # (name, number) seen
        for j in range(qs[b], qs[b + 1]):
            if qv[j] < 0:
                continue  # an answer without a valid number
            k, v = qk[j], np.uint64(qv[j])
            t = _slot(table, mask, k)
            if table[2 * t] != k:
                continue  # a name no row bears
            s = _mix(k ^ _mix(v)) & pmask
            while pairs[2 * s] != 0 and (pairs[2 * s] != k or pairs[2 * s + 1] != v):
                s = (s + np.uint64(1)) & pmask
            if pairs[2 * s] == 0:  # a slot is taken by its name, never 0
                pairs[2 * s] = k
                pairs[2 * s + 1] = v
                answered[t] += np.uint64(1)
        for j in range(rs[b], rs[b + 1]):
            s = _slot(table, mask, rk[j])
            out[rr[j]] = np.int64(max(table[2 * s + 1], answered[s]))
    return out


def bearer_counts(names: np.ndarray, answer_names: np.ndarray, answer_numbers: np.ndarray) -> np.ndarray:
    """For each row, the people known to bear its name key: the rows carrying it, or the
    distinct (name, number) answers carrying it where those are more (Juki-net returned them:
    each is a register person); 0 where the key is 0. ``answer_numbers`` -1: no valid number,
    not counted. One pass over groups of names, instead of a count, a first-seen and a count
    against the answers over the whole of each."""
    k, answers = _checked(names), _checked(answer_names)
    numbers = np.ascontiguousarray(answer_numbers, np.int64)
    if len(numbers) != len(answers):
        raise ValueError(f"{len(answers)} answer names, {len(numbers)} answer numbers")
    bits = _part_bits(max(len(k), len(answers)))
    qs, _none, qk, qv = _parts(answers, bits, False, numbers)
    rs, rr, rk, _none = _parts(k, bits, True, _NO_PAYLOAD)
    return _bearer_parts(rs, rr, rk, qs, qk, qv, len(k))


_KEY_FIELDS = ("alpha", "kanji", "kana", "birth", "cohort", "room")


@dataclass
class ResidentKeys:
    """What the population statistics need of each resident row (aligned uint64 arrays)."""

    alpha: np.ndarray  # name keys per notation (0 = none)
    kanji: np.ndarray
    kana: np.ndarray
    birth: np.ndarray  # key of (year, month, day, sex); 0 when the year is unknown
    cohort: np.ndarray  # key of (year, sex); 0 when the year is unknown
    room: np.ndarray  # key of the address to the room (0 = no block): one household

    def __len__(self) -> int:
        return len(self.alpha)

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
    """Keys of every row of a :class:`~jukimatch.engine.reconcile.features.Features` (residents side)."""
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
                        name_keys(f.kana, tokens=False), birth, cohort, room_k)


_PAIR_FIELDS = ("alpha", "kanji", "kana", "room_same")


@dataclass
class PairKeys:
    """Per compared pair: the answer's name keys, and whether building and room agree."""

    alpha: np.ndarray
    kanji: np.ndarray
    kana: np.ndarray
    room_same: np.ndarray  # int8 building code: BUILDING_MISSING / _SAME / _DIFFERS / _ANSWER_BARE

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


def pair_keys(left, right, li: np.ndarray, ri: np.ndarray, left_keys: ResidentKeys,
              same: tuple[np.ndarray, ...]) -> PairKeys:
    """:class:`PairKeys` of pairs (left[li], right[ri]) of two Features. ``left_keys``: the
    left's :func:`resident_keys`; ``same``: per name notation, the pairs whose two names are
    the same code points. An answer's name key is its resident's where the names are the same,
    and hashed only where they are not: most answers are the person's own."""
    lb, rb = left.address[4][li], right.address[4][ri]
    code = np.where(lb == rb, BUILDING_SAME, np.where((lb != 0) & (rb != 0), BUILDING_DIFFERS, BUILDING_MISSING))
    code[(lb != 0) & (rb == 0)] = BUILDING_ANSWER_BARE

    def answer_keys(j: int, field: str, tokens: bool) -> np.ndarray:
        keys = getattr(left_keys, field)[li]
        other = np.flatnonzero(~same[j])
        keys[other] = name_keys(getattr(right, field), tokens=tokens, rows=ri[other])
        return keys

    return PairKeys(answer_keys(0, "alpha", True), answer_keys(1, "kanji", False), answer_keys(2, "kana", False),
                    code.astype(np.int8))


# ---------------------------------------------------------------------------------------
# population statistics


@dataclass
class Population:
    """Per resident row: what the namesake risk and the duplicate rule need; and the rates."""

    bearers: np.ndarray  # float64: people bearing the name (min over the notations present)
    twin: np.ndarray  # int8: NONE, DUPLICATE_RECORD, NAMESAKE_TWIN
    group: np.ndarray  # int64: the duplicate group (smallest whole-table row in it), -1 none
    rho: float  # P(two bearers of one name share birth date and sex)
    rho_bounds: tuple[float, float]
    info: dict = field(default_factory=dict)

    def take(self, idx) -> "Population":
        return Population(self.bearers[idx], self.twin[idx], self.group[idx], self.rho,
                          self.rho_bounds, self.info)


@dataclass
class PopulationInputs:
    """What one part contributes to the run's :class:`Population` (rows in the part's order)."""

    rows: np.ndarray  # int64: each row's index in the whole residents table
    keys: ResidentKeys
    valid: np.ndarray  # bool: the row passed validation
    card: np.ndarray  # uint64 key, 0 = none
    held: np.ndarray  # int64 held number, -1 = none
    answer_names: tuple[np.ndarray, np.ndarray, np.ndarray]  # name keys of every compared answer
    answer_numbers: np.ndarray  # int64 its valid number, -1 = none
    # per row: the one number answered with a record that agrees in everything to the room
    # (-1 none, OWN_ANSWERS_DIFFER when such records carry different numbers)
    own_answer: np.ndarray | None = None

    @classmethod
    def empty(cls, n_rows: int, n_answers: int) -> "PopulationInputs":
        """Room for the run's ``n_rows`` rows and ``n_answers`` compared answers, each part's
        share filled in by :meth:`put`: the whole is built once, never from a copy of each part."""
        return cls(np.empty(n_rows, np.int64), ResidentKeys(*(np.empty(n_rows, np.uint64) for _ in _KEY_FIELDS)),
                   np.zeros(n_rows, bool), np.empty(n_rows, np.uint64), np.empty(n_rows, np.int64),
                   (np.empty(n_answers, np.uint64), np.empty(n_answers, np.uint64), np.empty(n_answers, np.uint64)),
                   np.empty(n_answers, np.int64), np.empty(n_rows, np.int64))

    def put(self, rows: slice, answers: slice, part: "PopulationInputs") -> None:
        """``part`` copied into ``rows`` and ``answers`` of this whole (:meth:`empty`). Parts that
        fill other slices may do so from several threads at once: :func:`population` takes rows
        in any order, and the run's own order keeps its results the same from run to run."""
        n_rows, n_answers = rows.stop - rows.start, answers.stop - answers.start
        if len(part.rows) != n_rows or len(part.answer_numbers) != n_answers:
            raise ValueError(f"a part holds {len(part.rows)} rows and {len(part.answer_numbers)} answers, "
                             f"not {n_rows} and {n_answers}")
        self.rows[rows] = part.rows
        self.keys.put(rows, part.keys)
        self.valid[rows], self.card[rows], self.held[rows] = part.valid, part.card, part.held
        for j in range(3):
            self.answer_names[j][answers] = part.answer_names[j]
        self.answer_numbers[answers] = part.answer_numbers
        if part.own_answer is None:
            self.own_answer = None  # one part without them: the run has none
        elif self.own_answer is not None:
            self.own_answer[rows] = part.own_answer


def _pairs_within(counts: np.ndarray) -> float:
    """Pairs of rows sharing a key, from each row's count of rows with its key."""
    c = counts[counts > 0].astype(np.float64)
    return float(((c - 1) / 2).sum())


def population(inp: PopulationInputs, *, consume: bool = False) -> Population:
    """Statistics over every resident row of the run (all parts together), aligned with
    ``inp``'s rows, which may come in any order: every figure is a count, and where a rule
    picks one row of several (a duplicate group's name) it picks the first in the whole table.

    The answers' name keys and numbers count the namesakes Juki-net knows and the file
    does not: each distinct (name, number) returned is one register person bearing the name.
    ``consume``: ``inp`` is the caller's to lose — its arrays are overwritten and dropped as
    they are used, so that a run of 10M rows does not hold them twice.
    """
    rows = np.asarray(inp.rows, np.int64)
    keys, valid = inp.keys, np.asarray(inp.valid, bool)
    n = len(keys)

    def k(x):
        if consume and x.dtype == np.uint64 and x.flags.writeable:
            x[~valid] = 0
            return x
        return np.where(valid, x, 0).astype(np.uint64)

    names = [k(keys.alpha), k(keys.kanji), k(keys.kana)]
    bearers = np.full(n, np.inf)

    def bearers_of(j: int) -> np.ndarray:
        return bearer_counts(names[j], inp.answer_names[j], inp.answer_numbers).astype(np.float64)

    for nk, count in zip(names, _POOL.map(bearers_of, range(3))):
        bearers = np.where(nk != 0, np.minimum(bearers, count), bearers)
    bearers[~np.isfinite(bearers)] = 1.0
    bearers = np.maximum(bearers, 1.0)
    if consume:
        inp.answer_names, inp.answer_numbers = (), np.zeros(0, np.int64)

    # the primary name: alphabet where present, else kanji, else kana
    primary = np.where(names[0] != 0, names[0],
                       np.where(names[1] != 0, mix(names[1], np.ones(n, np.uint64)),
                                mix(names[2], np.full(n, 2, np.uint64))))

    # rho: how often two bearers of a name share birth year and sex, from the file (the many
    # pairs that share a year, not the few that share a day: those are mostly one human
    # twice), times the chance of one day of the year; shrunk to the whole file's rate.
    cohort = k(keys.cohort)
    pairs_name, pairs_cohort, pairs_file = (_pairs_within(c) for c in _POOL.map(
        count_keys, (primary, mix(primary, cohort), cohort)))
    n_dated = max(int((cohort != 0).sum()), 2)
    share_file = pairs_file / (n_dated * (n_dated - 1) / 2)
    denom = pairs_name + RHO_PSEUDO_PAIRS
    rho = (pairs_cohort + RHO_PSEUDO_PAIRS * share_file) / denom / DAYS_PER_YEAR
    spread = 1.96 * math.sqrt(pairs_cohort + 1.0)
    bounds = ((max(pairs_cohort - spread, 0.0) + RHO_PSEUDO_PAIRS * share_file) / denom / DAYS_PER_YEAR,
              (pairs_cohort + spread + 1.0 + RHO_PSEUDO_PAIRS * share_file) / denom / DAYS_PER_YEAR)
    del primary, cohort
    birth = k(keys.birth)

    held = inp.held
    if consume and held.dtype == np.int64 and held.flags.writeable:
        held[~valid] = -1
    else:
        held = np.where(valid, held, -1)
    twin, root = duplicates(names, birth, k(keys.room), held=held, card=k(inp.card), rank=rows)
    apart = told_apart(twin, root, inp.own_answer) if inp.own_answer is not None else np.zeros(n, bool)
    twin = np.where(apart, NONE, twin).astype(np.int8)
    root = np.where(apart, -1, root)
    group = np.where(root >= 0, rows[np.maximum(root, 0)], -1)
    info = {"namesake_twin_rows_told_apart": int(apart.sum()),
            "rho": rho, "rho_bounds": list(bounds), "cohort_share_file": share_file, "name_pairs": pairs_name,
            "name_cohort_pairs": pairs_cohort, "kappa": KAPPA,
            "duplicate_record_rows": int((twin == DUPLICATE_RECORD).sum()),
            "namesake_twin_rows": int((twin == NAMESAKE_TWIN).sum())}
    return Population(bearers, twin, group, rho, bounds, info)


# ---------------------------------------------------------------------------------------
# duplicate records


def duplicates(names: list[np.ndarray], birth: np.ndarray, room: np.ndarray, *, held: np.ndarray,
               card: np.ndarray, rank: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(kind per row, group root per row, -1 for none) of rows that share a name notation,
    birth date and sex with no notation both carry contradicting, or share a held number or
    a card number.

    A group is ``duplicate_record`` when anything says one human (a shared held or card
    number, the same address to the room), else ``namesake_twin``. ``rank``: each row's
    place in the whole table (default: the rows' own order); a group's root is its first.
    """
    n = len(birth)
    rank = np.arange(n, dtype=np.int64) if rank is None else np.asarray(rank, np.int64)
    held_key = np.where(held >= 0, held.astype(np.int64) + 1, 0).astype(np.uint64)
    keys = [mix(nk, birth) for nk in names] + [held_key, np.asarray(card, np.uint64)]
    found = list(_POOL.map(lambda key: _edges(key, rank), keys))
    edges, human = [], []
    for nk, (a, b) in zip(names, found[:3]):
        agree = np.ones(len(a), bool)
        for other in names:
            both = (other[a] != 0) & (other[b] != 0)
            agree &= ~both | (other[a] == other[b])
        a, b = a[agree], b[agree]
        edges.append((a, b))
        human.append((room[a] != 0) & (room[a] == room[b]))
    for a, b in found[3:]:
        edges.append((a, b))
        human.append(np.ones(len(a), bool))
    a = np.concatenate([e[0] for e in edges])
    b = np.concatenate([e[1] for e in edges])
    same = np.concatenate(human)
    root = components(n, a, b, rank)
    kind = np.zeros(n, np.int8)
    kind[root >= 0] = NAMESAKE_TWIN
    if same.any():
        kind[np.isin(root, np.unique(root[a[same]])) & (root >= 0)] = DUPLICATE_RECORD
    return kind, root


OWN_ANSWERS_DIFFER = -2


@nb.njit(**JIT)
def _own_answers(person, number, full, n):  # pragma: no cover - compiled
    out = np.full(n, -1, dtype=np.int64)
    for j in range(len(person)):
        if not full[j] or number[j] < 0:
            continue
        p = person[j]
        if out[p] == -1:
            out[p] = number[j]
        elif out[p] != number[j]:
            out[p] = OWN_ANSWERS_DIFFER
    return out


def own_answers(person: np.ndarray, number: np.ndarray, full: np.ndarray, n: int) -> np.ndarray:
    """Per resident row, the number of the answers that agree with it in everything to the
    room (``full`` per answer; ``person`` its resident row): -1 when there is none,
    ``OWN_ANSWERS_DIFFER`` when they carry different numbers."""
    return _own_answers(np.ascontiguousarray(person, np.int64), np.ascontiguousarray(number, np.int64),
                        np.ascontiguousarray(full, np.bool_), int(n))


def told_apart(twin: np.ndarray, root: np.ndarray, own: np.ndarray) -> np.ndarray:
    """Rows of ``namesake_twin`` groups that Juki-net's answers told apart: every member was
    answered with a record agreeing with it in everything down to the room, and no two
    members got the same number. Twins live in different rooms (one room is a
    ``duplicate_record``), so each answer is the record of the member at that address: the
    4 information did tell them apart. One human entered twice gets one number back twice,
    and a member unanswered or answered only with another address keeps the whole group in
    review."""
    n = len(twin)
    members = np.flatnonzero((twin == NAMESAKE_TWIN) & (root >= 0))
    out = np.zeros(n, bool)
    if not len(members):
        return out
    g, num = root[members], own[members]
    bad = np.zeros(n, bool)  # per group root: some member fails
    bad[g[num < 0]] = True
    o = np.lexsort((num, g))
    gs, ns = g[o], num[o]
    dup = (gs[1:] == gs[:-1]) & (ns[1:] == ns[:-1])
    bad[gs[1:][dup]] = True
    # a group with a member outside the twin kind (a duplicate joined by a number) stays
    kinds = np.zeros(n, bool)
    other = np.flatnonzero((root >= 0) & (twin != NAMESAKE_TWIN))
    kinds[root[other]] = True
    out[members] = ~bad[g] & ~kinds[g]
    return out


def _edges(key: np.ndarray, rank: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (first row of a key, each later row with that key) for keys held by 2+ rows,
    first and later by ``rank``."""
    c = count_keys(key)
    rows = np.flatnonzero(c >= 2)
    if not len(rows):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    order = rows[np.lexsort((rank[rows], key[rows]))]
    kk = key[order]
    start = np.r_[True, kk[1:] != kk[:-1]]
    first = order[np.maximum.accumulate(np.where(start, np.arange(len(order)), 0))]
    return first[~start], order[~start]


@nb.njit(**JIT)
def _components_kernel(n, a, b, rank):  # pragma: no cover - compiled
    parent = np.arange(n)
    touched = np.zeros(n, dtype=np.bool_)
    for e in range(len(a)):
        x, y = a[e], b[e]
        touched[x] = True
        touched[y] = True
        while parent[x] != x:  # find, halving the path
            parent[x] = parent[parent[x]]
            x = parent[x]
        while parent[y] != y:
            parent[y] = parent[parent[y]]
            y = parent[y]
        if rank[x] < rank[y]:
            parent[y] = x
        elif rank[y] < rank[x]:
            parent[x] = y
    out = np.full(n, -1, dtype=np.int64)
    for i in range(n):
        if touched[i]:
            r = i
            while parent[r] != r:
                r = parent[r]
            out[i] = r
    return out


def components(n: int, a: np.ndarray, b: np.ndarray, rank: np.ndarray | None = None) -> np.ndarray:
    """Connected components of the edges (a, b) over rows 0..n-1: the row of smallest
    ``rank`` (distinct; default the row itself) of each component, -1 for rows on no edge
    (union-find, the root of smaller rank kept)."""
    if not len(a):
        return np.full(n, -1, np.int64)
    rank = np.arange(n, dtype=np.int64) if rank is None else np.ascontiguousarray(rank, np.int64)
    return _components_kernel(n, np.ascontiguousarray(a, np.int64), np.ascontiguousarray(b, np.int64), rank)


# ---------------------------------------------------------------------------------------
# risk


def prior_odds(bearers: np.ndarray, rates: "Rates", scale: float = 1.0) -> np.ndarray:
    """Odds that a person's best candidate is someone else, before it is compared:
    ``alpha0 + alpha · (1 - exp(-k · bearers))`` — an inquiry without a record of its own
    answered by a look-alike (``alpha0``), or by a namesake as often as one exists (``k``:
    per bearer of the name) — never below the floor the file's birth dates imply."""
    namesakes, floor = _prior_terms(bearers, rates)
    return np.maximum(scale * namesakes, floor)


def _prior_terms(bearers: np.ndarray, rates: "Rates") -> tuple[np.ndarray, np.ndarray]:
    """What :func:`prior_odds` combines, whatever its scale: the look-alike and namesake odds,
    and the floor."""
    b = np.asarray(bearers, np.float64)
    return rates.alpha0 + rates.alpha * -np.expm1(-rates.k * b), rates.floor[0] * -np.expm1(-rates.floor[1] * b)


_K_GRID = np.logspace(-7, 1, 49)


def _fit_prior(b: np.ndarray, n: np.ndarray, w: np.ndarray, state: tuple[np.ndarray, np.ndarray] | None = None,
               *, steps: int = 3) -> tuple[float, float, float, tuple[np.ndarray, np.ndarray]]:
    """(alpha0, alpha, k) maximising sum n·[w·log π + (1-w)·log(1-π)] over the bearer
    counts ``b`` (``n`` units each, ``w`` their mean weight of being someone else): k on a
    log grid, the alphas by a few steps of their fixed point for every k at once (each
    odds split between its two terms in proportion), warm-started from ``state``."""
    f = -np.expm1(-_K_GRID[:, None] * b[None, :])  # (grid × bearer counts)
    nw = n * w
    a0, a1 = state if state is not None else (np.full(len(_K_GRID), 1e-3), np.full(len(_K_GRID), 1e-3))
    for _ in range(steps):
        o = a0[:, None] + a1[:, None] * f
        share0 = a0[:, None] / np.maximum(o, 1e-300)
        denom = n[None, :] / (1.0 + o)
        a0, a1 = ((nw[None, :] * share0).sum(axis=1) / np.maximum(denom.sum(axis=1), 1e-300),
                  (nw[None, :] * (1 - share0)).sum(axis=1) / np.maximum((denom * f).sum(axis=1), 1e-300))
    o = a0[:, None] + a1[:, None] * f
    ll = (nw[None, :] * np.log(np.maximum(o, 1e-300)) - n[None, :] * np.log1p(o)).sum(axis=1)
    i = int(np.argmax(ll))
    return float(a0[i]), float(a1[i]), float(_K_GRID[i]), (a0, a1)


def _bearer_bins(b: np.ndarray) -> np.ndarray:
    """Bearer counts for fitting the prior: exact up to 32, then in steps of 1/16 of a
    doubling — the prior is smooth in them and the fit costs the number of bins."""
    b = np.asarray(b, np.float64)
    binned = np.exp2(np.round(np.log2(np.maximum(b, 1.0)) * 16) / 16)
    return np.where(b <= 32, b, np.round(binned))


def _distinct_bins(bearers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(_bearer_bins(bearers), return_inverse=True)`` without sorting a million
    floats: bearer counts are whole numbers, so their distinct values come from a bincount."""
    whole = bearers.astype(np.int64)
    if len(whole) == 0 or whole.min() < 0 or (whole != bearers).any() or whole.max() > 4 * len(whole) + 1024:
        return np.unique(_bearer_bins(bearers), return_inverse=True)
    present = np.flatnonzero(np.bincount(whole))
    b, inverse = np.unique(_bearer_bins(present.astype(np.float64)), return_inverse=True)
    lookup = np.zeros(int(present[-1]) + 1, np.int64)
    lookup[present] = inverse
    return b, lookup[whole]


def agreement_cell(name_full: np.ndarray, name_conflict: np.ndarray, date_level: np.ndarray) -> np.ndarray:
    """Per pair, a coarse agreement cell 0..8: 3 · name (0 contradicts, 1 partly, 2 fully)
    + birth date (0 differs, 1 partly or unknown, 2 agrees wherever known)."""
    name = np.where(name_full, 2, np.where(name_conflict, 0, 1))
    date = np.where(date_level >= DATE_FULL, 2, np.where(date_level == 0, 0, 1))
    return (3 * name + date).astype(np.int64)


N_CELLS = 9
FULL_CELL = 8
PARTIAL_CELLS = np.arange(N_CELLS) != FULL_CELL
UNKNOWN = N_RELATIONS  # the relation index of a pair whose address is missing on a side


@dataclass(frozen=True)
class Rates:
    """The run's mixture of "the person's own record" (m) and "someone else" (u) among
    best candidates, with the prior odds of someone else (see :func:`fit_others`)."""

    alpha0: float
    alpha: float
    k: float
    m_cell: np.ndarray  # P(agreement cell | own record), N_CELLS
    m_rel: np.ndarray  # P(address relation | own record), N_RELATIONS + 1 (last: unknown, fixed at 1)
    u_cell: np.ndarray  # P(agreement cell | someone else)
    u_rel: np.ndarray  # P(address relation | someone else)
    floor: tuple[float, float] = (0.0, 0.0)
    units: float = 0.0  # best candidates the EM learnt from
    others: float = 0.0  # of them, expected someone else
    absent: float = 0.0  # share of answered inquiries with only weak answers or none, as observed

    def scale_bounds(self) -> tuple[float, float]:
        """About 95 % bounds for the prior odds, as a factor: the expected others counted
        as a Poisson count."""
        f = math.exp(1.96 / math.sqrt(self.others + 1.0))
        return 1.0 / f, f

    def to_json(self) -> dict:
        """Everything needed to score with these rates again (:meth:`from_json`)."""
        return {"alpha0": self.alpha0, "alpha": self.alpha, "k": self.k, "m_cell": self.m_cell.tolist(),
                "m_rel": self.m_rel.tolist(), "u_cell": self.u_cell.tolist(), "u_rel": self.u_rel.tolist(),
                "floor": list(self.floor), "units": self.units, "others": self.others}

    @classmethod
    def from_json(cls, d: dict, *, absent: float = 0.0) -> "Rates":
        return cls(float(d["alpha0"]), float(d["alpha"]), float(d["k"]), np.asarray(d["m_cell"], np.float64),
                   np.asarray(d["m_rel"], np.float64), np.asarray(d["u_cell"], np.float64),
                   np.asarray(d["u_rel"], np.float64), tuple(d["floor"]), float(d["units"]), float(d["others"]),
                   absent)

    def to_dict(self) -> dict:
        rel = RELATIONS + ("unknown",)
        cells = [f"name_{a}/date_{b}" for a in ("conflict", "partly", "full") for b in ("differs", "partly", "full")]
        return {"alpha0": self.alpha0, "alpha": self.alpha, "k": self.k, "floor": list(self.floor),
                "units": self.units, "expected_others_among_units": self.others, "absent_observed": self.absent,
                "m_cell": dict(zip(cells, self.m_cell.tolist())), "u_cell": dict(zip(cells, self.u_cell.tolist())),
                "m_relation": dict(zip(rel, self.m_rel.tolist())), "u_relation": dict(zip(rel, self.u_rel.tolist()))}


def _rel_index(rel: np.ndarray) -> np.ndarray:
    r = np.asarray(rel, np.int64)
    return np.where(r >= 0, r, N_RELATIONS)


def _places_of_others(partial_others: np.ndarray, own: np.ndarray) -> np.ndarray:
    """Where someone else's record lives (u over the relations), from the look-alikes'
    relations (``partial_others``) and the own records' relations (``own``).

    The person's own room is pinned at ROOM_SHARE. An answer without the building the
    agency's record names (``block_answer_bare``) is the register's notation habit, not a
    place: it strikes someone else's record in the block as often as one's own, so its
    share of the block's records is the own records' share (``s``), and u there is
    ``s / (1 - s)`` times the others in the block's named rooms. Look-alikes seldom come
    from the person's block, so learning it from them alone left it near zero and let a
    namesake next door through as a certain match."""
    u = np.maximum(np.asarray(partial_others, np.float64), 1e-9)
    u[ROOM] = u[UNKNOWN] = u[BLOCK_ANSWER_BARE] = 0.0
    named = own[ROOM] + own[OTHER_ROOM] + own[BLOCK_ANSWER_BARE]
    s = min(own[BLOCK_ANSWER_BARE] / named, 0.5) if named > 0 else 0.0
    t = s / (1.0 - s)
    v = u / u.sum()
    scale = (1.0 - ROOM_SHARE * (1.0 + t)) / (1.0 + t * v[OTHER_ROOM])
    u = v * scale
    u[ROOM] = ROOM_SHARE
    u[BLOCK_ANSWER_BARE] = t * (ROOM_SHARE + u[OTHER_ROOM])
    return u


def fit_others(bearers: np.ndarray, cell: np.ndarray, rel: np.ndarray, m_rel0: np.ndarray,
               floor: tuple[float, float], *, absent: float = 0.0, known_own: tuple[np.ndarray, np.ndarray] | None = None,
               iterations: int = 1000, tol: float = 1e-6) -> Rates:
    """EM over every person's best candidate: the person's own record, or someone else?

    A candidate shows an agreement cell (name, birth date) and an address relation. Own
    records mostly agree fully in the person's own room; someone else — a look-alike
    (partly alike) or a namesake (fully alike) — lives wherever such people live, which the
    look-alikes Juki-net returned show (u is learnt from the cells short of full agreement,
    where the two are told apart with confidence; a namesake lives where look-alikes do).
    The prior odds of someone else grow with the name's bearers (:func:`prior_odds`):
    rare names are seldom namesakes, which tells a local move from a namesake next door.
    Cell and relation are taken as independent within each class. The person's own room
    is held at ROOM_SHARE for someone else (a namesake sharing the room is a namesake
    twin of the file, found by the duplicate rule). ``known_own`` (counts per cell and per
    relation) are answers known to be the person's own — the number the agency already
    holds came back — and count in m as they are: they show how often an own record's
    address differs, which the unlabelled units alone leave to the prior (a local mover
    and a namesake next door look the same). Units are counted per (bearers, cell,
    relation), so a step costs the distinct bearer counts, not the units.
    """
    nr = N_RELATIONS + 1
    b_all = np.asarray(bearers, np.float64)
    m_rel = np.maximum(np.r_[np.asarray(m_rel0, np.float64)[:N_RELATIONS], 0.0], 1e-6)
    m_rel /= m_rel[:N_RELATIONS].sum()
    m_cell = np.full(N_CELLS, 0.1 / (N_CELLS - 1))
    m_cell[FULL_CELL] = 0.9
    u_cell = np.full(N_CELLS, 1.0 / N_CELLS)
    u_rel = np.full(nr, (1.0 - ROOM_SHARE) / (nr - 2))
    u_rel[ROOM] = ROOM_SHARE
    m_rel[UNKNOWN] = u_rel[UNKNOWN] = 1.0  # an unknown address says nothing
    a0, a1, k = 0.03, 0.03, 0.01
    if not len(b_all):
        return Rates(floor[0], 0.0, floor[1], m_cell, m_rel, u_cell, u_rel, floor, 0.0, 0.0, absent)
    b, bi = _distinct_bins(b_all)
    counts = np.zeros((len(b), N_CELLS, nr))
    np.add.at(counts, (bi, np.asarray(cell, np.int64), _rel_index(rel)), 1.0)
    n_b = counts.sum(axis=(1, 2))
    fb = -np.expm1(-floor[1] * b)
    known_cell, known_rel = (np.zeros(N_CELLS), np.zeros(nr)) if known_own is None else \
        (np.asarray(known_own[0], np.float64), np.asarray(known_own[1], np.float64))
    state = None
    for _ in range(iterations):
        prior = np.maximum(a0 + a1 * -np.expm1(-k * b), floor[0] * fb)
        lr = (u_cell[:, None] * u_rel[None, :]) / (m_cell[:, None] * m_rel[None, :])
        odds = prior[:, None, None] * lr[None, :, :]
        w = odds / (1.0 + odds)
        own, other = counts * (1 - w), counts * w
        new_m_cell = np.maximum(own.sum(axis=(0, 2)) + known_cell, 1e-9)
        new_m_rel = np.maximum(own.sum(axis=(0, 1)) + known_rel, 1e-9)
        new_m_rel[UNKNOWN] = 0.0
        new_u_cell = np.maximum(other.sum(axis=(0, 2)), 1e-9)
        # where someone else lives: learnt from the look-alikes (cells short of full agreement),
        # where someone else is told from an own record with confidence; a full agreement's
        # "someone else" is a namesake, and it lives where the look-alikes do
        new_u_rel = _places_of_others(other[:, PARTIAL_CELLS, :].sum(axis=(0, 1)), new_m_rel)
        new_m_cell, new_m_rel, new_u_cell = (x / x.sum() for x in (new_m_cell, new_m_rel, new_u_cell))
        new_m_rel[UNKNOWN] = new_u_rel[UNKNOWN] = 1.0  # an unknown address says nothing
        na0, na1, nk, state = _fit_prior(b, n_b, other.sum(axis=(1, 2)) / np.maximum(n_b, 1.0), state)
        change = max(np.abs(new_m_cell - m_cell).max(), np.abs(new_u_cell - u_cell).max(),
                     np.abs(new_m_rel - m_rel).max(), np.abs(new_u_rel - u_rel).max())
        done = change < tol and abs(na0 - a0) <= 1e-4 * max(a0, 1e-12) and abs(na1 - a1) <= 1e-4 * max(a1, 1e-12) \
            and nk == k
        m_cell, m_rel, u_cell, u_rel, a0, a1, k = new_m_cell, new_m_rel, new_u_cell, new_u_rel, na0, na1, nk
        if done:
            break
    rates = Rates(a0, a1, k, m_cell, m_rel, u_cell, u_rel, floor, float(len(b_all)), 0.0, absent)
    others = float(other_risk(b_all, np.asarray(cell, np.int64), np.asarray(rel, np.int64), rates).sum())
    return Rates(a0, a1, k, m_cell, m_rel, u_cell, u_rel, floor, float(len(b_all)), others, absent)


def other_risk(bearers: np.ndarray, cell: np.ndarray, rel: np.ndarray, rates: Rates,
               scale: float = 1.0) -> np.ndarray:
    """Probability, per pair, that the candidate is someone else than the person, from its
    agreement cell, its address relation (-1: unknown) and the person's name's bearers."""
    return other_risks(bearers, cell, rel, rates, (scale,))[0]


def other_risks(bearers: np.ndarray, cell: np.ndarray, rel: np.ndarray, rates: Rates,
                scales: tuple[float, ...]) -> list[np.ndarray]:
    """:func:`other_risk` under several scales of the prior odds: what does not depend on the
    scale (the likelihood ratio, the bearers' terms) is computed once."""
    c = np.asarray(cell, np.int64)
    r = _rel_index(rel)
    lr = (rates.u_cell[c] * rates.u_rel[r]) / (rates.m_cell[c] * rates.m_rel[r])
    namesakes, floor = _prior_terms(bearers, rates)
    out = []
    for scale in scales:
        odds = np.maximum(scale * namesakes, floor) * lr  # prior_odds(bearers, rates, scale) * lr
        out.append(odds / (1.0 + odds))
    return out


def relation(address_level: np.ndarray, building: np.ndarray) -> np.ndarray:
    """Address relation per pair (-1 where a side has no address): the comparison's level,
    its block level split by the building code (same room / another room / not given)."""
    rel = np.asarray(address_level, np.int8).copy()
    building = np.asarray(building, np.int8)
    block = rel == BLOCK
    rel[block & (building == BUILDING_SAME)] = ROOM
    rel[block & (building == BUILDING_DIFFERS)] = OTHER_ROOM
    rel[block & (building == BUILDING_ANSWER_BARE)] = BLOCK_ANSWER_BARE
    return rel


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


__all__ = ["BUILDING_ANSWER_BARE", "BUILDING_DIFFERS", "BUILDING_MISSING", "BUILDING_SAME",
           "DUPLICATE_RECORD", "FULL_CELL", "N_CELLS", "N_RELATIONS", "NAMESAKE_TWIN", "OWN_ANSWERS_DIFFER", "RELATIONS",
           "agreement_cell", "bearer_counts", "components", "count_keys", "duplicates", "fit_others", "mix", "name_keys",
           "other_risk", "other_risks", "own_answers", "told_apart",
           "pair_keys", "PairKeys", "poisson_bounds", "population", "Population", "PopulationInputs",
           "prior_odds", "Rates", "relation", "resident_keys", "ResidentKeys"]
