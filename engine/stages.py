"""The stages of a reconciliation over one self-contained set of rows.

A *part* is either the whole input (the local backend) or one hash partition of it (the
Dask backend); the stages below run the same way on both:

1. :func:`prepare` — validate both tables and link each response to its resident;
2. :func:`compare` — normalise and compare over bounded chunks of resident rows, keeping
   6 bytes of levels per pair; each chunk can be saved to and reloaded from a
   :class:`~jukimatch.engine.checkpoint.WorkDir`; the random pairs that estimate u are
   planned globally (:func:`plan_u_sample`) so that every backend draws the same ones;
3. the model is fitted once, globally, on summed pattern counts (:func:`pattern_counts`);
   then the run's population (:func:`population_inputs` of every part, names' bearers and
   duplicate records across parts) and its mixture of own records and someone else
   (:func:`candidate_units` of every part, :func:`rates_from`), see
   :mod:`jukimatch.engine.namesakes`;
4. :func:`score_and_decide` — score pairs, their risk of being someone else, and decide,
   with optional stand-ins for persons of other parts (see
   :mod:`jukimatch.engine.partition`) for the rules that need every number;
5. :func:`part_outputs` — the output rows of the part, with sort keys to merge parts back
   into input order.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .checkdigit import scan_numbers_trimmed
from .decide import DECISIONS, MATCH, PENDING, REASON_CODES, REVIEW, Decisions, Pairs, Persons, Thresholds, decide, \
    rank_candidates, reason_lists
from .features import (
    ADDRESS_FIELD, DATE_FIELD, FIELDS, SEX_FIELD, Features, compare_features, features, name_conflict, name_full,
    pair_features,
    TEXT_FIELDS,
)
from .io import ROW_COLUMN
from .masking import mask
from .model import MAX_LEVEL, Model, pack_patterns
from .namesakes import (
    BLOCK, BLOCK_ANSWER_BARE, KAPPA, N_CELLS, N_RELATIONS, OTHER_ROOM, RELATIONS, ROOM, PairKeys, Population,
    PopulationInputs, Rates, ResidentKeys, agreement_cell, fit_others, other_risk, pair_keys, relation,
    resident_keys,
)
from .normalize import Dates
from .text import Codepoints, concat_codepoints, hash_strings, take_codepoints, to_codepoints
from .validate import Checked, check_residents, check_responses

SEED = 20270319  # go-live day: u sampling is deterministic
KEY = "__g"  # sort key: the row's index in the whole input table
N_PATTERNS = int(pack_patterns(np.full((1, len(FIELDS)), MAX_LEVEL, np.int8))[0]) + 1


def numbers(col: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(int64 number or -1 when not 12 digits, check-digit-valid mask)."""
    kind, num = scan_numbers_trimmed(col)
    return num, kind == 1


def _take_dates(d: Dates, rows) -> Dates:
    return Dates(*(np.ascontiguousarray(x[rows]) for x in d))


# ---------------------------------------------------------------------------------------
# 1. prepare


@dataclass
class Prepared:
    """A part's tables, validated and linked: everything the later stages index into."""

    R: pa.Table
    S: pa.Table
    r_global: np.ndarray  # int64: index of each resident row in the whole residents table
    s_global: np.ndarray
    rcheck: Checked
    scheck: Checked
    pair_res: np.ndarray  # resident row of each compared pair (sorted)
    pair_resp: np.ndarray  # response row of each compared pair
    held: np.ndarray  # number already held per resident row, -1 when none
    number_all: np.ndarray
    number_ok_all: np.ndarray
    answered: np.ndarray
    response_invalid: np.ndarray
    resident_ok: np.ndarray  # per response row: its resident row is valid
    linked: np.ndarray
    found: np.ndarray

    def pair_counts(self) -> np.ndarray:
        """Compared pairs per resident row (int32)."""
        return np.bincount(self.pair_res, minlength=self.R.num_rows).astype(np.int32)


def prepare(R: pa.Table, S: pa.Table, r_global: np.ndarray | None = None,
            s_global: np.ndarray | None = None, *, rcheck: Checked | None = None) -> Prepared:
    """Validate residents and responses and link responses to resident rows.

    Every rule here looks at one person_id at a time (duplicates included), so a part
    holding all rows of its person_ids decides exactly like the whole table.
    """
    n_res, n_resp = R.num_rows, S.num_rows
    rcheck = rcheck if rcheck is not None else check_residents(R)
    res_all = rcheck.keys.positions(S.column("person_id"))
    rcheck.keys = None  # the index is large (~40 bytes per resident): done with it
    scheck = check_responses(S, res_all)
    r_ok = rcheck.ok
    linked = res_all >= 0
    resident_ok = np.zeros(n_resp, dtype=bool)
    resident_ok[linked] = r_ok[res_all[linked]]
    answered = np.zeros(n_res, dtype=bool)
    answered[res_all[linked]] = True
    response_invalid = np.zeros(n_res, dtype=bool)
    response_invalid[res_all[linked & ~scheck.ok]] = True
    found = scheck.found
    use = scheck.ok & resident_ok & found
    pair_resp = np.flatnonzero(use)
    pair_res = res_all[pair_resp]
    if len(pair_res) > 1 and not (pair_res[1:] >= pair_res[:-1]).all():  # answers out of inquiry order
        order = np.argsort(pair_res, kind="stable")
        pair_resp, pair_res = pair_resp[order], pair_res[order]
    held = np.where(r_ok, rcheck.held, -1)  # scanned once, by validation
    number_all, number_ok_all = numbers(S.column("my_number"))
    return Prepared(
        R, S,
        np.arange(n_res, dtype=np.int64) if r_global is None else np.asarray(r_global, np.int64),
        np.arange(n_resp, dtype=np.int64) if s_global is None else np.asarray(s_global, np.int64),
        rcheck, scheck, pair_res, pair_resp, held, number_all, number_ok_all, answered, response_invalid,
        resident_ok, linked, found,
    )


