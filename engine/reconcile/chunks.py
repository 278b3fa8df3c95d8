"""Stage 2: normalise and compare over bounded chunks of resident rows, 6 bytes of levels per pair.

Each chunk can be saved to and reloaded from a
:class:`~jukimatch.engine.reconcile.checkpoint.WorkDir` (hence the feature (de)serialisation
here); the random pairs that estimate u are planned over the whole input
(:func:`plan_u_sample`) so that every backend draws the same ones, and the model is fitted
once on summed pattern counts (:func:`pattern_counts`).
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pyarrow as pa

from jukimatch.engine.model import MAX_LEVEL, pack_patterns
from jukimatch.engine.normalize import Dates
from jukimatch.engine.reconcile.features import (
    FIELDS, Features, TEXT_FIELDS, compare_features, features, pair_features, same_names,
)
from jukimatch.engine.reconcile.namesakes import PairKeys, ResidentKeys, pair_keys, resident_keys
from jukimatch.engine.reconcile.prepare import Prepared, SEED
from jukimatch.engine.runtime import one_ahead
from jukimatch.engine.text import Codepoints, concat_codepoints, take_codepoints


N_PATTERNS = int(pack_patterns(np.full((1, len(FIELDS)), MAX_LEVEL, np.int8))[0]) + 1


def _take_dates(d: Dates, rows) -> Dates:
    return Dates(*(np.ascontiguousarray(x[rows]) for x in d))


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
        owner = np.empty(k, dtype=np.int64)
        by_g = np.argsort(g, kind="stable")  # sorted look-ups stay in cache: half the time
        owner[by_g] = np.searchsorted(ends, g[by_g], side="right")
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
    chunks: int = 0  # the chunks it was compared in
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


class _Stretch(NamedTuple):
    """The response rows that hold a range of pairs: a table, each pair's row in it, and
    which rows of the whole responses table it holds (for the parsed dates and sex)."""

    table: pa.Table
    ri: np.ndarray
    rows: slice | np.ndarray


class _ResponseRows:
    """The response rows of a range of compared pairs, without a take over the whole table.

    A take from a multi-chunk column costs time in the column's length, not in the rows
    taken, so one take per chunk grows quadratically. Juki-net answers in inquiry order, so
    the rows of a chunk lie in one short stretch of the table: it is sliced (zero-copy), and
    its few rows that answer nobody are normalised with the rest, which costs less than a
    take. Responses in any other order are put in pair order once, up front.
    """

    def __init__(self, S: pa.Table, pair_resp: np.ndarray) -> None:
        self.pair_resp = pair_resp
        cols = S.select(list(FEATURE_COLUMNS))
        self.in_order = bool(len(pair_resp) < 2 or (np.diff(pair_resp) > 0).all())
        self.table = cols if self.in_order else cols.take(pa.array(pair_resp)).combine_chunks()

    def rows(self, a: int, b: int) -> _Stretch:
        """The response rows of pairs ``a:b``."""
        n = b - a
        if not self.in_order:  # the table is in pair order already
            return _Stretch(self.table.slice(a, n), np.arange(n, dtype=np.int64), self.pair_resp[a:b])
        if n == 0:
            return _Stretch(self.table.slice(0, 0), np.zeros(0, dtype=np.int64), slice(0, 0))
        lo, hi = int(self.pair_resp[a]), int(self.pair_resp[b - 1]) + 1
        ri = self.pair_resp[a:b] - lo
        stretch = self.table.slice(lo, hi - lo)
        if hi - lo <= 2 * n:
            return _Stretch(stretch, ri, slice(lo, hi))
        return _Stretch(stretch.take(pa.array(ri)), np.arange(n, dtype=np.int64), self.pair_resp[a:b])


def _common_samples(rk: np.ndarray, pk: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``np.intersect1d(rk, pk, assume_unique=True, return_indices=True)`` for sample ids (small
    non-negative integers): a look-up array over the ids instead of a sort of both."""
    if not len(rk) or not len(pk):
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
    at = np.full(int(max(rk.max(), pk.max())) + 1, -1, dtype=np.int64)
    at[pk] = np.arange(len(pk))
    sel = np.flatnonzero(at[rk] >= 0)
    order = np.argsort(rk[sel], kind="stable")
    both = rk[sel[order]]
    return both, sel[order], at[both]


def _others(n: int, taken: np.ndarray) -> np.ndarray:
    """0..n-1 without ``taken``, ascending."""
    keep = np.ones(n, dtype=bool)
    keep[taken] = False
    return np.flatnonzero(keep)


def _within(sorted_vals: np.ndarray, lo, hi) -> slice:
    i, j = np.searchsorted(sorted_vals, [lo, hi])
    return slice(int(i), int(j))


