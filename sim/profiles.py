"""Load profiles of the 19 requesters: how much each asks in a year, and when.

Who may ask for what comes from ``datasets/data/requesters.tsv`` alone (the service's
permission list is seeded from it); how much and when comes from its sibling
``datasets/data/requester_load.tsv``, joined on the assessment's provision number. The
volumes there are documented assumptions per million residents, scaled linearly here.

A profile turns into an expected number of requests per hour of a calendar year
(:func:`hourly_rates`): business days follow the Japanese calendar (weekends, national
holidays, the year-end closure 12/29-1/3), each day is shaped by a daily curve, each month
weighted by the seasonality, and bursts add a share of the yearly volume over a few
business days in given hours. The base load is normalised so that base plus bursts sum to
exactly the yearly volume: the profiles integrate to their yearly volumes.
"""
from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Sequence

import numpy as np

from jukimatch.datasets.requesters import Requester, load_requesters

PER_RESIDENTS = 1_000_000  # the unit of per_million_per_year

# Hourly weights of one day, hour 0..23 (the hour starting then). Offices open 8:30-17:15
# with a dip at lunch; municipal systems send file-based inquiries in an evening window.
_OFFICE = (0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.03, 0.3, 1.0, 1.3, 1.2,
           0.6, 1.1, 1.3, 1.2, 1.0, 0.35, 0.08, 0.04, 0.03, 0.02, 0.01, 0.01)
_EVENING = tuple(1.0 if 19 <= h < 23 else 0.0 for h in range(24))
DAILY_CURVES: dict[str, tuple[float, ...]] = {
    "office": _OFFICE,
    "office_batch": tuple(o + 0.6 * e for o, e in zip(_OFFICE, _EVENING)),
    "batch": tuple(0.2 * o + e for o, e in zip(_OFFICE, _EVENING)),
}
_LOAD_COLUMNS = ("number", "per_million_per_year", "daily_curve", "weekend_share", "seasonality", "bursts",
                 "refused_share")


@dataclass(frozen=True)
class Burst:
    """``share`` of the yearly volume, extra, over ``days`` business days from month/day, hours [start, end)."""

    month: int
    day: int
    days: int
    share: float
    start_hour: int
    end_hour: int

    @classmethod
    def parse(cls, text: str) -> "Burst":
        """``MM-DD:DAYSd:SHARE@HH-HH``, e.g. ``06-01:5d:0.06@19-23``."""
        try:
            when, rest = text.split("@")
            date, days, share = when.split(":")
            month, day = (int(x) for x in date.split("-"))
            start, end = (int(x) for x in rest.split("-"))
            burst = cls(month, day, int(days.rstrip("d")), float(share), start, end)
        except ValueError:
            raise ValueError(f"burst {text!r} must read MM-DD:DAYSd:SHARE@HH-HH") from None
        if not (1 <= burst.month <= 12 and 1 <= burst.day <= 31 and burst.days >= 1 and 0 < burst.share < 1
                and 0 <= burst.start_hour < burst.end_hour <= 24):
            raise ValueError(f"burst {text!r}: month, day, days, share in (0, 1) or hours out of range")
        return burst


@dataclass(frozen=True)
class LoadProfile:
    """One requester row (提供先) with its load assumptions."""

    requester: Requester
    per_million_per_year: float
    daily_curve: str
    weekend_share: float
    seasonality: tuple[float, ...]  # 12 monthly weights
    bursts: tuple[Burst, ...]
    refused_share: float

    @property
    def number(self) -> int:
        return self.requester.number

    def yearly_volume(self, residents: float) -> float:
        """Requests a year at ``residents`` residents."""
        return self.per_million_per_year * residents / PER_RESIDENTS


def _load_path() -> Path:
    return Path(str(resources.files("jukimatch.datasets").joinpath("data/requester_load.tsv")))


def _floats(text: str, what: str) -> tuple[float, ...]:
    try:
        return tuple(float(x) for x in text.split(","))
    except ValueError:
        raise ValueError(f"{what} must be comma-separated numbers, got {text!r}") from None


def load_profiles(path: str | Path | None = None, requesters: Sequence[Requester] | None = None) -> list[LoadProfile]:
    """The requesters joined with their load rows, in the requesters' order.

    Raises ``ValueError`` naming the line when a row is malformed, and when the two files
    do not cover the same provision numbers (every requester needs a load row; a load row
    for an unknown requester would be load nobody may send).
    """
    p = Path(path) if path is not None else _load_path()
    reqs = list(requesters if requesters is not None else load_requesters())
    lines = [ln for ln in p.read_text(encoding="utf-8").splitlines() if ln and not ln.startswith("#")]
    reader = csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE)
    missing = set(_LOAD_COLUMNS) - set(reader.fieldnames or ())
    if missing:
        raise ValueError(f"{p}: missing columns {sorted(missing)}")
    rows: dict[int, LoadProfile] = {}
    by_number = {r.number: r for r in reqs}
    for i, row in enumerate(reader, start=2):
        try:
            number = int(row["number"])
            if number not in by_number:
                raise ValueError(f"number {number} is not a requester of requesters.tsv")
            if number in rows:
                raise ValueError(f"number {number} given twice")
            curve = row["daily_curve"].strip()
            if curve not in DAILY_CURVES:
                raise ValueError(f"daily_curve must be one of {', '.join(DAILY_CURVES)}, got {curve!r}")
            season = _floats(row["seasonality"], "seasonality")
            if len(season) != 12 or min(season) <= 0:
                raise ValueError("seasonality must give 12 positive monthly weights")
            bursts = tuple(Burst.parse(b.strip()) for b in (row["bursts"] or "").split(";") if b.strip())
            if sum(b.share for b in bursts) >= 1:
                raise ValueError("bursts must share less than the whole yearly volume")
            prof = LoadProfile(by_number[number], float(row["per_million_per_year"]), curve,
                               float(row["weekend_share"]), season, bursts, float(row["refused_share"] or 0))
            if prof.per_million_per_year < 0 or not 0 <= prof.weekend_share <= 1 or not 0 <= prof.refused_share < 1:
                raise ValueError("per_million_per_year >= 0, weekend_share in [0, 1], refused_share in [0, 1)")
            rows[number] = prof
        except (ValueError, TypeError, AttributeError) as exc:
            raise ValueError(f"{p}: data line {i}: {exc}") from exc
    absent = sorted(set(by_number) - set(rows))
    if absent:
        raise ValueError(f"{p}: no load row for requester numbers {absent}")
    return [rows[r.number] for r in reqs]


