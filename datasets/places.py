"""Where people live relative to each other: communities, dormitories, namesakes next door.

The default population scatters everyone by prefecture and town weights. Foreign residents
do not live like that (DOMAIN.md, "Who lives where"): nationalities cluster in a few
municipalities (``data/communities.tsv``), technical intern trainees share employers'
dormitories, and so a person's namesake often lives in the same town or block. These
functions move people there; every draw comes from the generator passed in, so a profile
that leaves them off never calls them.
"""
from __future__ import annotations

from functools import cache

import numpy as np

from . import vocab
from .addresses import Address, draw_in_group, building_names, sample_addresses, sample_elsewhere, town_groups
from .profile import PLACES

SAME_BLOCK, SAME_TOWN, SAME_MUNICIPALITY, ELSEWHERE = range(4)
# Dormitories: dozens of residents, one nationality and sex, aged 18-30 (DOMAIN.md).
DORM_SIZE = (10, 60)
DORM_BUILDING_ROOMS = 30  # residents per building; a larger dormitory has a second building
DORM_AGES = (18, 30)
INTERN_NATIONALITIES = ("VNM", "IDN", "PHL", "MMR", "CHN", "NPL", "KHM", "THA")


def relative_place(a: Address, b: Address) -> np.ndarray:
    """Per row, where ``b`` lies relative to ``a``: an index into ``PLACES``."""
    muni, _ = town_groups()
    same_town = a.town == b.town
    same_block = same_town & (a.chome == b.chome) & (a.ban == b.ban)
    same_muni = muni[a.town] == muni[b.town]
    return np.select([same_block, same_town, same_muni], [SAME_BLOCK, SAME_TOWN, SAME_MUNICIPALITY],
                     ELSEWHERE).astype(np.int8)


def _in_towns(rng: np.random.Generator, town: np.ndarray, building_rate: float, *, dense: bool) -> Address:
    """Fresh address parts inside the given towns; ``dense``: few 番 per town (団地, estates)."""
    new = sample_addresses(rng, len(town), building_rate)
    new.town = town.astype(np.int32)
    cmax = vocab.towns().chome_max[town].astype(np.int64)
    has_chome = cmax > 0
    n = len(town)
    new.chome = np.where(has_chome, 1 + (rng.random(n) * np.maximum(cmax, 1)).astype(np.int64), 0).astype(np.int16)
    small = 1 + np.minimum(rng.geometric(0.12, n), 40)
    large = np.minimum(rng.geometric(0.003, n), 2999)
    new.ban = np.where(has_chome | dense, small, large).astype(np.int16)
    return new


def place_near(rng: np.random.Generator, base: Address, kind: np.ndarray, building_rate: float) -> Address:
    """Addresses of other people at ``kind`` (``PLACES`` index) from ``base``; never the same dwelling."""
    n = len(kind)
    muni, _ = town_groups()
    out = sample_elsewhere(rng, base, building_rate)
    town = base.town.copy()
    m = kind == SAME_MUNICIPALITY
    if m.any():
        other = draw_in_group(rng, muni, base.town[m])
        for _ in range(8):  # prefer another town where the municipality has one
            again = other == base.town[m]
            if not again.any():
                break
            other[again] = draw_in_group(rng, muni, base.town[m][again])
        town[m] = other
    near = kind != ELSEWHERE
    fresh = _in_towns(rng, town, building_rate, dense=True)
    rows = np.flatnonzero(near)
    out.assign(rows, fresh.take(rows))
    # same block: the same 番, another dwelling (another room of the building, or another 号)
    blk = np.flatnonzero(kind == SAME_BLOCK)
    out.chome[blk], out.ban[blk] = base.chome[blk], base.ban[blk]
    keep_building = (base.building[blk] >= 0) & (rng.random(len(blk)) < 0.5)
    kb = blk[keep_building]
    out.go[kb], out.building[kb] = base.go[kb], base.building[kb]
    out.room[kb] = np.where(out.room[kb] == base.room[kb], base.room[kb] + 1, out.room[kb])
    nb = blk[~keep_building]
    clash = (out.go[nb] == base.go[nb]) & (out.building[nb] == base.building[nb])
    out.go[nb] = np.where(clash, base.go[nb] + 1, out.go[nb])
    # same town or municipality: another block at least
    tw = np.flatnonzero(near & (kind != SAME_BLOCK))
    clash = (out.town[tw] == base.town[tw]) & (out.chome[tw] == base.chome[tw]) & (out.ban[tw] == base.ban[tw])
    out.ban[tw] = np.where(clash, base.ban[tw] + 1, out.ban[tw])
    assert len(out.town) == n
    return out


