"""Each shipped profile produces the phenomena its TOML file documents, in the stated proportions,
with consistent ground truth. A few thousand rows per profile: fast, and enough for loose
binomial bounds."""
import math
from collections import Counter, defaultdict

import numpy as np
import pytest
from stdnum.jp import in_ as stdnum_in

from jukimatch.datasets import load_profile, make_population
from jukimatch.datasets.namesakes import namesake_chance
from jukimatch.datasets.profile import profile_names
from jukimatch.datasets.vocab import rows_of
from jukimatch.engine.normalize.address import normalize_address

N = 6_000
COMMUNITY_NATIONALITIES = ("BRA", "PER", "VNM", "NPL", "CHN", "KOR")


def close(observed: float, expected: float) -> bool:
    """Loose binomial tolerance on counts: 5 sigma plus a few counts."""
    return abs(observed - expected) <= 5 * math.sqrt(max(expected, 1.0)) + 3


class Pop:
    def __init__(self, name: str, n: int = N, seed: int = 11):
        self.name, self.n = name, n
        t = make_population(n, seed=seed, profile=name)
        self.residents = {r["person_id"]: r for r in t["residents"].to_pylist()}
        self.truth = {r["person_id"]: r for r in t["truth"].to_pylist()}
        self.answers = defaultdict(list)
        for r in t["responses"].to_pylist():
            self.answers[r["person_id"]].append(r)
        self.cases = Counter(r["case"] for r in self.truth.values())

    def pairs(self, column: str) -> list[tuple[str, str]]:
        return sorted({tuple(sorted((p, t[column]))) for p, t in self.truth.items() if t[column]})


@pytest.fixture(scope="module")
def pops():
    return {name: Pop(name) for name in profile_names()}


def _communities() -> list[dict]:
    return rows_of("communities.tsv")


def _key(r: dict) -> tuple:
    return r["name_alpha"], r["birth_date"], r["sex"]


def _municipality(addresses: list[str]) -> list[str]:
    return normalize_address(addresses).city.to_pylist()


@pytest.mark.parametrize("name", profile_names())
def test_ground_truth_is_consistent(pops, name):
    p = pops[name]
    true = [t["true_my_number"] for t in p.truth.values() if t["true_my_number"]]
    looks = [t["lookalike_my_number"] for t in p.truth.values() if t["lookalike_my_number"]]
    # one number per human: only a double entry shares its number, with its partner
    shared = Counter(true)
    for pid, t in p.truth.items():
        if t["true_my_number"] and shared[t["true_my_number"]] > 1:
            partner = p.truth[t["duplicate_of"]]
            assert t["case"] == "duplicate_registration" and partner["true_my_number"] == t["true_my_number"]
    by_twin = {t["lookalike_my_number"] for t in p.truth.values() if t["lookalike_kind"] == "namesake_twin"}
    assert len(set(looks)) == len(looks) and set(looks) & set(true) == by_twin
    assert all(stdnum_in.is_valid(x) for x in set(true) | set(looks))
    for pid, t in p.truth.items():
        if t["case"] in ("absent_namesake", "lookalike_only", "not_found"):
            assert t["true_my_number"] is None
        if t["twin_of"]:
            a, b = p.residents[pid], p.residents[t["twin_of"]]
            assert _key(a) == _key(b) and a["person_id"] != b["person_id"]
            assert p.truth[t["twin_of"]]["twin_of"] == pid
            assert not (t["true_my_number"] and t["true_my_number"] == p.truth[t["twin_of"]]["true_my_number"])
        if t["case"] == "absent_namesake":
            (ans,) = p.answers[pid]
            assert ans["status"] == "found" and ans["my_number"] == t["lookalike_my_number"]
            assert (ans["name_alpha"], ans["birth_date"]) == _key(p.residents[pid])[:2]
            assert ans["sex"] in ("1", "2")
            if t["lookalike_kind"] == "namesake_twin":  # the registered twin's own record and number
                assert ans["my_number"] == p.truth[t["twin_of"]]["true_my_number"]
            else:
                assert t["lookalike_kind"] == "identical_name_and_birth_date"
            assert t["lookalike_place"] in ("same_block", "same_town", "same_municipality", "elsewhere")


def test_default_has_none_of_the_new_phenomena(pops):
    p = pops["default"]
    assert p.cases["absent_namesake"] == 0
    assert not any(t["twin_of"] or t["housing"] for t in p.truth.values())
    assert {t["lookalike_place"] for t in p.truth.values() if t["lookalike_kind"]} == {"elsewhere"}