# --- the calendar --------------------------------------------------------------------

def _nth_monday(year: int, month: int, n: int) -> dt.date:
    first = dt.date(year, month, 1)
    return first + dt.timedelta(days=(7 - first.weekday()) % 7 + 7 * (n - 1))


@cache
def jp_holidays(year: int) -> frozenset[dt.date]:
    """National holidays (国民の祝日, with substitute holidays) plus the year-end closure 12/29-1/3.

    Equinox days by the usual approximation (valid 1980-2099); the rare 国民の休日 between two
    holidays is left out.
    """
    if not 1980 <= year <= 2099:
        raise ValueError(f"year must lie in 1980..2099, got {year}")
    k = year - 1980
    fixed = [(1, 1), (2, 11), (2, 23), (4, 29), (5, 3), (5, 4), (5, 5), (8, 11), (11, 3), (11, 23)]
    days = {dt.date(year, m, d) for m, d in fixed}
    days |= {_nth_monday(year, 1, 2), _nth_monday(year, 7, 3), _nth_monday(year, 9, 3), _nth_monday(year, 10, 2)}
    days.add(dt.date(year, 3, int(20.8431 + 0.242194 * k - k // 4)))
    days.add(dt.date(year, 9, int(23.2488 + 0.242194 * k - k // 4)))
    for d in sorted(days):  # a holiday on a Sunday moves to the next day that is not one
        if d.weekday() == 6:
            nxt = d + dt.timedelta(days=1)
            while nxt in days:
                nxt += dt.timedelta(days=1)
            days.add(nxt)
    closure = [dt.date(year, 1, 2), dt.date(year, 1, 3), dt.date(year, 12, 29), dt.date(year, 12, 30),
               dt.date(year, 12, 31)]
    return frozenset(days | set(closure))


def calendar(year: int) -> tuple[list[dt.date], np.ndarray, np.ndarray]:
    """The days of ``year``, whether each is a business day, and each day's month index 0..11."""
    start = dt.date(year, 1, 1)
    n = (dt.date(year + 1, 1, 1) - start).days
    days = [start + dt.timedelta(days=i) for i in range(n)]
    holidays = jp_holidays(year)
    business = np.array([d.weekday() < 5 and d not in holidays for d in days])
    month = np.array([d.month - 1 for d in days], dtype=np.int64)
    return days, business, month


def hourly_rates(profiles: Sequence[LoadProfile], year: int, residents: float) -> np.ndarray:
    """Expected requests per hour of ``year``: shape (hours in the year, profiles).

    Column ``j`` sums to ``profiles[j].yearly_volume(residents)`` exactly (up to rounding).
    """
    days, business, month = calendar(year)
    n_days = len(days)
    out = np.zeros((n_days * 24, len(profiles)))
    business_idx = np.flatnonzero(business)
    for j, prof in enumerate(profiles):
        volume = prof.yearly_volume(residents)
        day_w = np.where(business, 1.0, prof.weekend_share) * np.asarray(prof.seasonality)[month]
        base = (day_w[:, None] * np.asarray(DAILY_CURVES[prof.daily_curve])[None, :]).ravel()
        burst_share = sum(b.share for b in prof.bursts)
        out[:, j] = base * (volume * (1.0 - burst_share) / base.sum())
        for b in prof.bursts:
            first = (dt.date(year, b.month, b.day) - dt.date(year, 1, 1)).days
            chosen = business_idx[business_idx >= first][: b.days]
            if len(chosen) < b.days:
                raise ValueError(f"requester {prof.number}: burst from {b.month:02d}-{b.day:02d} needs {b.days} "
                                 f"business days, {year} has {len(chosen)} left")
            hours = (chosen[:, None] * 24 + np.arange(b.start_hour, b.end_hour)[None, :]).ravel()
            out[hours, j] += volume * b.share / len(hours)
    return out


def business_day_curve(profiles: Sequence[LoadProfile]) -> np.ndarray:
    """The volume-weighted shape of a business day, 24 hourly values with maximum 1 (for the Locust shape)."""
    total = np.zeros(24)
    for prof in profiles:
        curve = np.asarray(DAILY_CURVES[prof.daily_curve])
        total += prof.per_million_per_year * curve / curve.sum()
    return total / total.max()


def weights(profiles: Sequence[LoadProfile]) -> list[int]:
    """Locust user weights: yearly volume shares in units of 0.1 %, at least 1."""
    total = sum(p.per_million_per_year for p in profiles)
    return [max(1, round(1000 * p.per_million_per_year / total)) for p in profiles]
