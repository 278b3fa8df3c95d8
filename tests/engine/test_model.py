"""Fellegi–Sunter EM: packing twin, recovery of known parameters, save/load."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from jukimatch.engine.model import Model, count_patterns, estimate_u, fit, pack_patterns, unpack_patterns
from tests.naive.model import naive_weight


def synthetic(n, rng, lam=0.8):
    nl = [6, 5, 5, 6, 2, 5]
    m_true = [np.r_[np.full(k - 1, 0.1 / (k - 1)), 0.9] for k in nl]
    u_true = [np.r_[0.85, np.full(k - 1, 0.15 / (k - 1))] for k in nl]
    match = rng.random(n) < lam
    lv = np.empty((n, len(nl)), np.int8)
    for f, k in enumerate(nl):
        lv[:, f] = np.where(match, rng.choice(k, n, p=m_true[f]), rng.choice(k, n, p=u_true[f]))
    lv[rng.random(lv.shape) < 0.05] = -1
    return lv, nl, m_true, u_true


@settings(max_examples=100)
@given(st.lists(st.lists(st.integers(-1, 6), min_size=4, max_size=4), min_size=1, max_size=50))
def test_pack_roundtrip_and_counts(rows):
    lv = np.array(rows, dtype=np.int8)
    assert (unpack_patterns(pack_patterns(lv), 4) == lv).all()
    pats, counts = count_patterns(lv)
    naive = {}
    for r in rows:
        naive[tuple(r)] = naive.get(tuple(r), 0) + 1
    assert {tuple(p): c for p, c in zip(pats.tolist(), counts.tolist())} == naive


def test_em_recovers_parameters():
    rng = np.random.default_rng(7)
    lv, nl, m_true, u_true = synthetic(200_000, rng)
    model = fit(lv, u_true, [f"f{i}" for i in range(6)], n_levels=nl)
    assert model.info["converged"]
    assert abs(model.prior - 0.8) < 0.01
    for f in range(6):
        assert np.allclose(model.m[f], m_true[f], atol=0.01)


def test_score_matches_naive_sum():
    rng = np.random.default_rng(3)
    lv, nl, _, u_true = synthetic(2_000, rng)
    model = fit(lv, u_true, [f"f{i}" for i in range(6)], n_levels=nl)
    w, p = model.score(lv)
    naive = np.array([naive_weight(model, r) for r in lv.tolist()])
    assert np.allclose(w, naive)
    assert np.allclose(p, 1 / (1 + 2.0 ** -naive))


def test_u_from_random_pairs_smoothed():
    lv = np.array([[0], [0], [1], [-1]], dtype=np.int8)
    u = estimate_u(lv, [3])[0]
    assert u[2] > 0 and np.isclose(u.sum(), 1)
    assert u[0] > u[1] > u[2]


def test_save_load(tmp_path):
    rng = np.random.default_rng(1)
    lv, nl, _, u_true = synthetic(5_000, rng)
    model = fit(lv, u_true, [f"f{i}" for i in range(6)], n_levels=nl)
    model.save(tmp_path / "m.json")
    again = Model.load(tmp_path / "m.json")
    assert np.allclose(again.score(lv)[0], model.score(lv)[0])
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(ValueError, match="not a jukimatch model"):
        Model.load(tmp_path / "bad.json")


def test_bad_levels_refused():
    model = fit(np.zeros((3, 1), np.int8), [np.array([0.5, 0.5])], ["f"], n_levels=[2])
    with pytest.raises(ValueError, match="int8"):
        model.score(np.zeros((3, 1), np.int64))
    with pytest.raises(ValueError, match="shape"):
        model.score(np.zeros((3, 2), np.int8))
