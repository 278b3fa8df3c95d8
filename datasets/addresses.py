"""Japanese addresses from real municipality and town names, in the notations people use.

An address is kept as parts (town row of ``data/towns.tsv``, 丁目, 番/番地, 号, building,
room) and rendered in one of three notations, so that the register and the agency can
write the same place differently: 二丁目8番1号, 2丁目8番1号, 2-8-1 (or 123番地4 / 123番地の4
/ 123-4 in towns without 丁目). Buildings follow in one of a few forms.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from functools import cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import vocab
from .textops import choose_str, join, small_ints, take

STYLE_KANJI, STYLE_ARABIC, STYLE_HYPHEN = 0, 1, 2
N_STYLES = 3
N_BUILDING_STYLES = 3
# Characters clerks and OCR put where a hyphen belongs (index 0 is the ASCII hyphen).
HYPHENS = ["-", "‐", "−", "－", "ー", "ｰ", "―"]
KANJI_NUMERALS = ["", "一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二"]


@dataclass
class Address:
    town: np.ndarray  # int32 row of vocab.towns()
    chome: np.ndarray  # int16, 0 = the town has no 丁目
    ban: np.ndarray  # int16
    go: np.ndarray  # int16, 0 = none
    building: np.ndarray  # int32 index into building_names(), -1 = none
    room: np.ndarray  # int16

    def take(self, rows: np.ndarray) -> "Address":
        return Address(**{f.name: getattr(self, f.name)[rows] for f in fields(self)})

    def copy(self) -> "Address":
        return Address(**{f.name: getattr(self, f.name).copy() for f in fields(self)})

    def assign(self, rows: np.ndarray, other: "Address") -> None:
        """Overwrite ``rows`` with ``other`` (same length as rows)."""
        for f in fields(self):
            getattr(self, f.name)[rows] = getattr(other, f.name)


@cache
def building_names() -> pa.Array:
    m = vocab.misc()
    return pa.array([p + s for p in m["building_prefix"] for s in m["building_suffix"]], type=pa.string())


def sample_addresses(rng: np.random.Generator, n: int, building_rate: float) -> Address:
    """Addresses weighted by prefecture (foreign residents per prefecture) and town."""
    t = vocab.towns()
    town = rng.choice(len(t.probs), size=n, p=t.probs).astype(np.int32)
    cmax = t.chome_max[town].astype(np.int64)
    has_chome = cmax > 0
    chome = np.where(has_chome, 1 + (rng.random(n) * np.maximum(cmax, 1)).astype(np.int64), 0)
    # 番 within a 丁目 are small; 番地 of towns without 丁目 run into the thousands
    ban_small = 1 + np.minimum(rng.geometric(0.12, n), 40)
    ban_large = np.minimum(rng.geometric(0.003, n), 2999)
    ban = np.where(has_chome, ban_small, ban_large)
    go = 1 + np.minimum(rng.geometric(0.15, n), 40)
    go = np.where(has_chome | (rng.random(n) < 0.6), go, 0)
    has_building = rng.random(n) < building_rate
    building = np.where(has_building, rng.integers(0, len(building_names()), n), -1)
    room = (1 + rng.integers(0, 12, n)) * 100 + 1 + rng.integers(0, 10, n)
    return Address(
        town=town,
        chome=chome.astype(np.int16),
        ban=ban.astype(np.int16),
        go=go.astype(np.int16),
        building=building.astype(np.int32),
        room=room.astype(np.int16),
    )


def _groups(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(town indices sorted by key, start and count per key) for drawing within a group."""
    order = np.argsort(keys, kind="stable")
    counts = np.bincount(keys, minlength=int(keys.max()) + 1)
    starts = np.zeros(len(counts), dtype=np.int64)
    np.cumsum(counts[:-1], out=starts[1:])
    return order, starts, counts


def town_groups() -> tuple[np.ndarray, np.ndarray]:
    """Municipality id and prefecture id of every town of the towns table."""
    t = vocab.towns()
    pref = np.unique(np.asarray(t.prefecture.to_pylist()), return_inverse=True)[1]
    muni_key = [f"{p}|{m}" for p, m in zip(t.prefecture.to_pylist(), t.municipality.to_pylist())]
    muni = np.unique(np.asarray(muni_key), return_inverse=True)[1]
    return muni.astype(np.int64), pref.astype(np.int64)