# ---------------------------------------------------------------------------------------
# 2. compare, with the u sample planned over the whole input


@dataclass
class USamplePlan:
    """The random pairs for u, as (global resident row, global pair index) per sample k.

    Global pair index g numbers all compared pairs in (resident row, response row) order.
    """

    res: np.ndarray
    pair: np.ndarray


def plan_u_sample(counts: np.ndarray, step: int, u_sample: int, seed: int = SEED) -> USamplePlan:
    """Draw the random pairs of different persons, chunk of ``step`` resident rows by chunk.

    ``counts`` is the number of compared pairs per resident row of the whole input. The
    draws depend on nothing else, so one plan serves every partitioning of the rows.
    """
    counts = np.asarray(counts, dtype=np.int64)
    n_res = len(counts)
    ends = np.cumsum(counts)
    n_pairs = int(ends[-1]) if n_res else 0
    rng = np.random.default_rng(seed)
    res, pair = [], []
    step = max(1, step)
    for a in range(0, n_res, step):
        b = min(a + step, n_res)
        pa_ = ends[a - 1] if a else np.int64(0)
        pb = ends[b - 1]
        if pb == pa_:
            continue
        k = int(np.ceil(u_sample * (pb - pa_) / n_pairs))
        uli = rng.integers(0, b - a, size=k, dtype=np.int64)
        uri = rng.integers(0, pb - pa_, size=k, dtype=np.int64)
        g = pa_ + uri
        owner = np.searchsorted(ends, g, side="right")
        keep = owner != a + uli  # pairs of different persons only
        res.append(a + uli[keep])
        pair.append(g[keep])
    if not res:
        return USamplePlan(np.zeros(0, np.int64), np.zeros(0, np.int64))
    return USamplePlan(np.concatenate(res), np.concatenate(pair))


@dataclass
class PartPlan:
    """A part's share of the u sample: sample ids with local resident rows / local pair indices."""

    res_k: np.ndarray
    res_row: np.ndarray  # sorted
    pair_k: np.ndarray
    pair_idx: np.ndarray  # sorted

    @classmethod
    def whole(cls, plan: USamplePlan) -> "PartPlan":
        k = np.arange(len(plan.res), dtype=np.int64)
        o1 = np.argsort(plan.res, kind="stable")
        o2 = np.argsort(plan.pair, kind="stable")
        return cls(k[o1], plan.res[o1], k[o2], plan.pair[o2])


_CP = ("alpha", "kanji", "kana")
_ARR = ("gaiji", "year", "month", "day", "sex")


def take_features(f: Features, idx: np.ndarray) -> Features:
    idx = np.asarray(idx, dtype=np.int64)
    return Features(*(take_codepoints(getattr(f, n), idx) for n in _CP), *(getattr(f, n)[idx] for n in _ARR),
                    address=tuple(a[idx] for a in f.address))


def concat_features(parts: list[Features]) -> Features:
    return Features(*(concat_codepoints([getattr(p, n) for p in parts]) for n in _CP),
                    *(np.concatenate([getattr(p, n) for p in parts]) for n in _ARR),
                    address=tuple(np.concatenate([p.address[w] for p in parts]) for w in range(len(parts[0].address))))


def features_to_arrays(f: Features, prefix: str) -> dict[str, np.ndarray]:
    out = {}
    for n in _CP:
        c = getattr(f, n)
        out[f"{prefix}{n}_cp"], out[f"{prefix}{n}_off"] = c.cp, c.off
    for n in _ARR:
        out[f"{prefix}{n}"] = getattr(f, n)
    for w, a in enumerate(f.address):
        out[f"{prefix}addr{w}"] = a
    return out


def features_from_arrays(d: dict[str, np.ndarray], prefix: str) -> Features:
    n_addr = sum(1 for k in d if k.startswith(f"{prefix}addr"))
    return Features(*(Codepoints(d[f"{prefix}{n}_cp"], d[f"{prefix}{n}_off"]) for n in _CP),
                    *(d[f"{prefix}{n}"] for n in _ARR), address=tuple(d[f"{prefix}addr{w}"] for w in range(n_addr)))


@dataclass
class Compared:
    levels: np.ndarray  # int8 (pairs × FIELDS)
    gaiji: np.ndarray
    u_levels: np.ndarray  # sample pairs whose two sides fell in one chunk of this part
    export_res: list = field(default_factory=list)  # (sample ids, resident Features) for other parts
    export_pair: list = field(default_factory=list)  # (sample ids, response Features)
    reused_chunks: int = 0
    rkeys: ResidentKeys = field(default_factory=ResidentKeys.empty)  # per resident row
    pkeys: PairKeys = field(default_factory=PairKeys.empty)  # per compared pair

    def exports(self) -> tuple[tuple[np.ndarray, Features] | None, tuple[np.ndarray, Features] | None]:
        def cat(xs):
            xs = [x for x in xs if len(x[0])]
            if not xs:
                return None
            return np.concatenate([k for k, _ in xs]), concat_features([f for _, f in xs])
        return cat(self.export_res), cat(self.export_pair)


FEATURE_COLUMNS = tuple(col for col, _ in TEXT_FIELDS.values())  # what the normalisers read