def _absent_answered(p: Pop, share: float, not_found: float):
    absent = p.cases["absent_namesake"] + p.cases["not_found"]
    assert close(absent, not_found * p.n)
    assert close(p.cases["absent_namesake"], share * absent)


def _places(p: Pop, shares: dict[str, float]):
    got = Counter(t["lookalike_place"] for t in p.truth.values() if t["case"] == "absent_namesake")
    total = sum(got.values())
    near = 1 - shares["elsewhere"]
    assert close(total - got["elsewhere"], near * total)
    assert close(got["same_block"], shares["same_block"] * total)


def test_clustered(pops):
    p, prof = pops["clustered"], load_profile("clustered")
    codes = set(COMMUNITY_NATIONALITIES)
    members = [pid for pid, r in p.residents.items() if r["nationality"] in codes]
    in_community = [pid for pid in members if p.truth[pid]["housing"] == "community"]
    assert close(len(in_community), prof.communities["share"] * len(members))
    # they really live in their nationality's municipalities (DOMAIN.md "Who lives where")
    home = defaultdict(set)
    for row in _communities():
        home[row["nationality"]].add(row["municipality"])
    cities = _municipality([p.residents[x]["address"] for x in in_community])
    for pid, city in zip(in_community, cities):
        assert city in home[p.residents[pid]["nationality"]], (p.residents[pid]["address"], city)
    assert "大泉町" in {c for pid, c in zip(in_community, cities) if p.residents[pid]["nationality"] == "BRA"}
    _absent_answered(p, prof.namesakes["absent_answered"], prof.cases["not_found"])
    _places(p, prof.namesakes)
    assert len(p.pairs("twin_of")) == round(prof.namesakes["twins"] * p.n / 2)


def test_absent_namesake_chance_rises_with_the_name_bearers(pops):
    p = pops["heavy_head"]
    bearers = Counter((r["name_alpha"]) for r in p.residents.values())
    answered = [bearers[p.residents[x]["name_alpha"]] for x, t in p.truth.items() if t["case"] == "absent_namesake"]
    unanswered = [bearers[p.residents[x]["name_alpha"]] for x, t in p.truth.items() if t["case"] == "not_found"]
    assert sum(answered) / len(answered) > 3 * sum(unanswered) / len(unanswered)
    prof = load_profile("heavy_head")
    _absent_answered(p, prof.namesakes["absent_answered"], prof.cases["not_found"])


