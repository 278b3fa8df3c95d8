"""The link model's kernels against plain-Python twins; TF levels, groups, fixed m/u, decisions."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jukimatch.engine.link.assign import REVIEW_REASONS, decide_pairs
from jukimatch.engine.link.config import parse_config
from jukimatch.engine.link.model import (
    TermFreq,
    WeightTables,
    em_step,
    fit_link_model,
    score_pairs,
    weight_tables,
    weights,
)
from jukimatch.engine.model import Model
from tests.naive.link import naive_em, naive_weights

SETTINGS = settings(max_examples=150)


# --- the twins ------------------------------------------------------------------------------


@st.composite
def tables_and_pairs(draw):
    n_f = draw(st.integers(1, 5))
    n_levels = [draw(st.integers(2, 6)) for _ in range(n_f)]
    n_rec = draw(st.integers(1, 12))
    n_pairs = draw(st.integers(0, 40))
    prob = st.floats(0.001, 1.0)
    lw, lm = np.zeros((n_f, 8)), np.zeros((n_f, 8))
    tf_on = np.zeros((n_f, 8), dtype=bool)
    for f, k in enumerate(n_levels):
        m = np.array([draw(prob) for _ in range(k)])
        u = np.array([draw(prob) for _ in range(k)])
        m, u = m / m.sum(), u / u.sum()
        lw[f, 1:k + 1] = np.log2(m / u)
        lm[f, 1:k + 1] = np.log2(m)
    n_groups = draw(st.integers(0, 2))
    group = np.array([draw(st.integers(-1, n_groups - 1)) for _ in range(n_f)], dtype=np.int64)
    tf_cols = [f for f in range(n_f) if draw(st.booleans())]
    tf_slot = np.full(n_f, -1, dtype=np.int64)
    rows_l, rows_r, keys_l, keys_r, keyed = [], [], [], [], []
    for s, f in enumerate(tf_cols):
        tf_slot[f] = s
        for lv in draw(st.lists(st.integers(1, n_levels[f] - 1), max_size=2)):
            tf_on[f, lv + 1] = True
        share = st.one_of(st.just(0.0), st.floats(1e-6, 1.0))
        for rows in (rows_l, rows_r):
            tf = np.array([draw(share) for _ in range(n_rec)])
            rows.append(np.where(tf > 0, np.log2(np.maximum(tf, 1e-300)), -np.inf))
        keyed.append(draw(st.booleans()))
        for keys in (keys_l, keys_r):  # few distinct keys, so that some pairs share one
            keys.append(np.array([draw(st.integers(0, 3)) for _ in range(n_rec)], dtype=np.uint64))
    log_tf_l = np.array(rows_l) if rows_l else np.zeros((0, 1))
    log_tf_r = np.array(rows_r) if rows_r else np.zeros((0, 1))
    key_l = np.array(keys_l) if keys_l else np.zeros((0, 1), np.uint64)
    key_r = np.array(keys_r) if keys_r else np.zeros((0, 1), np.uint64)
    t = WeightTables(lw, lm, tf_on, tf_slot, log_tf_l, log_tf_r, key_l, key_r, np.array(keyed, dtype=bool), group,
                     n_groups, draw(st.floats(-40.0, 5.0)))
    levels = np.array([[draw(st.integers(-1, k - 1)) for k in n_levels] for _ in range(n_pairs)],
                      dtype=np.int8).reshape(n_pairs, n_f)
    li = np.array([draw(st.integers(0, n_rec - 1)) for _ in range(n_pairs)], dtype=np.int64)
    ri = np.array([draw(st.integers(0, n_rec - 1)) for _ in range(n_pairs)], dtype=np.int64)
    return t, levels, li, ri


@SETTINGS
@given(tables_and_pairs())
def test_score_kernel_matches_twin(case):
    t, levels, li, ri = case
    w, fw = weights(t, levels, li, ri, field_weights=True)
    nw, nfw = naive_weights(t, levels, li, ri)
    np.testing.assert_allclose(w, nw, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(fw, nfw, rtol=1e-12, atol=1e-9)
    # the field weights add up to the weight
    np.testing.assert_allclose(fw.sum(axis=1) + t.prior_weight, w, rtol=1e-9, atol=1e-9)


@SETTINGS
@given(tables_and_pairs())
def test_em_kernel_matches_twin(case):
    t, levels, li, ri = case
    sums, total = em_step(t, levels, li, ri)
    nsums, ntotal = naive_em(t, levels, li, ri)
    np.testing.assert_allclose(sums, nsums, rtol=1e-9, atol=1e-12)
    assert total == pytest.approx(ntotal, rel=1e-9, abs=1e-12)


def test_kernels_reject_bad_input():
    z = np.zeros((0, 1))
    t = WeightTables(np.zeros((1, 8)), np.zeros((1, 8)), np.zeros((1, 8), bool), np.full(1, -1), z, z,
                     z.astype(np.uint64), z.astype(np.uint64), np.zeros(0, bool), np.full(1, -1), 0, 0.0)
    with pytest.raises(ValueError, match="levels must be"):
        weights(t, np.zeros((2, 2), np.int8), np.zeros(2, np.int64))
    with pytest.raises(ValueError, match="levels must lie"):
        weights(t, np.full((1, 1), 7, np.int8), np.zeros(1, np.int64))


# --- weights from a configuration -------------------------------------------------------------

CFG = parse_config({
    "link": {"id_column": "id"},
    "columns": [
        {"name": "name", "normaliser": "kana", "comparison": "name_kana", "tf": True, "tf_key": "nospace",
         "tf_levels": [3, 4], "group": "name"},
        {"name": "nationality", "normaliser": "alnum", "comparison": "exact", "group": "name"},
        {"name": "card", "normaliser": "alnum", "comparison": "exact", "m": [0.8, 0.2], "u": [0.9999999, 0.0000001]},
    ],
    "blocking": [{"keys": ["name:nospace"]}],
})


def _model(prior=0.5):
    m = [np.array([0.01, 0.02, 0.03, 0.14, 0.8]), np.array([0.001, 0.999]), np.array([0.8, 0.2])]
    u = [np.array([0.9, 0.05, 0.03, 0.01, 0.01]), np.array([0.8, 0.2]), np.array([0.9999999, 0.0000001])]
    return Model(["name", "nationality", "card"], [5, 2, 2], m, u, prior)


def test_tf_applies_to_the_configured_levels_with_the_commoner_value():
    model = _model()
    tf_l = np.array([0.2, 1e-5, 0.0])
    tf_r = np.array([0.1, 1e-4, 0.0])
    levels = np.array([[4, -1, -1], [3, -1, -1], [2, -1, -1], [4, -1, -1]], np.int8)
    li, ri = np.array([0, 1, 1, 2]), np.array([0, 1, 1, 2])
    s = score_pairs(model, CFG, levels, li, {0: (tf_l, tf_r)}, ri=ri)
    assert s.weight[0] == pytest.approx(math.log2(0.8 / 0.2))  # exact: the commoner of the two shares
    assert s.weight[1] == pytest.approx(math.log2(0.14 / 1e-4))  # spacing level adjusted too
    assert s.weight[2] == pytest.approx(math.log2(0.03 / 0.03))  # level 2: not a TF level
    assert s.weight[3] == pytest.approx(math.log2(0.8 / 0.01))  # no share known: the plain weight


def test_group_counts_the_best_agreement_and_every_disagreement():
    model = _model()
    s = score_pairs(model, CFG, np.array([[4, 1, 0], [0, 1, 0], [4, 0, -1]], np.int8), np.arange(3), {})
    name_exact, nat_agree, nat_diff = math.log2(0.8 / 0.01), math.log2(0.999 / 0.2), math.log2(0.001 / 0.8)
    card_diff = math.log2(0.8 / 0.9999999)
    assert s.weight[0] == pytest.approx(name_exact + card_diff)  # nationality's agreement adds nothing
    assert s.weight[1] == pytest.approx(math.log2(0.01 / 0.9) + nat_agree + card_diff)  # ... unless it is the best
    assert s.weight[2] == pytest.approx(name_exact + nat_diff)  # disagreement counts in full
    fw = s.field_weights(np.arange(3))
    assert fw[0].tolist() == pytest.approx([name_exact, 0.0, card_diff])


def test_fixed_m_and_u_are_kept_and_rare_identifiers_are_decisive():
    rng = np.random.default_rng(1)
    n = 400
    # 40 matches agree on name and nationality; 4000 candidate non-matches mostly not
    lv_match = np.column_stack([np.full(40, 4), np.ones(40), np.zeros(40)]).astype(np.int8)
    lv_non = np.column_stack([rng.choice(5, 4000, p=[0.7, 0.1, 0.1, 0.05, 0.05]), rng.choice(2, 4000, p=[0.8, 0.2]),
                              np.zeros(4000)]).astype(np.int8)
    levels = np.vstack([lv_match, lv_non])
    li = rng.integers(0, n, len(levels))
    ri = rng.integers(0, n, len(levels))
    lk = np.ones((n, 1), np.uint64)
    u_levels = np.column_stack([rng.choice(5, 20000, p=[0.9, 0.05, 0.03, 0.01, 0.01]),
                                rng.choice(2, 20000, p=[0.8, 0.2]), np.zeros(20000)]).astype(np.int8)
    model = fit_link_model(CFG, levels, li, ri, lk, None, u_levels, {}, n_total=n * (n - 1) / 2)
    assert model.m[2].tolist() == pytest.approx([0.8, 0.2]) and model.u[2].tolist() == pytest.approx([0.9999999, 1e-7])
    assert model.info["em_converged"]
    s = score_pairs(model, CFG, np.array([[-1, -1, 1]], np.int8), np.zeros(1, np.int64), {})
    assert s.weight[0] - model.prior_weight() == pytest.approx(math.log2(0.2 / 1e-7))


# --- decisions ----------------------------------------------------------------------------------

def test_decide_review_band_and_clusters_from_automatic_matches_only():
    # records 0-1 automatic, 1-2 in the band (never joins 2 to the cluster), 3-4 automatic,
    # 4-5 automatic but 3-5 only in the band: the chaining guard sends 4-5 to review
    li = np.array([0, 1, 3, 4, 3, 6])
    ri = np.array([1, 2, 4, 5, 5, 7])
    p = np.array([0.99, 0.2, 0.98, 0.97, 0.3, 0.0005])
    w = np.log2(p / (1 - p))
    d = decide_pairs(p, w, li, ri, 8, 8, threshold=0.5, review_threshold=0.01, dedupe=True, one_to_one_links=True,
               max_cluster_size=20)
    assert d.kept.tolist() == [0, 1, 2, 3, 4]  # 6-7 is below the review threshold
    assert d.match.tolist() == [True, False, True, False, False]
    assert [REVIEW_REASONS[r] if r >= 0 else None for r in d.reason] == [None, "band", None, "chain_guard", "band"]
    assert d.clusters.size.tolist() == [2, 2, 1, 2, 2, 1, 1, 1]
    # linking: the weaker pair of a record is refused by one-to-one and goes to review
    p = np.array([0.99, 0.9, 0.98])
    d = decide_pairs(p, np.log2(p / (1 - p)), np.array([0, 0, 1]), np.array([0, 1, 1]), 2, 2, threshold=0.5,
               review_threshold=0.5, dedupe=False, one_to_one_links=True, max_cluster_size=20)
    assert d.match.tolist() == [True, False, True] and REVIEW_REASONS[d.reason[1]] == "one_to_one"


def test_weight_tables_mark_tf_levels_and_groups():
    t = weight_tables(_model(), CFG, {0: np.array([0.5, 0.25])})
    assert t.tf_on[0].tolist() == [False, False, False, False, True, True, False, False]
    assert t.group.tolist() == [0, 0, -1] and t.n_groups == 1 and t.tf_slot.tolist() == [0, -1, -1]
    assert t.log_tf_l[0].tolist() == [-1.0, -2.0] and t.log_tf_r is t.log_tf_l


def test_tf_with_keys_applies_only_to_a_shared_value():
    # a full and a partial birth date agree where known (level 4) but do not share a value
    model = Model(["d"], [6], [np.array([0.01, 0.01, 0.01, 0.01, 0.06, 0.9])],
                  [np.array([0.99, 0.001, 0.001, 0.001, 0.003, 0.004])], 0.5)
    cfg = parse_config({"link": {"id_column": "id"}, "columns": [{"name": "d", "normaliser": "date",
                        "comparison": "date", "tf": True, "tf_levels": [4, 5]}], "blocking": [{"keys": ["d"]}]})
    keys = np.array([7, 7, 9], np.uint64)
    share = np.array([1e-5, 1e-5, 2e-4])
    s = score_pairs(model, cfg, np.array([[4], [4]], np.int8), np.array([0, 0]), {0: TermFreq(share, share, keys, keys)},
                    ri=np.array([1, 2]))
    assert s.weight[0] == pytest.approx(math.log2(0.06 / 1e-5))  # the same partial date: its share
    assert s.weight[1] == pytest.approx(math.log2(0.06 / 0.003))  # different values: the level's weight