class _ResponseRows:
    """The response rows of a range of compared pairs, without a take over the whole table.

    A take from a multi-chunk column costs time in the column's length, not in the rows
    taken, so one take per chunk grows quadratically. Juki-net answers in inquiry order, so
    the rows of a chunk usually lie in one short stretch of the table: slice it (zero-copy
    when contiguous). Responses in any other order are put in pair order once, up front.
    """

    def __init__(self, S: pa.Table, pair_resp: np.ndarray) -> None:
        self.pair_resp = pair_resp
        cols = S.select(list(FEATURE_COLUMNS))
        self.in_order = bool(len(pair_resp) < 2 or (np.diff(pair_resp) > 0).all())
        self.table = cols if self.in_order else cols.take(pa.array(pair_resp)).combine_chunks()

    def rows(self, a: int, b: int) -> pa.Table:
        """Response rows of pairs ``a:b``, in pair order."""
        if not self.in_order:
            return self.table.slice(a, b - a)
        if b == a:
            return self.table.slice(0, 0)
        lo, hi = int(self.pair_resp[a]), int(self.pair_resp[b - 1]) + 1
        stretch = self.table.slice(lo, hi - lo)
        if hi - lo == b - a:
            return stretch
        return stretch.take(pa.array(self.pair_resp[a:b] - lo))


def _within(sorted_vals: np.ndarray, lo, hi) -> slice:
    i, j = np.searchsorted(sorted_vals, [lo, hi])
    return slice(int(i), int(j))


def compare(prep: Prepared, plan: PartPlan | None, *, chunk_rows: int, store=None, part: int = 0,
            timer=None, progress=None) -> Compared:
    """Levels of every pair of the part, chunk by chunk, plus the part's share of the u sample.

    ``pair_res`` is sorted, so a range of resident rows owns a contiguous range of pairs:
    each chunk normalises a zero-copy slice of the residents and the responses it owns.
    With ``store`` (a WorkDir), finished chunks are reloaded and new ones saved.
    """
    from contextlib import nullcontext

    R = prep.R
    pair_res, pair_resp = prep.pair_res, prep.pair_resp
    n_pairs, n_res = len(pair_res), R.num_rows
    responses = _ResponseRows(prep.S, pair_resp)
    levels = np.empty((n_pairs, len(FIELDS)), dtype=np.int8)
    gaiji = np.zeros(n_pairs, dtype=bool)
    out = Compared(levels, gaiji, np.zeros((0, len(FIELDS)), np.int8), rkeys=ResidentKeys.empty(n_res),
                   pkeys=PairKeys.empty(n_pairs))
    u_parts = []
    phase = timer.phase if timer is not None else (lambda name: nullcontext())
    step = max(1, chunk_rows)
    for c, a in enumerate(range(0, n_res, step)):
        b = min(a + step, n_res)
        pa_, pb = (int(x) for x in np.searchsorted(pair_res, [a, b]))
        rs = _within(plan.res_row, a, b) if plan is not None else slice(0, 0)
        ps = _within(plan.pair_idx, pa_, pb) if plan is not None else slice(0, 0)
        if pb == pa_ and rs.stop == rs.start:
            # nobody of this chunk was answered: their names still count in the population
            with phase("normalise"):
                left = features(R.slice(a, b - a), dates=_take_dates(prep.rcheck.dates, slice(a, b)),
                                sex=prep.rcheck.sex[a:b])
            _put_keys(out, a, b, pa_, pb, resident_keys(left), PairKeys.empty())
            continue
        saved = store.load_chunk(part, c) if store is not None else None
        if saved is not None:
            out.reused_chunks += 1
            levels[pa_:pb] = saved["levels"]
            gaiji[pa_:pb] = saved["gaiji"]
            _put_keys(out, a, b, pa_, pb, ResidentKeys.from_arrays(saved, "rk_"), PairKeys.from_arrays(saved, "pk_"))
            u_parts.append(saved["u"])
            if len(saved["xr_k"]):
                out.export_res.append((saved["xr_k"], features_from_arrays(saved, "xr_")))
            if len(saved["xp_k"]):
                out.export_pair.append((saved["xp_k"], features_from_arrays(saved, "xp_")))
        else:
            rows = slice(a, b)
            resp_rows = pair_resp[pa_:pb]
            li = pair_res[pa_:pb] - a
            with phase("normalise"):
                # On two threads (the kernels and Arrow's compute release the GIL)
                left, right = pair_features(R.slice(a, b - a), responses.rows(pa_, pb), li,
                                            left_dates=_take_dates(prep.rcheck.dates, rows), left_sex=prep.rcheck.sex[rows],
                                            right_dates=_take_dates(prep.scheck.dates, resp_rows),
                                            right_sex=prep.scheck.sex[resp_rows])
            ri = np.arange(pb - pa_, dtype=np.int64)
            with phase("compare"):
                levels[pa_:pb] = compare_features(left, right, li, ri)
                gaiji[pa_:pb] = left.gaiji[li] | right.gaiji[ri]
                rkeys, pkeys = resident_keys(left), pair_keys(left, right, li, ri)
                _put_keys(out, a, b, pa_, pb, rkeys, pkeys)
                if plan is not None:
                    rk, rrow, pk, pidx = plan.res_k[rs], plan.res_row[rs], plan.pair_k[ps], plan.pair_idx[ps]
                else:
                    rk = rrow = pk = pidx = np.zeros(0, np.int64)
                both, i_r, i_p = np.intersect1d(rk, pk, assume_unique=True, return_indices=True)
                u = compare_features(left, right, rrow[i_r] - a, pidx[i_p] - pa_) if len(both) else \
                    np.zeros((0, len(FIELDS)), np.int8)
                only_r = np.setdiff1d(np.arange(len(rk)), i_r, assume_unique=True)
                only_p = np.setdiff1d(np.arange(len(pk)), i_p, assume_unique=True)
                xr = (rk[only_r], take_features(left, rrow[only_r] - a)) if len(only_r) else None
                xp = (pk[only_p], take_features(right, pidx[only_p] - pa_)) if len(only_p) else None
            u_parts.append(u)
            if xr:
                out.export_res.append(xr)
            if xp:
                out.export_pair.append(xp)
            if store is not None:
                arrays = {"levels": levels[pa_:pb], "gaiji": gaiji[pa_:pb], "u": u,
                          **rkeys.arrays("rk_"), **pkeys.arrays("pk_"),
                          "xr_k": xr[0] if xr else np.zeros(0, np.int64),
                          "xp_k": xp[0] if xp else np.zeros(0, np.int64)}
                if xr:
                    arrays.update(features_to_arrays(xr[1], "xr_"))
                if xp:
                    arrays.update(features_to_arrays(xp[1], "xp_"))
                store.save_chunk(part, c, arrays)
        if progress:
            progress("compare", int(pb), n_pairs)
    if u_parts:
        out.u_levels = np.concatenate(u_parts)
    return out