def draw_in_group(rng: np.random.Generator, group: np.ndarray, of_town: np.ndarray) -> np.ndarray:
    order, starts, counts = _groups(group)
    g = group[of_town]
    return order[starts[g] + (rng.random(len(g)) * counts[g]).astype(np.int64)].astype(np.int32)


def sample_moves(rng: np.random.Generator, old: Address, building_rate: float,
                 shares: "dict[str, float]") -> Address:
    """New addresses for people who moved: in the same municipality, prefecture, or anywhere.

    The new address always differs from the old one (another block or town at least).
    """
    n = len(old.town)
    new = sample_addresses(rng, n, building_rate)
    muni, pref = town_groups()
    kind = rng.choice(3, size=n, p=np.array([shares["same_municipality"], shares["same_prefecture"],
                                               shares["elsewhere"]]) / sum(shares.values()))
    town = new.town.copy()
    same_muni = kind == 0
    town[same_muni] = draw_in_group(rng, muni, old.town[same_muni])
    same_pref = kind == 1
    town[same_pref] = draw_in_group(rng, pref, old.town[same_pref])
    new.town = town
    # a move within the same town keeps nothing but the town: another 番 at least
    same_town = new.town == old.town
    new.ban = np.where(same_town & (new.ban == old.ban), new.ban + 1, new.ban).astype(np.int16)
    return new


def sample_elsewhere(rng: np.random.Generator, near: Address, building_rate: float) -> Address:
    """Addresses in another municipality than ``near`` (for look-alikes: other people)."""
    new = sample_addresses(rng, len(near.town), building_rate)
    muni, _ = town_groups()
    for _ in range(64):
        clash = muni[new.town] == muni[near.town]
        if not clash.any():
            break
        redraw = sample_addresses(rng, int(clash.sum()), building_rate)
        new.assign(np.flatnonzero(clash), redraw)
    return new


def _cat(*parts) -> pa.Array:
    """Concatenate; any null part makes the piece null."""
    return pc.binary_join_element_wise(*parts, "", null_handling="emit_null")


def render_address(
    a: Address,
    *,
    style: np.ndarray,
    building_style: np.ndarray,
    hyphen: np.ndarray | None = None,
    omit_prefecture: np.ndarray | None = None,
    drop_building: np.ndarray | None = None,
) -> pa.Array:
    """Address strings. ``hyphen`` indexes HYPHENS (default ASCII); flags drop parts."""
    n = len(a.town)
    t = vocab.towns()
    num = small_ints(3000)
    town_idx = pa.array(a.town.astype(np.int64))
    pref = pc.take(t.prefecture, town_idx)
    if omit_prefecture is not None and omit_prefecture.any():
        pref = pc.if_else(pa.array(omit_prefecture), pa.scalar(None, pa.string()), pref)
    has_chome = a.chome > 0
    chome = take(num, np.where(has_chome, a.chome, -1))
    chome_kanji = take(pa.array(KANJI_NUMERALS), np.where(has_chome, a.chome, -1))
    ban = take(num, a.ban)
    go = take(num, np.where(a.go > 0, a.go, -1))
    h = choose_str(HYPHENS, np.zeros(n, np.int8) if hyphen is None else hyphen)
    numbers = [
        _cat(chome_kanji, "丁目", ban, "番", go, "号"),
        _cat(chome, "丁目", ban, "番", go, "号"),
        _cat(chome, h, ban, h, go),
        join(_cat(ban, "番地"), go, sep=""),
        join(_cat(ban, "番地"), _cat("の", go), sep=""),
        join(ban, _cat(h, go), sep=""),
    ]
    which = np.asarray(style, dtype=np.int64) + np.where(has_chome, 0, N_STYLES)
    number_part = pc.choose(pa.array(which), *numbers)
    bname = take(building_names(), a.building)
    room = take(num, a.room)
    buildings = [_cat(" ", bname, room, "号室"), _cat("\u3000", bname, " ", room), _cat(bname, room)]
    bpart = pc.choose(pa.array(np.asarray(building_style, dtype=np.int64)), *buildings)
    if drop_building is not None and drop_building.any():
        bpart = pc.if_else(pa.array(drop_building), pa.scalar(None, pa.string()), bpart)
    muni = pc.take(t.municipality, town_idx)
    town = pc.take(t.town, town_idx)
    return join(pref, muni, town, number_part, bpart, sep="")
