"""Namesake risk and duplicate records (engine/reconcile/namesakes.py) against plain twins and
constructed cases."""
import math
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from jukimatch.engine.reconcile.namesakes import (
    DUPLICATE_RECORD, FULL_CELL, components, N_CELLS, N_RELATIONS, NAMESAKE_TWIN, OWN_ANSWERS_DIFFER, RELATIONS, ROOM, Rates, bearer_counts,
    count_keys, duplicates, fit_others, mix, name_keys, other_risk, own_answers, prior_odds, relation,
    told_apart,
)
from jukimatch.engine.text import to_codepoints

import pyarrow as pa
from tests.naive.reconcile import M64, naive_bearers, naive_mix_keys, naive_name_key, naive_risk


names = st.one_of(st.none(), st.sampled_from(["NGUYEN VAN AN", "VAN NGUYEN AN", "NGUYEN  VAN AN", "张 伟", "張\u3000偉",
                                              "グエン ヴァン アン", "", " "]),
                  st.text(alphabet=st.sampled_from("AB 偉ア\u3000"), max_size=8))


@settings(max_examples=150)
@given(st.lists(names, max_size=20), st.booleans())
def test_name_keys_match_twin(values, tokens):
    keys = name_keys(to_codepoints(pa.array(values, pa.string())), tokens=tokens)
    assert keys.tolist() == [naive_name_key(v, tokens) for v in values]


@settings(max_examples=100)
@given(st.lists(names, min_size=1, max_size=20), st.booleans(), st.data())
def test_name_keys_of_some_rows_match_twin(values, tokens, data):
    rows = data.draw(st.lists(st.integers(0, len(values) - 1), max_size=30))
    keys = name_keys(to_codepoints(pa.array(values, pa.string())), tokens=tokens, rows=np.array(rows, np.int64))
    assert keys.tolist() == [naive_name_key(values[r], tokens) for r in rows]


def test_name_keys_refuse_rows_outside_the_names():
    with pytest.raises(IndexError, match="rows must lie in 0..1"):
        name_keys(to_codepoints(pa.array(["AN", "BO"])), tokens=True, rows=np.array([2]))


def test_name_keys_fold_order_and_spaces_only_where_asked():
    cps = to_codepoints(pa.array(["NGUYEN VAN AN", "AN NGUYEN VAN", "張 偉", "張偉"]))
    alpha, whole = name_keys(cps, tokens=True), name_keys(cps, tokens=False)
    assert alpha[0] == alpha[1] and whole[0] != whole[1]
    assert whole[2] == whole[3]


@settings(max_examples=150)
@given(st.lists(st.integers(0, 5), max_size=60))
def test_count_keys_match_counter(keys):
    counts = Counter(k for k in keys if k)
    assert count_keys(np.array(keys, np.uint64)).tolist() == [counts[k] if k else 0 for k in keys]


