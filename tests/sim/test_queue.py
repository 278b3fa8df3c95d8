"""The FIFO multi-server kernel against its plain-Python twin, and the planner against Erlang C."""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from jukimatch.sim.planner import sample_arrivals, simulate_servers
from jukimatch.sim.queue import erlang_c, fifo_waits, mmc_wait_quantile
from tests.naive.sim import fifo_waits_naive


@given(st.lists(st.tuples(st.floats(0, 100), st.floats(0, 10)), max_size=60), st.integers(1, 6))
def test_kernel_matches_its_plain_twin(pairs, servers):
    arrivals = np.sort(np.array([a for a, _ in pairs], dtype=np.float64))
    service = np.array([s for _, s in pairs], dtype=np.float64)
    got = fifo_waits(arrivals, service, servers)
    np.testing.assert_allclose(got, fifo_waits_naive(arrivals.tolist(), service.tolist(), servers), atol=1e-9)


def test_kernel_accepts_read_only_buffers_and_checks_inputs():
    a = np.arange(5, dtype=np.float64)
    s = np.ones(5)
    a.flags.writeable = s.flags.writeable = False
    assert fifo_waits(a, s, 1).tolist() == [0.0] * 5
    with pytest.raises(ValueError, match="sorted"):
        fifo_waits(a[::-1], s, 1)
    with pytest.raises(ValueError, match="one length"):
        fifo_waits(a, s[:3], 1)
    with pytest.raises(ValueError, match="servers"):
        fifo_waits(a, s, 0)


def test_erlang_c_known_values():
    assert erlang_c(1, 0.5, 1.0) == pytest.approx(0.5)  # M/M/1: P(wait) = rho
    assert erlang_c(2, 1.0, 1.0) == pytest.approx(1 / 3)  # a=1, c=2
    assert erlang_c(3, 3.5, 1.0) == 1.0


@pytest.mark.parametrize("servers,rho", [(1, 0.7), (3, 0.85), (8, 0.9)])
def test_planner_agrees_with_mmc_on_a_poisson_workload(servers, rho):
    rng = np.random.default_rng(42)
    mu = 1000.0  # 1 ms mean service
    lam = rho * servers * mu
    hours = 0.05  # 3 minutes of arrivals: hundreds of thousands of requests
    n_hours = 1
    arrivals = sample_arrivals(np.array([lam * 3600 * hours] * n_hours), rng)
    arrivals.times_s *= hours  # squeeze the hour into `hours`: rate lam
    service = rng.exponential(1 / mu, len(arrivals.times_s))
    waits = fifo_waits(arrivals.times_s, service, servers)
    warm = len(waits) // 10  # drop the empty-system start
    w = waits[warm:]
    pw = erlang_c(servers, lam, mu)
    mean_wait = pw / (servers * mu - lam)
    assert (w > 0).mean() == pytest.approx(pw, abs=0.03)
    assert w.mean() == pytest.approx(mean_wait, rel=0.15)
    assert np.quantile(w, 0.99) == pytest.approx(mmc_wait_quantile(servers, lam, mu, 0.99), rel=0.15)
    row = simulate_servers(arrivals, service, [servers])[0]
    assert row["peak_hour_utilisation"] == pytest.approx(rho * hours, rel=0.03)
    assert row["mean_wait_ms"] == pytest.approx(waits.mean() * 1e3)


def test_mmc_quantile_formula():
    # M/M/1, rho=0.5: P(W>t) = 0.5 exp(-(mu-lam) t); the 0.99 quantile
    assert mmc_wait_quantile(1, 0.5, 1.0, 0.99) == pytest.approx(math.log(50) / 0.5)
    assert mmc_wait_quantile(4, 0.1, 1.0, 0.99) == 0.0