def compare_chunks(prep: Prepared, plan: PartPlan | None, *, chunk_rows: int, store=None, part: int = 0,
            timer=None, progress=None) -> Compared:
    """Levels of every pair of the part, chunk by chunk, plus the part's share of the u sample.

    ``pair_res`` is sorted, so a range of resident rows owns a contiguous range of pairs:
    each chunk normalises a zero-copy slice of the residents and the responses it owns.
    The next chunk is normalised while this one is compared (the normalisers leave a core
    idle a third of the time, and so do the steps between comparison kernels). With
    ``store`` (a WorkDir), finished chunks are reloaded and new ones saved.
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
    bounds = []  # per chunk: resident rows a:b, pairs pa_:pb, its u-sample rows and pairs
    for a in range(0, n_res, step):
        b = min(a + step, n_res)
        pa_, pb = (int(x) for x in np.searchsorted(pair_res, [a, b]))
        rs = _within(plan.res_row, a, b) if plan is not None else slice(0, 0)
        ps = _within(plan.pair_idx, pa_, pb) if plan is not None else slice(0, 0)
        bounds.append((a, b, pa_, pb, rs, ps))
    out.chunks = len(bounds)

    def normalised(c: int):
        """Chunk c made ready: its saved arrays, or its two sides' features."""
        a, b, pa_, pb, rs, ps = bounds[c]
        rows = slice(a, b)
        if pb == pa_ and rs.stop == rs.start:  # nobody answered: their names still count
            return "alone", features(R.slice(a, b - a), dates=_take_dates(prep.rcheck.dates, rows),
                                     sex=prep.rcheck.sex[rows])
        saved = store.load_chunk(part, c) if store is not None else None
        if saved is not None:
            return "saved", saved
        li = pair_res[pa_:pb] - a
        right_rows = responses.rows(pa_, pb)
        owner = np.full(right_rows.table.num_rows, -1, dtype=np.int64)
        owner[right_rows.ri] = li
        # Each side's texts joined into one chunk once: the comparison of the two sides and
        # the normalisers each read a column whole, and would each join its chunks.
        left, right = pair_features(R.slice(a, b - a).select(list(FEATURE_COLUMNS)).combine_chunks(),
                                    right_rows.table.combine_chunks(), owner,
                                    left_dates=_take_dates(prep.rcheck.dates, rows), left_sex=prep.rcheck.sex[rows],
                                    right_dates=_take_dates(prep.scheck.dates, right_rows.rows),
                                    right_sex=prep.scheck.sex[right_rows.rows])
        return "pairs", (li, right_rows.ri, left, right)

    # Chunks are saved on a thread of their own (serialising and fsync release the GIL), and
    # the next chunk is normalised on another.
    saver, saves = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jukimatch-save"), []
    ready_chunks = one_ahead(normalised(c) for c in range(len(bounds)))
    try:
        for c, (a, b, pa_, pb, rs, ps) in enumerate(bounds):
            with phase("normalise"):
                kind, ready = next(ready_chunks)
            if kind == "alone":
                _put_keys(out, a, b, pa_, pb, resident_keys(ready), PairKeys.empty())
                continue
            if kind == "saved":
                out.reused_chunks += 1
                levels[pa_:pb] = ready["levels"]
                gaiji[pa_:pb] = ready["gaiji"]
                _put_keys(out, a, b, pa_, pb, ResidentKeys.from_arrays(ready, "rk_"), PairKeys.from_arrays(ready, "pk_"))
                u_parts.append(ready["u"])
                if len(ready["xr_k"]):
                    out.export_res.append((ready["xr_k"], features_from_arrays(ready, "xr_")))
                if len(ready["xp_k"]):
                    out.export_pair.append((ready["xp_k"], features_from_arrays(ready, "xp_")))
            else:
                li, ri, left, right = ready
                with phase("compare"):
                    levels[pa_:pb] = compare_features(left, right, li, ri)
                    gaiji[pa_:pb] = left.gaiji[li] | right.gaiji[ri]
                    rkeys = resident_keys(left)
                    pkeys = pair_keys(left, right, li, ri, rkeys, same_names(levels[pa_:pb]))
                    _put_keys(out, a, b, pa_, pb, rkeys, pkeys)
                    if plan is not None:
                        rk, rrow, pk, pidx = plan.res_k[rs], plan.res_row[rs], plan.pair_k[ps], plan.pair_idx[ps]
                    else:
                        rk = rrow = pk = pidx = np.zeros(0, np.int64)
                    both, i_r, i_p = _common_samples(rk, pk)
                    u = compare_features(left, right, rrow[i_r] - a, ri[pidx[i_p] - pa_]) if len(both) else \
                        np.zeros((0, len(FIELDS)), np.int8)
                    only_r, only_p = _others(len(rk), i_r), _others(len(pk), i_p)
                    xr = (rk[only_r], take_features(left, rrow[only_r] - a)) if len(only_r) else None
                    xp = (pk[only_p], take_features(right, ri[pidx[only_p] - pa_])) if len(only_p) else None
                del ready, left, right
                u_parts.append(u)
                if xr:
                    out.export_res.append(xr)
                if xp:
                    out.export_pair.append(xp)
                if store is not None:
                    arrays = {"levels": levels[pa_:pb].copy(), "gaiji": gaiji[pa_:pb].copy(), "u": u,
                              **rkeys.arrays("rk_"), **pkeys.arrays("pk_"),
                              "xr_k": xr[0] if xr else np.zeros(0, np.int64),
                              "xp_k": xp[0] if xp else np.zeros(0, np.int64)}
                    if xr:
                        arrays.update(features_to_arrays(xr[1], "xr_"))
                    if xp:
                        arrays.update(features_to_arrays(xp[1], "xp_"))
                    saves.append(saver.submit(store.save_chunk, part, c, arrays))
            if progress:
                progress("compare", int(pb), n_pairs)
        for f in saves:  # every chunk is on disk before the caller marks the part compared
            f.result()
    finally:
        ready_chunks.close()
        saver.shutdown()
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