def _put_keys(out: Compared, a: int, b: int, pa_: int, pb: int, rkeys: ResidentKeys, pkeys: PairKeys) -> None:
    out.rkeys.put(slice(a, b), rkeys)
    out.pkeys.put(slice(pa_, pb), pkeys)


def pattern_counts(levels: np.ndarray) -> np.ndarray:
    """Pairs per packed level pattern (int64, one slot per possible pattern): sums over parts."""
    return np.bincount(pack_patterns(levels), minlength=N_PATTERNS).astype(np.int64)


def u_levels_from_exports(res: list[tuple[np.ndarray, Features]], pair: list[tuple[np.ndarray, Features]]) -> np.ndarray:
    """Compare the sample pairs whose two sides were normalised in different chunks or parts."""
    res = [x for x in res if x is not None and len(x[0])]
    pair = [x for x in pair if x is not None and len(x[0])]
    if not res:
        return np.zeros((0, len(FIELDS)), np.int8)
    rk = np.concatenate([k for k, _ in res])
    pk = np.concatenate([k for k, _ in pair])
    left, right = concat_features([f for _, f in res]), concat_features([f for _, f in pair])
    if not (len(rk) == len(pk) and np.array_equal(np.sort(rk), np.sort(pk))):
        raise RuntimeError("u sample: the two sides of the exported sample pairs do not match up")
    return compare_features(left, right, np.argsort(rk, kind="stable"), np.argsort(pk, kind="stable"))


# ---------------------------------------------------------------------------------------
# 4. score and decide


@dataclass
class Phantoms:
    """Stand-ins for persons of other parts, for the rules that compare numbers across persons.

    ``number`` is the number a stand-in chooses (when ``chooses``) and/or holds (``held``).
    """

    number: np.ndarray
    held: np.ndarray
    chooses: np.ndarray

    @classmethod
    def none(cls) -> "Phantoms":
        return cls(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, bool))

    @classmethod
    def concat(cls, xs: list["Phantoms"]) -> "Phantoms":
        xs = [x for x in xs if len(x.number)]
        if not xs:
            return cls.none()
        return cls(*(np.concatenate([getattr(x, n) for x in xs]) for n in ("number", "held", "chooses")))

    def __len__(self) -> int:
        return len(self.number)


def population_inputs(prep: Prepared, comp: Compared) -> PopulationInputs:
    """What :func:`jukimatch.engine.namesakes.population` needs of this part's rows."""
    R = prep.R
    answers = prep.number_all[prep.pair_resp]
    return PopulationInputs(
        rows=prep.r_global, keys=comp.rkeys, valid=prep.rcheck.ok,
        card=hash_strings(to_codepoints(R.column("card_number"))) if "card_number" in R.column_names
        else np.zeros(R.num_rows, np.uint64),
        held=prep.held,
        answer_names=(comp.pkeys.alpha, comp.pkeys.kanji, comp.pkeys.kana),
        answer_numbers=np.where(prep.number_ok_all[prep.pair_resp], answers, -1),
    )


@dataclass
class CandidateUnits:
    """What a part gives the run's mixture EM (:func:`jukimatch.engine.namesakes.fit_others`):
    per answered person, the best candidate's agreement cell and address relation and the
    name's bearers; counts for the observed absent rate; and the cells and relations of the
    answers known to be the person's own (the number the agency already holds came back),
    where how often a true record's address differs is seen directly."""

    rows: np.ndarray  # whole-table row of each unit's person
    bearers: np.ndarray
    cell: np.ndarray
    rel: np.ndarray
    answered: int
    absent: int
    known_cell: np.ndarray = field(default_factory=lambda: np.zeros(N_CELLS))  # counts per cell
    known_rel: np.ndarray = field(default_factory=lambda: np.zeros(N_RELATIONS + 1))  # per relation, last: unknown

    @classmethod
    def concat(cls, parts: list["CandidateUnits"]) -> "CandidateUnits":
        """The parts' units in whole-table order: every partitioning fits the same EM."""
        rows = np.concatenate([p.rows for p in parts])
        o = np.argsort(rows, kind="stable")
        return cls(rows[o], *(np.concatenate([getattr(p, f) for p in parts])[o] for f in ("bearers", "cell", "rel")),
                   sum(p.answered for p in parts), sum(p.absent for p in parts),
                   sum((p.known_cell for p in parts), np.zeros(N_CELLS)),
                   sum((p.known_rel for p in parts), np.zeros(N_RELATIONS + 1)))


def _cells(levels: np.ndarray) -> np.ndarray:
    return agreement_cell(name_full(levels), name_conflict(levels), levels[:, DATE_FIELD])


