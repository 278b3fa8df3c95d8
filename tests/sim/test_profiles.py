"""The requesters' load profiles: one source of truth with the permission list, volumes integrate."""
import datetime as dt

import numpy as np
import pytest

from jukimatch.datasets.requesters import load_requesters
from jukimatch.sim.profiles import (DAILY_CURVES, Burst, business_day_curve, calendar, hourly_rates, jp_holidays,
                                    load_profiles, weights)


def test_every_requester_has_exactly_one_profile():
    profiles = load_profiles()
    assert [p.requester for p in profiles] == load_requesters()
    assert all(p.per_million_per_year > 0 and p.daily_curve in DAILY_CURVES for p in profiles)


@pytest.mark.parametrize("year,residents", [(2027, 4_000_000), (2028, 1_000_000), (2030, 123_457)])
def test_profiles_integrate_to_their_yearly_volumes(year, residents):
    profiles = load_profiles()
    rates = hourly_rates(profiles, year, residents)
    days = (dt.date(year + 1, 1, 1) - dt.date(year, 1, 1)).days
    assert rates.shape == (days * 24, len(profiles))
    assert (rates >= 0).all()
    expected = np.array([p.yearly_volume(residents) for p in profiles])
    np.testing.assert_allclose(rates.sum(axis=0), expected, rtol=1e-9)


def test_seasonality_and_bursts_show_where_the_profiles_say():
    profiles = load_profiles()
    rates = hourly_rates(profiles, 2027, 1_000_000)
    days, business, month = calendar(2027)
    tax = next(j for j, p in enumerate(profiles) if p.requester.ordinance_row == 48)
    per_day = rates[:, tax].reshape(len(days), 24).sum(axis=1)
    june = per_day[(month == 5) & business].mean()
    august = per_day[(month == 7) & business].mean()
    assert june > 2.5 * august  # assessment notices in June, plus the June batch run
    closed = np.flatnonzero(~business)
    assert per_day[closed].max() == 0  # weekend_share 0: nothing on closed days
    # the evening batch window of the June run
    june1 = (dt.date(2027, 6, 1) - dt.date(2027, 1, 1)).days
    assert rates[june1 * 24 + 20, tax] > rates[june1 * 24 + 20 + 24 * 7 * 3, tax]


def test_calendar_knows_japanese_holidays():
    h = jp_holidays(2027)
    assert dt.date(2027, 1, 11) in h  # Coming of Age Day, 2nd Monday
    assert dt.date(2027, 3, 21) in h and dt.date(2027, 3, 22) in h  # equinox on Sunday, substitute Monday
    assert dt.date(2027, 12, 30) in h and dt.date(2027, 5, 3) in h
    _, business, _ = calendar(2027)
    assert 235 <= business.sum() <= 250


def test_bad_profile_rows_fail_loudly(tmp_path):
    from jukimatch.sim.profiles import _load_path

    text = _load_path().read_text(encoding="utf-8")
    bad = tmp_path / "load.tsv"
    bad.write_text(text.replace("\toffice\t0\t1,1,1,1.6", "\tnoon\t0\t1,1,1,1.6", 1), encoding="utf-8")
    with pytest.raises(ValueError, match="daily_curve"):
        load_profiles(bad)
    lines = [ln for ln in text.splitlines() if not ln.startswith("19\t")]
    bad.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(ValueError, match=r"no load row for requester numbers \[19\]"):
        load_profiles(bad)
    with pytest.raises(ValueError, match="MM-DD"):
        Burst.parse("June:5d:0.1@19-23")


def test_weights_and_day_curve():
    profiles = load_profiles()
    w = weights(profiles)
    assert len(w) == 19 and min(w) >= 1
    curve = business_day_curve(profiles)
    assert curve.max() == 1.0 and curve[3] < 0.05 and curve[10] > 0.8
