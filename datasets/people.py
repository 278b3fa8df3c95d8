"""The people behind the records: one structured row per human, before any rendering.

Kept as parallel NumPy arrays (plus the structured name and address) so that whole
populations are drawn, copied (duplicate registrations, look-alikes) and rendered
column-wise. Facts used: nationality shares (top 10 plus a tail; ``data/nationalities.tsv``
weighs mid-to-long-term residents, i.e. the published totals less special permanent
residents, who are drawn from the profile), special permanent
residents mostly Korean and older, about 50.5% men, a few recorded sexes 0/9, a few birth
dates with unknown month or day.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from functools import cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import vocab
from .addresses import N_BUILDING_STYLES, N_STYLES, Address, sample_addresses
from .names import Names, sample_names
from .numbers import card_numbers
from .profile import Profile
from .textops import small_ints, take

CLASSES = ("mid_long_term", "special_permanent", "japanese_relative")
MID_LONG, SPECIAL_PERMANENT, JAPANESE_RELATIVE = 0, 1, 2


@cache
def nationality_codes() -> tuple[list[str], np.ndarray]:
    """ISO alpha-3 codes the generator uses (the table plus JPN) and their name groups."""
    nat = vocab.nationalities()
    codes = nat.codes + ["JPN"]
    groups = np.r_[nat.group, vocab.group_names().index("JPN")].astype(np.int16)
    return codes, groups


@dataclass
class People:
    klass: np.ndarray  # int8 index into CLASSES
    nationality: np.ndarray  # int16 index into nationality_codes()
    male: np.ndarray  # bool: the true sex
    sex: np.ndarray  # int8 recorded sex code 1/2/0/9
    year: np.ndarray  # int16
    month: np.ndarray  # int8, 0 = unknown
    day: np.ndarray  # int8, 0 = unknown
    names: Names
    kanji_sep: np.ndarray  # int8 index into names.KANJI_SEPS
    kana_sep: np.ndarray  # int8 index into names.KANA_SEPS
    address: Address
    addr_style: np.ndarray  # int8 addresses.STYLE_*
    building_style: np.ndarray  # int8
    card: np.ndarray  # int64 card code, distinct per record (Japanese relatives' is not shown)

    def __len__(self) -> int:
        return len(self.klass)

    def take(self, rows: np.ndarray) -> "People":
        return People(**{f.name: getattr(self, f.name).take(rows) if f.name in ("names", "address")
                         else getattr(self, f.name)[rows] for f in fields(self)})

    def copy(self) -> "People":
        return self.take(np.arange(len(self)))

    def assign(self, rows: np.ndarray, other: "People", skip: tuple[str, ...] = ()) -> None:
        """Overwrite ``rows`` with the rows of ``other`` (same length), except ``skip``."""
        for f in fields(self):
            if f.name in skip:
                continue
            if f.name == "address":
                self.address.assign(rows, other.address)
            elif f.name == "names":
                for g in fields(self.names):
                    getattr(self.names, g.name)[rows] = getattr(other.names, g.name)
            else:
                getattr(self, f.name)[rows] = getattr(other, f.name)


def _ages(rng: np.random.Generator, klass: np.ndarray) -> np.ndarray:
    """Age in years: mid-to-long-term residents young (students, trainees, workers)."""
    n = len(klass)
    part = rng.choice(4, size=n, p=[0.08, 0.62, 0.25, 0.05])
    young = np.select(
        [part == 0, part == 1, part == 2],
        [rng.uniform(0, 18, n), 18 + rng.triangular(0, 6, 17, n), rng.uniform(35, 60, n)],
        rng.uniform(60, 90, n),
    )
    return np.select(
        [klass == MID_LONG, klass == SPECIAL_PERMANENT],
        [young, rng.triangular(0, 72, 100, n)],
        rng.uniform(20, 80, n),
    )


def birth_dates(rng: np.random.Generator, ages: np.ndarray, reference_date: str):
    """(year, month, day) arrays of people ``ages`` years old on ``reference_date``."""
    ref = np.datetime64(reference_date, "D")
    born = ref - (ages * 365.2425).astype(np.int64).astype("timedelta64[D]")
    year = born.astype("datetime64[Y]").astype(np.int64) + 1970
    month_start = born.astype("datetime64[M]")
    month = month_start.astype(np.int64) % 12 + 1
    day = (born - month_start.astype("datetime64[D]")).astype(np.int64) + 1
    return year.astype(np.int16), month.astype(np.int8), day.astype(np.int8)


def sample_people(rng: np.random.Generator, n: int, profile: Profile) -> People:
    """``n`` people drawn from the profile's population shares."""
    pop = profile.population
    klass = rng.choice(3, size=n, p=[pop[c] for c in CLASSES]).astype(np.int8)
    codes, groups = nationality_codes()
    nat = vocab.nationalities()
    nationality = rng.choice(len(nat.codes), size=n, p=nat.probs).astype(np.int16)
    sp = np.flatnonzero(klass == SPECIAL_PERMANENT)
    sp_codes = list(profile.special_permanent_nationality)
    unknown = [c for c in sp_codes if c not in codes]
    if unknown:
        raise ValueError(f"[special_permanent_nationality] has codes without name data: {unknown}")
    sp_p = np.array([profile.special_permanent_nationality[c] for c in sp_codes])
    nationality[sp] = np.array([codes.index(c) for c in sp_codes])[rng.choice(len(sp_codes), len(sp), p=sp_p)]
    nationality[klass == JAPANESE_RELATIVE] = codes.index("JPN")
    group = groups[nationality]

    male = rng.random(n) < pop["male"]
    u = rng.random(n)
    sex = np.where(male, 1, 2)
    sex = np.where(u < pop["sex_unknown"], 0, sex)
    sex = np.where((u >= pop["sex_unknown"]) & (u < pop["sex_unknown"] + pop["sex_not_applicable"]), 9, sex)

    year, month, day = birth_dates(rng, _ages(rng, klass), profile.reference_date)
    foreign = klass != JAPANESE_RELATIVE
    u = rng.random(n)
    no_month = foreign & (u < pop["birth_month_unknown"])
    no_day = foreign & (u < pop["birth_month_unknown"] + pop["birth_day_unknown"])
    month = np.where(no_month, 0, month).astype(np.int8)
    day = np.where(no_day, 0, day).astype(np.int8)

    names = sample_names(rng, group, male)
    kanji_group = np.isin(group, [vocab.group_names().index(g) for g in ("CHN", "TWN", "KOR")])
    sp_kanji = (klass == SPECIAL_PERMANENT) & kanji_group
    names.has_kanji[sp_kanji] = rng.random(int(sp_kanji.sum())) < 0.95

    cards = card_numbers(rng, n)
    return People(
        klass=klass,
        nationality=nationality,
        male=male,
        sex=sex.astype(np.int8),
        year=year,
        month=month,
        day=day,
        names=names,
        kanji_sep=rng.choice(3, size=n, p=[0.6, 0.3, 0.1]).astype(np.int8),
        kana_sep=rng.choice(2, size=n).astype(np.int8),
        address=sample_addresses(rng, n, pop["building"]),
        addr_style=rng.choice(N_STYLES, size=n, p=[0.35, 0.35, 0.30]).astype(np.int8),
        building_style=rng.integers(0, N_BUILDING_STYLES, n).astype(np.int8),
        card=cards,
    )


def render_birth_date(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> pa.Array:
    """``YYYY-MM-DD`` with ``00`` for unknown parts."""
    two = small_ints(100, pad=2)
    years = take(small_ints(10000, pad=4), year.astype(np.int64))
    return pc.binary_join_element_wise(years, take(two, month.astype(np.int64)), take(two, day.astype(np.int64)), "-")


def render_sex(sex: np.ndarray) -> pa.Array:
    return take(small_ints(10), sex.astype(np.int64))


def render_nationality(nationality: np.ndarray) -> pa.Array:
    return take(pa.array(nationality_codes()[0], type=pa.string()), nationality.astype(np.int64))


def render_class(klass: np.ndarray) -> pa.Array:
    return take(pa.array(CLASSES, type=pa.string()), klass.astype(np.int64))
