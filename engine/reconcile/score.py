"""Stages 3 and 4: the run's population and mixture, then score, namesake risk and decide.

The population (:func:`population_inputs` of every part: names' bearers, duplicate records
across parts) and the mixture of own records and someone else's (:func:`candidate_units`
of every part, :func:`rates_from`) come from :mod:`jukimatch.engine.reconcile.namesakes`;
:func:`score_and_decide` scores the pairs and decides, with optional stand-ins for persons
of other parts (:class:`Phantoms`, see :mod:`jukimatch.engine.reconcile.partition`) for the
rules that need every number.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from jukimatch.engine.model import Model
from jukimatch.engine.reconcile.chunks import Compared
from jukimatch.engine.reconcile.decide import (
    DECISIONS, MATCH, REASON_CODES, Choices, Decisions, Pairs, Persons, Thresholds, choose, decide, rank_candidates,
)
from jukimatch.engine.reconcile.features import (
    ADDRESS_FIELD, DATE_FIELD, FIELDS, SEX_FIELD, agreement_cells, name_conflict, name_full,
)
from jukimatch.engine.reconcile.namesakes import (
    BLOCK, BLOCK_ANSWER_BARE, FULL_CELL, KAPPA, N_CELLS, N_RELATIONS, OTHER_ROOM, ROOM, Population, PopulationInputs,
    Rates, agreement_cell, fit_others, other_risk, other_risks, own_answers, relation,
)
from jukimatch.engine.reconcile.prepare import Prepared
from jukimatch.engine.text import hash_texts


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
    """What :func:`jukimatch.engine.reconcile.namesakes.population` needs of this part's rows."""
    R = prep.R
    answers = np.where(prep.number_ok_all[prep.pair_resp], prep.number_all[prep.pair_resp], -1)
    return PopulationInputs(
        rows=prep.r_global, keys=comp.rkeys, valid=prep.rcheck.ok,
        card=hash_texts(R.column("card_number")) if "card_number" in R.column_names
        else np.zeros(R.num_rows, np.uint64),
        held=prep.held,
        answer_names=(comp.pkeys.alpha, comp.pkeys.kanji, comp.pkeys.kana),
        answer_numbers=answers,
        own_answer=own_answers(prep.pair_res, answers, _agrees_to_the_room(comp.levels, comp.pkeys.room_same),
                               R.num_rows),
    )


def _agrees_to_the_room(levels: np.ndarray, room_same: np.ndarray) -> np.ndarray:
    """Per pair: names (none contradicting), birth date and sex agree fully, and so does the
    address down to building and room."""
    rel = relation(levels[:, ADDRESS_FIELD], room_same)
    return ((_cells(levels) == FULL_CELL) & ~name_conflict(levels) & (levels[:, SEX_FIELD] == 1)
            & (rel == ROOM))


@dataclass
class CandidateUnits:
    """What a part gives the run's mixture EM (:func:`jukimatch.engine.reconcile.namesakes.fit_others`):
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
    return agreement_cells(levels)


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
    bounds = other_risks(pop.bearers[idx], cell, rel, rates, tuple(rates.scale_bounds()))
    for name, r in zip(("expected_low", "expected_high"), bounds):
        out[name] = float(r.sum())
    risk = risk[eligible]
    b = np.clip(np.ceil(np.log10(np.maximum(risk, 1e-300))), RISK_BINS[0], 0).astype(np.int8)
    # each bin's risks in their own order (a stable sort by bin), summed as a mask would pick them
    order = np.argsort(b, kind="stable")
    bins, starts, counts = np.unique(b[order], return_index=True, return_counts=True)
    ranked = risk[order]
    out["bins"] = {str(int(x)): {"persons": int(n), "risk": float(ranked[a:a + n].sum())}
                   for x, a, n in zip(bins, starts, counts)}
    return out


def _room_same_of(pairs: Pairs, j: np.ndarray) -> np.ndarray:
    return pairs.room_same[j] if pairs.room_same is not None else np.zeros(len(j), np.int8)


def score_and_decide(prep: Prepared, comp: Compared, model: Model, th: Thresholds,
                     phantoms: Phantoms | None = None, pop: Population | None = None,
                     rates: Rates | None = None) -> tuple[Decisions, Pairs]:
    """Score every pair and decide every resident row; ``pop`` (this part's rows of the run's
    population) and ``rates`` add the namesake risk and the duplicate-record rule."""
    pairs, persons = scored(prep, comp, model, th, pop, rates)
    return decide_with_phantoms(pairs, persons, th, phantoms), pairs


def score_and_report(prep: Prepared, comp: Compared, model: Model, th: Thresholds, pop: Population | None = None,
                     rates: Rates | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`number_report` of this part without deciding it: the candidates each person's
    decision would judge (:func:`~jukimatch.engine.reconcile.decide.choose`) are all the
    number rules of other parts need, and the rules themselves wait for their stand-ins."""
    pairs, persons = scored(prep, comp, model, th, pop, rates)
    return number_report(prep, pairs, choose(pairs, persons), th)


def scored(prep: Prepared, comp: Compared, model: Model, th: Thresholds, pop: Population | None = None,
           rates: Rates | None = None) -> tuple[Pairs, Persons]:
    """Every pair scored (weight, namesake risk) and every resident row as :func:`decide` reads them."""
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
    return pairs, persons


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


def number_report(prep: Prepared | Persons, pairs: Pairs, d: Decisions | Choices, th: Thresholds):
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