def test_dormitories(pops):
    p, prof = pops["dormitories"], load_profile("dormitories")
    dorms = defaultdict(list)
    for pid, t in p.truth.items():
        if t["housing"] == "dormitory":
            r = p.residents[pid]
            addr = normalize_address([r["address"]])
            dorms[(addr.city[0].as_py(), addr.town[0].as_py(), addr.block[0].as_py())].append(r)
    sizes = [len(v) for v in dorms.values()]
    assert len(dorms) >= 10 and max(sizes) <= 60 and sorted(sizes)[len(sizes) // 2] >= 10
    for members in dorms.values():
        assert len({(m["nationality"], m["sex"] in ("1",)) for m in members}) == 1 or \
            any(m["sex"] in ("0", "9") for m in members)
        assert all(2025 - 31 <= int(m["birth_date"][:4]) <= 2025 - 17 for m in members)
        assert len({m["address"] for m in members}) > 0.8 * len(members)  # rooms differ
    # twins inside one dormitory: the same building, another room
    twins = [(a, b) for a, b in p.pairs("twin_of") if p.truth[a]["housing"] == "dormitory"]
    dorm_count = sum(sizes)
    assert close(2 * len(twins), prof.dormitories["twins"] * dorm_count)
    for a, b in twins:
        pa_, pb = normalize_address([p.residents[a]["address"], p.residents[b]["address"]]).block.to_pylist()
        assert pa_ == pb and p.residents[a]["address"] != p.residents[b]["address"]
    _absent_answered(p, prof.namesakes["absent_answered"], prof.cases["not_found"])
    _places(p, prof.namesakes)


def test_heavy_head_and_long_tail(pops):
    p = pops["heavy_head"]
    names = Counter(r["name_alpha"] for r in p.residents.values())
    heads = ("NGUYEN VAN AN", "NGUYEN THI HUONG", "WANG WEI", "LI NA", "SANTOS MARIA", "SHRESTHA RAM", "KIM MINJUN")
    assert all(names[h] >= 3 for h in heads[:3])
    top = names.most_common(1)[0][1]
    counts = sorted(names.values())
    assert top >= 20 * counts[len(counts) // 2]
    held_by_one_or_two = sum(c for c in counts if c <= 2)
    assert held_by_one_or_two > 0.5 * p.n
    default = Counter(r["name_alpha"] for r in pops["default"].residents.values())
    assert sum(c for c in default.values() if c <= 2) < held_by_one_or_two


def test_absent_namesakes_and_local_moves(pops):
    p, prof = pops["absent_namesakes"], load_profile("absent_namesakes")
    _absent_answered(p, prof.namesakes["absent_answered"], prof.cases["not_found"])
    _places(p, prof.namesakes)
    moved = sum("addr_moved" in (t["discrepancies"] or "") for t in p.truth.values())
    answered = sum(1 for t in p.truth.values() if t["case"] in ("found", "true_plus_lookalike", "bad_check_digit"))
    assert close(moved, prof.discrepancies["addr_moved"] * answered)


def test_double_entries(pops):
    p, prof = pops["double_entries"], load_profile("double_entries")
    pairs = p.pairs("duplicate_of")
    assert close(2 * len(pairs), prof.cases["duplicate_registration"] * p.n)
    one_answered = same_card = 0
    for a, b in pairs:
        ra, rb = p.residents[a], p.residents[b]
        assert _key(ra) == _key(rb) and p.truth[a]["true_my_number"] == p.truth[b]["true_my_number"]
        statuses = sorted(x["status"] for x in p.answers[a] + p.answers[b])
        one_answered += statuses == ["found", "not_found"]
        same_card += ra["card_number"] is not None and ra["card_number"] == rb["card_number"]
    assert close(one_answered, prof.duplicates["one_answered"] * len(pairs))
    assert close(same_card, prof.duplicates["same_card"] * len(pairs))
    assert len(p.pairs("twin_of")) == round(prof.namesakes["twins"] * p.n / 2)


def test_mixed_has_everything(pops):
    p = pops["mixed"]
    housing = Counter(t["housing"] for t in p.truth.values())
    assert housing["community"] > 0.1 * p.n and housing["dormitory"] > 0.05 * p.n
    assert p.cases["absent_namesake"] > 0 and p.pairs("twin_of") and p.pairs("duplicate_of")
    places = Counter(t["lookalike_place"] for t in p.truth.values() if t["lookalike_place"])
    assert set(places) == {"same_block", "same_town", "same_municipality", "elsewhere"}
    not_found = {name: load_profile(name).cases["not_found"] for name in profile_names()}
    assert min(not_found.values()) == 0.01 and max(not_found.values()) == 0.05


def test_an_absent_twin_is_answered_with_the_registered_twins_record():
    cases = dict(load_profile().cases, found=0.70, not_found=0.265)
    p = Pop({"cases": cases, "namesakes": {"twins": 0.2, "absent_answered": 0.9, "answered_by_twin": 1.0}}, n=2000)
    by_twin = [pid for pid, t in p.truth.items() if t["lookalike_kind"] == "namesake_twin"]
    assert len(by_twin) > 5
    for pid in by_twin:
        t, other = p.truth[pid], p.truth[p.truth[pid]["twin_of"]]
        assert t["case"] == "absent_namesake" and t["true_my_number"] is None
        assert other["true_my_number"] == t["lookalike_my_number"]
        (ans,) = p.answers[pid]
        assert _key(ans)[:2] == _key(p.residents[pid])[:2] and ans["my_number"] == other["true_my_number"]
    # every absent twin whose twin is registered got the twin's record
    registered = ("found", "unanswered", "true_plus_lookalike", "bad_check_digit")
    for pid, t in p.truth.items():
        if t["case"] == "absent_namesake" and t["twin_of"] and p.truth[t["twin_of"]]["case"] in registered:
            assert pid in by_twin


def test_namesake_chance_has_the_asked_mean_and_rises_with_bearers():
    bearers = np.array([1, 1, 1, 2, 2, 5, 40, 300])
    for share in (0.05, 0.35, 0.5):
        chance = namesake_chance(bearers, share)
        assert chance.mean() == pytest.approx(share, abs=1e-6)
        assert np.all(np.diff(chance) >= 0) and chance[-1] > chance[0]
    assert namesake_chance(bearers, 0.0).tolist() == [0.0] * len(bearers)