@given(st.lists(st.tuples(st.integers(0, M64), st.integers(0, 3)), max_size=30))
def test_mix_matches_twin(rows):
    a = np.array([r[0] for r in rows], np.uint64)
    b = np.array([r[1] for r in rows], np.uint64)
    assert mix(a, b).tolist() == naive_mix_keys(a, b)
    assert mix(a).tolist() == naive_mix_keys(a)


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from([50, 5_000, 200_000]))
def test_counts_in_many_parts_match_twins(seed, distinct):
    """Past PART_KEYS keys the counts split into parts by hash (the answers by the same bits
    as the names): the same counts."""
    from jukimatch.engine.reconcile import namesakes as ns

    rng = np.random.default_rng(seed)
    n = 3 * ns.PART_KEYS + int(rng.integers(0, 1000))
    keys = rng.integers(0, distinct, n).astype(np.uint64)
    assert ns._part_bits(n) >= 2
    counts = Counter(keys[keys != 0].tolist())
    assert count_keys(keys).tolist() == [counts[k] if k else 0 for k in keys.tolist()]
    answers = rng.integers(0, distinct + 10, n // 2).astype(np.uint64)
    numbers = rng.integers(-1, 4, n // 2).astype(np.int64)
    assert bearer_counts(keys, answers, numbers).tolist() == \
        naive_bearers(keys.tolist(), answers.tolist(), numbers.tolist())


@settings(max_examples=150)
@given(st.lists(st.integers(0, 5), max_size=40),
       st.lists(st.tuples(st.integers(0, 7), st.integers(-1, 3)), max_size=40))
def test_bearer_counts_match_twin(names, answers):
    got = bearer_counts(np.array(names, np.uint64), np.array([a for a, _ in answers], np.uint64),
                        np.array([v for _, v in answers], np.int64))
    assert got.tolist() == naive_bearers(names, [a for a, _ in answers], [v for _, v in answers])


def test_bearer_counts_refuse_numbers_not_aligned_with_names():
    with pytest.raises(ValueError, match="3 answer names, 2 answer numbers"):
        bearer_counts(np.ones(2, np.uint64), np.ones(3, np.uint64), np.zeros(2, np.int64))


def test_mix_is_zero_when_a_part_is_absent():
    out = mix(np.array([1, 0, 3], np.uint64), np.array([5, 5, 0], np.uint64))
    assert out[0] != 0 and out[1] == 0 and out[2] == 0


# -- duplicate records on constructed rows ----------------------------------------------

def _dups(rows):
    """rows: (alpha, kanji, kana, birth, room, held, card) per resident; 0 = absent."""
    cols = list(zip(*rows))
    arr = [np.array(c, np.uint64) for c in cols[:5]]
    return duplicates(arr[:3], arr[3], arr[4], held=np.array(cols[5], np.int64), card=np.array(cols[6], np.uint64))


def test_same_human_twice_is_a_duplicate_record():
    kind, root = _dups([
        (1, 0, 7, 100, 50, -1, 0),   # a
        (1, 0, 7, 100, 50, -1, 0),   # a again, same room
        (2, 0, 0, 200, 60, 42, 0),   # b, holds 42
        (3, 0, 0, 300, 61, 42, 0),   # another name holding 42: same number, one human or a wrong holding
        (4, 0, 0, 400, 62, -1, 9),   # c, card 9
        (5, 0, 0, 500, 63, -1, 9),   # card 9 again
    ])
    assert kind.tolist() == [DUPLICATE_RECORD] * 6
    assert root.tolist() == [0, 0, 2, 2, 4, 4]


def test_namesake_twins_are_two_people():
    kind, root = _dups([
        (1, 0, 7, 100, 50, -1, 0),
        (1, 0, 7, 100, 51, -1, 0),   # same name, birth date and sex, another room
        (1, 0, 0, 100, 0, -1, 0),    # no kana on this row: agrees where both carry one
    ])
    assert kind.tolist() == [NAMESAKE_TWIN] * 3 and len(set(root.tolist())) == 1


def test_near_misses_are_not_flagged():
    kind, root = _dups([
        (1, 0, 7, 100, 50, -1, 0),
        (1, 0, 7, 101, 50, -1, 0),   # another birth date (or sex: part of the birth key)
        (2, 0, 7, 100, 50, -1, 0),   # another alphabet name, same kana: alphabet contradicts
        (1, 8, 0, 100, 52, -1, 0),   # kanji only here: nothing contradicts...
        (1, 9, 0, 100, 53, -1, 0),   # ...but two kanji that differ do
        (0, 0, 0, 100, 50, -1, 0),   # no name at all
    ])
    # rows 0 and 3 share alpha/birth with nothing contradicting; so do 0 and 4; 3 and 4 contradict
    # each other on kanji yet join through row 0: one group, two people
    assert kind[[1, 2, 5]].tolist() == [0, 0, 0] and root[[1, 2, 5]].tolist() == [-1, -1, -1]


@given(st.integers(1, 12).flatmap(lambda n: st.tuples(st.just(n), st.lists(
    st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=15), st.permutations(range(n)))))
def test_components_match_twin(case):
    n, edges, rank = case
    a = np.array([x for x, _ in edges], np.int64)
    b = np.array([y for _, y in edges], np.int64)
    # the plain twin: grow each component from its rows by the edges, name it by its least row
    # (by default) or by its row of least rank
    want = [-1] * n
    for start in range(n):
        group, grew = {start}, True
        while grew:
            grew = False
            for x, y in edges:
                if (x in group) != (y in group):
                    group |= {x, y}
                    grew = True
        if any(x == start or y == start for x, y in edges):
            want[start] = min(group)
    assert components(n, a, b).tolist() == want
    by_rank = [-1 if w < 0 else min((x for x in range(n) if want[x] == w), key=rank.__getitem__) for w in want]
    assert components(n, a, b, np.array(rank, np.int64)).tolist() == by_rank


@given(st.permutations(range(6)))
def test_duplicates_are_the_same_whatever_the_rows_order(order):
    """A partitioned run hands its rows over partition by partition: with each row's place in
    the whole table as ``rank``, the groups, and each group's first row, are those of the whole
    table (which row comes first decides which pairs are compared)."""
    rows = [
        (1, 0, 7, 100, 50, -1, 0),
        (1, 0, 7, 100, 51, -1, 0),
        (1, 8, 0, 100, 52, -1, 0),   # joins row 0 and 1 ...
        (1, 9, 0, 100, 53, -1, 0),   # ... but contradicts row 2's kanji: joined only through the first
        (4, 0, 0, 400, 62, -1, 9),
        (5, 0, 0, 500, 63, -1, 9),
    ]
    kind, root = _dups(rows)
    cols = list(zip(*[rows[i] for i in order]))
    arr = [np.array(c, np.uint64) for c in cols[:5]]
    kind_o, root_o = duplicates(arr[:3], arr[3], arr[4], held=np.array(cols[5], np.int64),
                                card=np.array(cols[6], np.uint64), rank=np.array(order, np.int64))
    assert kind_o.tolist() == kind[list(order)].tolist()
    assert [order[r] if r >= 0 else -1 for r in root_o.tolist()] == root[list(order)].tolist()


# -- namesake twins that Juki-net's answers told apart -------------------------------------

def _apart(kind, root, own):
    return told_apart(np.array(kind, np.int8), np.array(root, np.int64), np.array(own, np.int64)).tolist()


def test_twins_each_answered_to_their_own_room_are_told_apart():
    T = NAMESAKE_TWIN
    assert _apart([T, T], [0, 0], [11, 12]) == [True, True]
    assert _apart([T, T, T], [0, 0, 0], [11, 12, 13]) == [True, True, True]


def test_twins_stay_flagged_unless_every_member_is_told_apart():
    T, D, X = NAMESAKE_TWIN, DUPLICATE_RECORD, OWN_ANSWERS_DIFFER
    assert _apart([T, T], [0, 0], [11, -1]) == [False, False]  # one unanswered, or not to the room
    assert _apart([T, T], [0, 0], [11, 11]) == [False, False]  # one number twice: one human twice?
    assert _apart([T, T], [0, 0], [11, X]) == [False, False]  # two numbers for one member
    assert _apart([D, D], [0, 0], [11, 12]) == [False, False]  # one room or one held number
    assert _apart([T, T, 0], [0, 0, -1], [11, 12, 13]) == [True, True, False]  # not a twin: untouched
    assert _apart([T, T, T, T], [0, 0, 2, 2], [11, 12, 13, -1]) == [True, True, False, False]  # per group


def _naive_told_apart(kind, root, own):
    out = []
    for i in range(len(kind)):
        group = [j for j in range(len(kind)) if root[j] == root[i]] if root[i] >= 0 else []
        nums = [own[j] for j in group]
        out.append(bool(group) and kind[i] == NAMESAKE_TWIN and all(kind[j] == NAMESAKE_TWIN for j in group)
                   and all(x >= 0 for x in nums) and len(set(nums)) == len(nums))
    return out


@given(st.lists(st.tuples(st.sampled_from([0, DUPLICATE_RECORD, NAMESAKE_TWIN]), st.integers(-1, 3),
                          st.integers(-2, 4)), max_size=12))
def test_told_apart_matches_twin(rows):
    root = [min(r, len(rows) - 1) if k else -1 for k, r, _ in rows]  # a group is named by a row
    kind = [k if r >= 0 else 0 for (k, _, _), r in zip(rows, root)]
    own = [o for *_, o in rows]
    assert _apart(kind, root, own) == _naive_told_apart(kind, root, own)


@given(st.lists(st.tuples(st.integers(0, 5), st.integers(-1, 3), st.booleans()), max_size=20))
def test_own_answers_match_twin(pairs):
    person, number, full = (np.array(x) for x in zip(*pairs)) if pairs else (np.zeros(0, np.int64),) * 3
    got = own_answers(person.astype(np.int64), number.astype(np.int64), full.astype(bool), 6).tolist()
    want = []
    for i in range(6):
        nums = {n for p, n, f in pairs if p == i and f and n >= 0}
        want.append(-1 if not nums else nums.pop() if len(nums) == 1 else OWN_ANSWERS_DIFFER)
    assert got == want


# -- the mixture: plain twins ---------------------------------------------------------------

def _rates(rng):
    def dist(k):
        x = rng.random(k) + 0.01
        return x / x.sum()
    u_rel = dist(N_RELATIONS + 1)
    return Rates(alpha0=float(rng.random() * 0.05), alpha=float(rng.random() * 0.05), k=float(10 ** rng.uniform(-5, 0)),
                 m_cell=dist(N_CELLS), m_rel=dist(N_RELATIONS + 1), u_cell=dist(N_CELLS), u_rel=u_rel,
                 floor=(float(rng.random() * 0.05), float(10 ** rng.uniform(-6, -2))))


@given(st.integers(0, 2**32 - 1), st.lists(st.tuples(st.integers(1, 500), st.integers(0, N_CELLS - 1),
                                                       st.integers(-1, N_RELATIONS - 1)), min_size=1, max_size=30),
       st.floats(0.25, 4))
def test_other_risk_matches_twin(seed, units, scale):
    r = _rates(np.random.default_rng(seed))
    b, c, rel = (np.array(x) for x in zip(*units))
    got = other_risk(b.astype(float), c, rel, r, scale)
    want = [naive_risk(*u, r, scale) for u in units]
    assert np.allclose(got, want, rtol=1e-9, atol=1e-300)
    assert np.allclose(prior_odds(b.astype(float), r, scale),
                       [max(scale * (r.alpha0 + r.alpha * (1 - math.exp(-r.k * x))),
                            r.floor[0] * (1 - math.exp(-r.floor[1] * x))) for x in b])


def test_relation_splits_the_block_by_building():
    rel = relation(np.array([4, 4, 4, 4, 3, -1], np.int8), np.array([1, 2, 0, 3, 1, 1], np.int8))
    assert [RELATIONS[x] if x >= 0 else None for x in rel] == ["room", "other_room", "block", "block_answer_bare",
                                                               "town", None]


def _simulate(rng, n, alpha0, alpha, k, m_cell, m_rel, u_cell, u_rel):
    """Units from a known mixture: bearers from a heavy-headed law, then the class, cell, relation."""
    b = np.minimum(rng.zipf(1.6, n), 500).astype(float)
    odds = alpha0 + alpha * -np.expm1(-k * b)
    other = rng.random(n) < odds / (1 + odds)
    cell = np.where(other, rng.choice(N_CELLS, n, p=u_cell), rng.choice(N_CELLS, n, p=m_cell))
    rel = np.where(other, rng.choice(N_RELATIONS + 1, n, p=u_rel), rng.choice(N_RELATIONS + 1, n, p=m_rel))
    return b, cell, np.where(rel == N_RELATIONS, -1, rel), other


def test_fit_others_recovers_how_many_are_someone_else():
    """Calibration: on data drawn from the model, the expected count of others among the
    units, and among those a budget would match, tracks the true count."""
    rng = np.random.default_rng(7)
    m_cell = np.full(N_CELLS, 0.02 / 8); m_cell[FULL_CELL] = 0.98
    u_cell = np.full(N_CELLS, 0.6 / 8); u_cell[FULL_CELL] = 0.4
    m_rel = np.array([0.002, 0.002, 0.003, 0.008, 0.01, 0.93, 0.005, 0.04, 0.0]); m_rel /= m_rel.sum()
    u_rel = np.array([0.3, 0.05, 0.2, 0.35, 0.01, 1e-6, 0.09, 0.001, 0.0]); u_rel /= u_rel.sum()
    b, cell, rel, other = _simulate(rng, 200_000, 0.01, 0.03, 0.05, m_cell, m_rel, u_cell, u_rel)
    r = fit_others(b, cell, rel, m_rel[:N_RELATIONS], (0.0, 1e-6))
    assert 0.8 < r.others / other.sum() < 1.25
    risk = other_risk(b, cell, rel, r)
    for budget in (1e-3, 1e-2, 0.1):
        kept = risk <= budget
        truth, expected = other[kept].sum(), risk[kept].sum()
        if truth >= 10:  # the bar: within a factor of 2 wherever the truth is 10 or more
            assert 0.5 < expected / truth < 2, (budget, truth, expected)
        else:  # few: as a Poisson count allows
            assert truth <= expected + 3 * math.sqrt(expected) + 3, (budget, truth, expected)
    assert abs(r.u_rel[RELATIONS.index("town")] - u_rel[3]) < 0.05
    assert r.u_rel[ROOM] < 1e-5  # held: a namesake outside the file does not share the room


def test_an_answer_without_the_building_is_weighed_as_the_block():
    """The register drops the building from some answers (a notation habit): own records
    and namesakes in the block alike. Look-alikes seldom come from the block, so u there
    cannot be learnt from them; the expected others among such answers must still track
    the truth, and a budget must not match them as certain (8 wrong numbers at 200k on the
    clustered profile before)."""
    rng = np.random.default_rng(11)
    m_cell = np.full(N_CELLS, 0.02 / 8); m_cell[FULL_CELL] = 0.98
    u_cell = np.full(N_CELLS, 0.5 / 8); u_cell[FULL_CELL] = 0.5
    m_rel = np.array([0.002, 0.002, 0.003, 0.008, 0.0, 0.975, 0.01, 0.0, 0.0])
    u_rel = np.array([0.3, 0.05, 0.2, 0.25, 0.0, 0.0, 0.2, 0.0, 0.0])
    b, cell, rel, other = _simulate(rng, 200_000, 0.01, 0.1, 0.05, m_cell, m_rel / m_rel.sum(), u_cell,
                                    u_rel / u_rel.sum())
    named = (rel == ROOM) | (rel == RELATIONS.index("other_room"))
    habit = named & (rng.random(len(rel)) < 0.06) & (~other | (cell == FULL_CELL))  # look-alikes keep theirs
    rel = np.where(habit, RELATIONS.index("block_answer_bare"), rel)
    r = fit_others(b, cell, rel, m_rel[:N_RELATIONS] / m_rel.sum(), (0.0, 1e-6))
    risk = other_risk(b, cell, rel, r)
    bare = habit & (cell == FULL_CELL)
    truth, expected = other[bare].sum(), risk[bare].sum()
    assert truth >= 10 and 0.5 < expected / truth < 2, (truth, expected)
    assert not (other & bare & (risk <= 1e-5)).any()


def test_known_own_answers_show_how_often_an_own_address_differs():
    """A local mover and a namesake next door look alike; the answers known to be the
    person's own (held number returned) show how often an own record's address differs,
    and the expected others then track the truth."""
    rng = np.random.default_rng(5)
    m_cell = np.full(N_CELLS, 0.02 / 8); m_cell[FULL_CELL] = 0.98
    u_cell = np.full(N_CELLS, 0.2 / 8); u_cell[FULL_CELL] = 0.8
    m_rel = np.array([0.003, 0.004, 0.005, 0.015, 0.0, 0.91, 0.003, 0.06, 0.0])
    u_rel = np.array([0.15, 0.02, 0.2, 0.55, 0.005, 0.0, 0.075, 0.0, 0.0])
    m_rel, u_rel = m_rel / m_rel.sum(), u_rel / u_rel.sum()
    b, cell, rel, other = _simulate(rng, 200_000, 0.02, 0.03, 0.1, m_cell, m_rel, u_cell, u_rel)
    n_known = 10_000
    known = (np.bincount(rng.choice(N_CELLS, n_known, p=m_cell), minlength=N_CELLS).astype(float),
             np.bincount(rng.choice(N_RELATIONS + 1, n_known, p=m_rel), minlength=N_RELATIONS + 1).astype(float))
    r = fit_others(b, cell, rel, m_rel[:N_RELATIONS], (0.0, 1e-6), known_own=known)
    assert 0.75 < r.others / other.sum() < 1.33
    town = RELATIONS.index("town")
    assert abs(r.m_rel[town] / m_rel[town] - 1) < 0.3, (r.m_rel[town], m_rel[town])
    none = fit_others(b, cell, rel, m_rel[:N_RELATIONS], (0.0, 1e-6), known_own=(np.zeros(N_CELLS),
                                                                                np.zeros(N_RELATIONS + 1)))
    assert none.others == fit_others(b, cell, rel, m_rel[:N_RELATIONS], (0.0, 1e-6)).others  # no labels: as before


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.integers(0, 5000).map(float), st.floats(0, 5000, allow_nan=False)), max_size=300))
def test_distinct_bins_equal_unique(values):
    """The bincount shortcut is np.unique over the bins, exactly."""
    from jukimatch.engine.reconcile import namesakes as ns

    b = np.asarray(values, np.float64)
    got, inv = ns._distinct_bins(b)
    want, want_inv = np.unique(ns._bearer_bins(b), return_inverse=True)
    assert np.array_equal(got, want) and np.array_equal(inv, want_inv)