def another_room(rng: np.random.Generator, base: Address) -> Address:
    """The same building as ``base`` (a dormitory), another room."""
    out = base.copy()
    out.room = (base.room + 1 + rng.integers(0, 5, len(base.room))).astype(np.int16)
    return out


def draw_places(rng: np.random.Generator, count: int, shares) -> np.ndarray:
    """``count`` place kinds drawn with the profile's ``[namesakes]`` place shares."""
    p = np.array([shares[k] for k in PLACES])
    return rng.choice(len(PLACES), size=count, p=p / p.sum()).astype(np.int8)


@cache
def community_towns() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per nationality: the towns of its community municipalities and the chance of each."""
    t = vocab.towns()
    pref = np.asarray(t.prefecture.to_pylist())
    city = np.asarray(t.municipality.to_pylist())
    out: dict[str, tuple[list[int], list[float]]] = {}
    for r in vocab.rows_of("communities.tsv"):
        towns = np.flatnonzero((pref == r["prefecture"]) & (city == r["municipality"]))
        if not len(towns):
            raise ValueError(f"communities.tsv: {r['prefecture']}{r['municipality']} is not in towns.tsv")
        ids, ws = out.setdefault(r["nationality"], ([], []))
        w = t.probs[towns] / t.probs[towns].sum() * float(r["weight"])
        ids.extend(towns.tolist())
        ws.extend(w.tolist())
    return {k: (np.array(ids), np.array(ws) / sum(ws)) for k, (ids, ws) in out.items()}


def place_communities(rng: np.random.Generator, address: Address, nationality: np.ndarray, codes: list[str],
                      share: float, building_rate: float) -> np.ndarray:
    """Move ``share`` of each community nationality into its towns; returns who moved."""
    moved = np.zeros(len(nationality), dtype=bool)
    for code, (towns, p) in community_towns().items():
        rows = np.flatnonzero((nationality == codes.index(code)) & (rng.random(len(nationality)) < share))
        if not len(rows):
            continue
        town = towns[rng.choice(len(towns), size=len(rows), p=p)]
        address.assign(rows, _in_towns(rng, town, building_rate, dense=True))
        moved[rows] = True
    return moved


def place_dormitories(rng: np.random.Generator, address: Address, eligible: np.ndarray, group: np.ndarray,
                      share: float) -> np.ndarray:
    """Put ``share`` of ``eligible`` rows into dormitories of one ``group`` each; returns dormitory ids (-1: none).

    A dormitory is the address of its first resident, with a building; residents beyond
    ``DORM_BUILDING_ROOMS`` fill a second building at the same 番/号; rooms differ.
    """
    dorm = np.full(len(eligible), -1, dtype=np.int64)
    rows = np.flatnonzero(eligible & (rng.random(len(eligible)) < share))
    rows = rows[rng.permutation(len(rows))]
    rows = rows[np.argsort(group[rows], kind="stable")]
    n_buildings = len(building_names())
    next_id = 0
    start = 0
    while start < len(rows):
        g = group[rows[start]]
        end = start
        while end < len(rows) and group[rows[end]] == g:
            end += 1
        pos = start
        while pos < end:
            size = int(rng.integers(DORM_SIZE[0], DORM_SIZE[1] + 1))
            members = rows[pos: min(pos + size, end)]
            pos += size
            if len(members) < 2:
                continue
            home = members[0]
            first_building = address.building[home] if address.building[home] >= 0 else rng.integers(n_buildings)
            k = np.arange(len(members))
            for part in ("town", "chome", "ban", "go"):
                getattr(address, part)[members] = getattr(address, part)[home]
            address.building[members] = (first_building + k // DORM_BUILDING_ROOMS) % n_buildings
            slot = k % DORM_BUILDING_ROOMS
            address.room[members] = 100 * (1 + slot // 6) + 1 + slot % 6
            dorm[members] = next_id
            next_id += 1
        start = end
    return dorm