def candidate_units(prep: Prepared, comp: Compared, model: Model, th: Thresholds, pop: Population) -> CandidateUnits:
    levels = comp.levels
    n = prep.R.num_rows
    live = prep.answered & prep.rcheck.ok & ~prep.response_invalid
    weight = model.match_weights(levels, prior_weight=th.prior_bits) if len(levels) else np.zeros(0)
    best, _runner, _counts = rank_candidates(prep.pair_res, weight, n)
    unit = live & (best >= 0)
    j = np.where(unit, best, 0)
    plausible = unit & (weight[j] >= _bits(th.review_probability)) if len(weight) else unit
    known = np.zeros(n, bool)
    if len(levels):
        known = unit & (prep.held >= 0) & (prep.number_all[prep.pair_resp[j]] == prep.held)
        unit &= ~known

    def cells_relations(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        jj = j[rows]
        lv = levels[jj] if len(levels) else np.zeros((0, len(FIELDS)), np.int8)
        rel = relation(lv[:, ADDRESS_FIELD], comp.pkeys.room_same[jj]) if len(levels) else np.zeros(0, np.int8)
        return (_cells(lv) if len(lv) else np.zeros(0, np.int64)), rel.astype(np.int64)

    idx = np.flatnonzero(unit)
    cell, rel = cells_relations(idx)
    k_cell, k_rel = cells_relations(np.flatnonzero(known))
    return CandidateUnits(prep.r_global[idx], pop.bearers[idx], cell, rel, int(live.sum()),
                          int((live & ~plausible).sum()), np.bincount(k_cell, minlength=N_CELLS).astype(np.float64),
                          np.bincount(np.where(k_rel >= 0, k_rel, N_RELATIONS),
                                      minlength=N_RELATIONS + 1).astype(np.float64))


def _bits(p: float) -> float:
    return float(np.log2(p / (1 - p)))


MIN_UNITS_TO_FIT = 2_000  # fewer answered persons: the mixture of the model given (or shipped)
RATES_KEY = "others"  # where a model keeps the mixture it was fitted with


def rates_from(units: CandidateUnits, model: Model, pop: Population, *, given: Model | None = None) -> Rates:
    """The run's mixture of own records and someone else among best candidates, started
    from the model's m for the address and floored at what the file's birth dates imply.

    A run too small to learn much (a periodic run of a few new residents) uses the mixture
    of a ``given`` model (``--model`` last month's ``model.json``: the same population)
    when it carries one; never a shipped one — a generator's idea of where namesakes live
    is what this mixture exists to replace. The fitted mixture goes into ``model.json``
    (:func:`with_rates`) for the next run."""
    absent = units.absent / units.answered if units.answered else 0.0
    if len(units.rel) < MIN_UNITS_TO_FIT and given is not None and RATES_KEY in given.info:
        return Rates.from_json(given.info[RATES_KEY], absent=absent)
    a = min(max(absent, 1e-9), 0.5)
    floor = (a / (1 - a), pop.rho * (1 + KAPPA))
    m0 = np.zeros(N_RELATIONS)
    m0[:5] = model.m[ADDRESS_FIELD][:5]
    m0[ROOM], m0[OTHER_ROOM], m0[BLOCK_ANSWER_BARE], m0[BLOCK] = (m0[BLOCK] * x for x in (0.9, 0.03, 0.05, 0.02))
    return fit_others(units.bearers, units.cell, units.rel, m0, floor, absent=absent,
                      known_own=(units.known_cell, units.known_rel))


def with_rates(model: Model, rates: Rates) -> Model:
    """The model with the run's mixture in its info: ``model.json`` carries it to the next run."""
    return replace(model, info={**model.info, RATES_KEY: rates.to_json()})


RISK_BINS = np.arange(-15, 1)  # log10 of the risk: bin b holds risks in (10**(b-1), 10**b]


def risk_stats(prep: Prepared, d: Decisions, pairs: Pairs, pop: Population | None, rates: Rates | None,
               th: Thresholds) -> dict:
    """Summable risk figures of a part: the expected wrong numbers among its matches (also
    under the rates' low and high bounds), and a histogram of the risk of every person who
    would be matched under any budget, for the curve of review volume against risk."""
    if d.risk is None or pop is None or rates is None:
        return {}
    code = d.codes()
    match = code == DECISIONS.index(MATCH)
    ns_only = d.reason_mask[:, REASON_CODES.index("namesake_risk")] & (d.reason_mask.sum(axis=1) == 1)
    eligible = match | ns_only
    risk = np.nan_to_num(d.risk, nan=0.0)
    out = {"expected": float(risk[match].sum()), "matches": int(match.sum())}
    # under the bounds of the prior odds
    held_confirmed = d.reason_mask[:, REASON_CODES.index("held_number_confirmed")]
    idx = np.flatnonzero(match & ~held_confirmed & (d.best >= 0))
    j = d.best[idx]
    rel = relation(pairs.address_level[j], _room_same_of(pairs, j))
    cell = agreement_cell(pairs.name_full[j], pairs.name_conflict[j], pairs.date_level[j])
    for name, scale in zip(("expected_low", "expected_high"), rates.scale_bounds()):
        out[name] = float(other_risk(pop.bearers[idx], cell, rel, rates, scale).sum())
    b = np.clip(np.ceil(np.log10(np.maximum(risk[eligible], 1e-300))), RISK_BINS[0], 0).astype(np.int64)
    out["bins"] = {str(int(x)): {"persons": int((b == x).sum()), "risk": float(risk[eligible][b == x].sum())}
                   for x in np.unique(b)}
    return out


def _room_same_of(pairs: Pairs, j: np.ndarray) -> np.ndarray:
    return pairs.room_same[j] if pairs.room_same is not None else np.zeros(len(j), np.int8)


def score_and_decide(prep: Prepared, comp: Compared, model: Model, th: Thresholds,
                     phantoms: Phantoms | None = None, pop: Population | None = None,
                     rates: Rates | None = None) -> tuple[Decisions, Pairs]:
    """Score every pair and decide every resident row; ``pop`` (this part's rows of the run's
    population) and ``rates`` add the namesake risk and the duplicate-record rule."""
    levels = comp.levels
    weight = model.match_weights(levels, prior_weight=th.prior_bits)
    pair_resp = prep.pair_resp
    risk = None
    if pop is not None and rates is not None:
        rel = relation(levels[:, ADDRESS_FIELD], comp.pkeys.room_same)
        risk = other_risk(pop.bearers[prep.pair_res], _cells(levels), rel, rates)
    pairs = Pairs(
        person=prep.pair_res, weight=weight, number=prep.number_all[pair_resp],
        number_ok=prep.number_ok_all[pair_resp], sex_level=levels[:, SEX_FIELD], date_level=levels[:, DATE_FIELD],
        gaiji=comp.gaiji, name_full=name_full(levels), name_conflict=name_conflict(levels),
        address_level=levels[:, ADDRESS_FIELD], risk=risk, room_same=comp.pkeys.room_same,
    )
    persons = Persons(rejected=~prep.rcheck.ok, answered=prep.answered, response_invalid=prep.response_invalid,
                      held_number=prep.held, twin=pop.twin if pop is not None else None)
    return decide_with_phantoms(pairs, persons, th, phantoms), pairs


def decide_with_phantoms(pairs: Pairs, persons: Persons, th: Thresholds, phantoms: Phantoms | None) -> Decisions:
    """``decide`` for the real persons, with stand-ins for other parts' persons added (then dropped)."""
    if phantoms is None or not len(phantoms):
        return decide(pairs, persons, th)
    n, k = len(persons.rejected), len(phantoms)
    ch = np.flatnonzero(phantoms.chooses)
    m = len(ch)

    def ext(a, v, size):
        return np.concatenate([a, np.full(size, v, dtype=a.dtype)])

    xp = Pairs(
        person=np.concatenate([pairs.person, n + ch]), weight=ext(pairs.weight, 60.0, m),
        number=np.concatenate([pairs.number, phantoms.number[ch]]), number_ok=ext(pairs.number_ok, True, m),
        sex_level=ext(pairs.sex_level, 1, m), date_level=ext(pairs.date_level, 5, m), gaiji=ext(pairs.gaiji, False, m),
        name_full=ext(pairs.name_full, True, m), name_conflict=ext(pairs.name_conflict, False, m),
        address_level=ext(pairs.address_level, 4, m),
        risk=None if pairs.risk is None else ext(pairs.risk, 0.0, m),
        room_same=None if pairs.room_same is None else ext(pairs.room_same, 1, m),
    )
    xpers = Persons(rejected=ext(persons.rejected, False, k), answered=ext(persons.answered, True, k),
                    response_invalid=ext(persons.response_invalid, False, k),
                    held_number=np.concatenate([persons.held_number, phantoms.held]),
                    twin=None if persons.twin is None else ext(persons.twin, 0, k))
    return decide(xp, xpers, th).take(slice(0, n))


def number_report(prep: Prepared | Persons, pairs: Pairs, d: Decisions, th: Thresholds):
    """What the number rules of :func:`decide` see of this part: the numbers its plausible
    persons would be given (with whether that person already holds it) and the held numbers."""
    has = d.best >= 0
    ch = np.where(has, d.best, 0)
    plausible = has & (d.probability >= th.review_probability)
    ok = plausible & (pairs.number_ok[ch] if len(pairs.number_ok) else np.zeros(len(has), bool))
    idx = np.flatnonzero(ok)
    chosen = pairs.number[ch[idx]]
    keep = chosen >= 0
    idx, chosen = idx[keep], chosen[keep]
    held = prep.held if isinstance(prep, Prepared) else prep.held_number
    return chosen, held[idx] == chosen, held[held >= 0]


# ---------------------------------------------------------------------------------------
# 5. outputs


def decisions_table(R: pa.Table, S: pa.Table, d: Decisions, pair_resp: np.ndarray, errors: dict) -> pa.Table:
    """One row per resident row of the part, in its order."""
    n = R.num_rows
    best = d.best
    is_match = d.codes() == DECISIONS.index(MATCH)
    if n and S.num_rows and len(pair_resp):
        num_idx = np.where(is_match, pair_resp[np.where(best >= 0, best, 0)], 0)
        # null index -> null number: one take, no second copy of the column
        my_number = S.column("my_number").take(pa.array(num_idx, mask=~is_match))
    else:
        my_number = pa.nulls(n, pa.string())
    return pa.table({
        "person_id": R.column("person_id"),
        "decision": pa.DictionaryArray.from_arrays(pa.array(d.codes()), pa.array(DECISIONS)).cast(pa.string()),
        "my_number": my_number,
        "match_probability": pa.array(d.probability if d.risk is None else 1.0 - d.risk, pa.float64(),
                                      from_pandas=True),
        "match_weight": pa.array(d.weight, pa.float64(), from_pandas=True),
        "candidates": pa.array(d.candidates, pa.int32()),
        "reasons": reason_lists(d.reason_mask, dict(errors)),
        "wrong_number_risk": pa.array(np.full(n, np.nan) if d.risk is None else d.risk, pa.float64(),
                                      from_pandas=True),
    })


def malformed_decisions(k: int) -> pa.Table:
    """Decision rows for lines that could not even be parsed: rejected, without a person_id."""
    return pa.table({
        "person_id": pa.nulls(k, pa.string()),
        "decision": pa.array(["rejected"] * k, pa.string()),
        "my_number": pa.nulls(k, pa.string()),
        "match_probability": pa.nulls(k, pa.float64()),
        "match_weight": pa.nulls(k, pa.float64()),
        "candidates": pa.array([0] * k, pa.int32()),
        "reasons": pa.array([["row:field_count"]] * k, pa.list_(pa.string())),
        "wrong_number_risk": pa.nulls(k, pa.float64()),
    })


def _mask(col: pa.Array) -> pa.Array:
    """Only the last four digits of a number are shown: ********9018 (review rows are few)."""
    return pa.array([None if v is None else mask(v.strip(), whole=True) for v in col.to_pylist()], pa.string())


def side_by_side(R: pa.Table, S: pa.Table, d: Decisions, pairs: Pairs, pair_resp: np.ndarray, levels: np.ndarray,
                 model: Model | None, persons: np.ndarray, keys: np.ndarray | None = None,
                 twin_group: np.ndarray | None = None) -> pa.Table:
    """Every candidate of the given persons, both sides side by side, with levels and weights.

    This is the review queue's shape; numbers appear only masked. Pair rows come first
    (by person, then weight, highest first), then persons without any candidate. With
    ``keys`` (global row per resident row), sort columns ``__bare`` and ``__g`` are added.
    """
    persons = np.asarray(persons, dtype=np.int64)
    in_review = np.isin(pairs.person, persons)
    pidx = np.flatnonzero(in_review)
    bare = persons[d.candidates[persons] == 0]
    order = np.lexsort((-pairs.weight[pidx], pairs.person[pidx])) if len(pidx) else np.zeros(0, np.int64)
    pidx = pidx[order]
    res_rows = np.concatenate([pairs.person[pidx], bare]).astype(np.int64)
    resp_rows = pair_resp[pidx] if len(pidx) else np.zeros(0, np.int64)
    n_pairs, n_bare = len(pidx), len(bare)
    cols: dict[str, pa.Array] = {}
    cols["person_id"] = R.column("person_id").take(pa.array(res_rows))
    cols["reasons"] = reason_lists(d.reason_mask[res_rows])
    rank = np.zeros(n_pairs, dtype=np.int64)
    if n_pairs:
        p = pairs.person[pidx]
        starts = np.r_[0, np.flatnonzero(p[1:] != p[:-1]) + 1]
        rank = np.arange(n_pairs) - np.repeat(starts, np.diff(np.r_[starts, n_pairs]))
    cols["candidate_rank"] = pa.array(np.r_[rank + 1, np.zeros(n_bare, np.int64)], pa.int64())
    resp_take = pa.array(np.r_[resp_rows, np.zeros(n_bare, np.int64)])
    bare_mask = pa.array(np.r_[np.zeros(n_pairs, bool), np.ones(n_bare, bool)])
    empty = S.num_rows == 0

    def right(col: str) -> pa.Array:
        if empty:
            return pa.nulls(n_pairs + n_bare, pa.string())
        return pc.if_else(bare_mask, pa.scalar(None, pa.string()), S.column(col).take(resp_take))

    cols["response_row"] = pc.if_else(bare_mask, pa.scalar(None, pa.int64()),
                                      S.column(ROW_COLUMN).take(resp_take) if not empty
                                      else pa.nulls(n_pairs + n_bare, pa.int64()))
    cols["my_number_masked"] = _mask(right("my_number"))
    w = np.r_[pairs.weight[pidx], np.full(n_bare, np.nan)]
    cols["match_weight"] = pa.array(w, pa.float64(), from_pandas=True)
    p = 1.0 / (1.0 + np.exp2(-np.clip(w, -60, 60)))
    if pairs.risk is not None:
        p = 1.0 - np.r_[pairs.risk[pidx], np.full(n_bare, np.nan)]
    cols["match_probability"] = pa.array(p, pa.float64(), from_pandas=True)
    if pairs.address_level is not None and pairs.room_same is not None:
        rel = relation(pairs.address_level[pidx], pairs.room_same[pidx])
        names = np.asarray(RELATIONS + ("unknown",), dtype=object)
        cols["address_relation"] = pa.array(np.r_[names[np.where(rel >= 0, rel, len(RELATIONS))],
                                                  np.full(n_bare, None, dtype=object)], pa.string())
    lw = model.level_weights() if model is not None else None
    for f, name in enumerate(FIELDS):
        cols[f"{name}_l"] = R.column(name).take(pa.array(res_rows))
        cols[f"{name}_r"] = right(name)
        lv = np.r_[levels[pidx, f], np.full(n_bare, -1, np.int8)] if n_pairs else np.full(n_bare, -1, np.int8)
        cols[f"level_{name}"] = pa.array(lv, pa.int8())
        wt = lw[f][lv.astype(np.int64) + 1] if lw is not None else np.zeros(len(lv))
        cols[f"weight_{name}"] = pa.array(np.where(lv >= 0, wt, 0.0), pa.float64())
    if keys is not None:
        cols["__bare"] = bare_mask
        cols[KEY] = pa.array(keys[res_rows], pa.int64())
        cols[TWIN_KEY] = pa.array(twin_group[res_rows] if twin_group is not None else np.full(len(res_rows), -1),
                                  pa.int64())
    return pa.table(cols)


TWIN_KEY = "__twin_group"


def with_related(review: pa.Table) -> pa.Table:
    """``related_person_ids``: for a row of a duplicate group, the group's other person_ids
    (every row of a group is in review, whichever part decided it); the group key is dropped."""
    group = review.column(TWIN_KEY).to_numpy() if TWIN_KEY in review.column_names else np.full(review.num_rows, -1)
    members: dict[int, list[str]] = {}
    rows = np.flatnonzero(group >= 0)
    ids = review.column("person_id").take(pa.array(rows)).to_pylist() if len(rows) else []
    for g, pid in zip(group[rows].tolist(), ids):
        seen = members.setdefault(g, [])
        if pid not in seen:
            seen.append(pid)
    related = [[]] * review.num_rows
    for r, g, pid in zip(rows.tolist(), group[rows].tolist(), ids):
        related[r] = [x for x in members[g] if x != pid]
    out = review.append_column("related_person_ids", pa.array(related, pa.list_(pa.string())))
    return out.drop_columns([TWIN_KEY]) if TWIN_KEY in out.column_names else out


def sample_persons(decision: np.ndarray, candidates: np.ndarray, per_decision: int = 8) -> np.ndarray:
    """A few match and review persons (with candidates) to explain in the report."""
    rng = np.random.default_rng(SEED)
    chosen = []
    for kind in (MATCH, REVIEW):
        idx = np.flatnonzero((decision == kind) & (candidates > 0))
        if len(idx):
            chosen.append(np.sort(rng.choice(idx, size=min(per_decision, len(idx)), replace=False)))
    return np.concatenate(chosen) if chosen else np.zeros(0, np.int64)


def part_stats(prep: Prepared, d: Decisions) -> dict:
    """Counts of a part that sum to the run's summary."""
    sc = prep.scheck
    reason_counts = {c: int(d.reason_mask[:, j].sum()) for j, c in enumerate(REASON_CODES)}
    for errs in prep.rcheck.errors.values():
        for e in errs:
            reason_counts[e] = reason_counts.get(e, 0) + 1
    return {
        "residents": prep.R.num_rows,
        "responses": prep.S.num_rows,
        "decisions": dict(zip(DECISIONS, np.bincount(d.codes(), minlength=len(DECISIONS)).tolist())),
        "reasons": reason_counts,
        "responses_compared": int(len(prep.pair_resp)),
        "responses_not_found": int((sc.ok & prep.resident_ok & ~prep.found).sum()),
        "responses_rejected": int((~sc.ok).sum()),
        "responses_set_aside": int((prep.linked & ~prep.resident_ok & sc.ok).sum()),
    }


def add_stats(a: dict, b: dict) -> dict:
    out = {}
    for k in set(a) | set(b):
        x, y = a.get(k, 0), b.get(k, 0)
        out[k] = add_stats(x or {}, y or {}) if isinstance(x, dict) or isinstance(y, dict) else x + y
    return out


@dataclass
class PartOutputs:
    """A part's output rows, with sort keys to merge parts back into input order."""

    decisions: pa.Table  # + __g
    review: pa.Table  # + __bare, __g
    pending: pa.Table  # + __g
    rejected_residents: pa.Table  # + __g
    rejected_responses: pa.Table  # + __g
    stats: dict
    levels: np.ndarray | None = None  # for the report
    weight: np.ndarray | None = None
    pair_decision: np.ndarray | None = None


def part_outputs(prep: Prepared, d: Decisions, pairs: Pairs, levels: np.ndarray, model: Model,
                 sources: tuple[Path, Path], *, report: bool, pop: Population | None = None,
                 rates: Rates | None = None, th: Thresholds | None = None) -> PartOutputs:
    R, S = prep.R, prep.S
    g = pa.array(prep.r_global, pa.int64())
    dec = decisions_table(R, S, d, prep.pair_resp, prep.rcheck.errors).append_column(KEY, g)
    review = side_by_side(R, S, d, pairs, prep.pair_resp, levels, model, np.flatnonzero(d.decision == REVIEW),
                          keys=prep.r_global, twin_group=pop.group if pop is not None else None)
    is_pending = d.decision == PENDING
    pending = R.filter(pa.array(is_pending)).drop_columns([ROW_COLUMN]).append_column(
        KEY, pa.array(prep.r_global[is_pending], pa.int64()))
    rr = prep.rcheck.rejected_table(R, sources[0], "residents")
    rr = rr.append_column(KEY, pa.array(prep.r_global[np.array(sorted(prep.rcheck.errors), np.int64)], pa.int64()))
    sr = prep.scheck.rejected_table(S, sources[1], "responses")
    sr = sr.append_column(KEY, pa.array(prep.s_global[np.array(sorted(prep.scheck.errors), np.int64)], pa.int64()))
    stats = part_stats(prep, d)
    stats["risk"] = risk_stats(prep, d, pairs, pop, rates, th or Thresholds())
    out = PartOutputs(dec, review, pending, rr, sr, stats)
    if report:
        out.levels, out.weight = levels, pairs.weight
        out.pair_decision = d.decision[prep.pair_res] if len(prep.pair_res) else np.zeros(0, object)
    return out


def merge_sorted(tables: list[pa.Table], keys: list[str]) -> pa.Table:
    """Concatenate part tables and order the rows by the sort keys; the ``__`` keys are dropped."""
    t = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
    if len(tables) > 1 and t.num_rows:
        t = t.take(pc.sort_indices(t, sort_keys=[(k, "ascending") for k in keys]))
    return t.drop_columns([k for k in keys if k.startswith("__") and k in t.column_names])


__all__ = ["Compared", "KEY", "PartOutputs", "PartPlan", "Phantoms", "Prepared", "USamplePlan", "add_stats",
           "candidate_units", "compare", "decide_with_phantoms", "decisions_table", "malformed_decisions",
           "merge_sorted", "number_report", "part_outputs", "pattern_counts", "plan_u_sample",
           "population_inputs", "prepare", "rates_from", "risk_stats", "sample_persons", "score_and_decide",
           "side_by_side", "u_levels_from_exports", "with_rates", "with_related"]
