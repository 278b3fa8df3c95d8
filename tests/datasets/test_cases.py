"""Case kinds and discrepancy kinds: each present, at roughly its rate, and doing what it says."""
import math
import re
from collections import defaultdict

import numpy as np
import pytest

from jukimatch.datasets import CASE_KINDS, DISCREPANCY_KINDS, load_profile, make_population
from jukimatch.datasets.corrupt import corrupt_true_records
from jukimatch.datasets.people import sample_people
from jukimatch.engine.validate.checkdigit import valid_my_numbers

N = 20_000
FIELD = {"alpha": "name_alpha", "kanji": "name_kanji", "kana": "name_kana", "date": "birth_date",
         "sex": "sex", "addr": "address"}


def close(observed: int, expected: float) -> bool:
    """Loose binomial tolerance: 5 sigma plus a few counts."""
    return abs(observed - expected) <= 5 * math.sqrt(max(expected, 1.0)) + 3


@pytest.fixture(scope="module")
def pop():
    tables = make_population(N, seed=7)
    residents = {r["person_id"]: r for r in tables["residents"].to_pylist()}
    answers = defaultdict(list)
    for r in tables["responses"].to_pylist():
        answers[r["person_id"]].append(r)
    return tables, residents, answers, tables["truth"].to_pylist()


def test_every_case_kind_at_its_rate(pop):
    _, _, _, truth = pop
    shares = load_profile().cases
    counts = {k: 0 for k in CASE_KINDS}
    for t in truth:
        counts[t["case"]] += 1
    assert counts["absent_namesake"] == 0  # a profile's phenomenon; the default has none
    for kind in CASE_KINDS:
        if shares[kind] == 0:
            continue
        assert counts[kind] > 0, kind
        assert close(counts[kind], N * shares[kind]), (kind, counts[kind], N * shares[kind])
    assert counts["found"] / N > 0.9


def test_response_rows_per_case(pop):
    _, _, answers, truth = pop
    for t in truth:
        rows = answers.get(t["person_id"], [])
        case = t["case"]
        found = [r for r in rows if r["status"] == "found"]
        numbers = sorted(r["my_number"] for r in found)
        if case == "unanswered":
            assert rows == [] and t["true_my_number"]
        elif case == "not_found":
            assert len(rows) == 1 and rows[0]["status"] == "not_found" and rows[0]["my_number"] is None
            assert t["true_my_number"] is None
        elif case == "lookalike_only":
            assert len(rows) == 1 and numbers == [t["lookalike_my_number"]] and t["true_my_number"] is None
        elif case == "true_plus_lookalike":
            assert len(rows) == 2 and numbers == sorted([t["true_my_number"], t["lookalike_my_number"]])
        elif case == "bad_check_digit":
            assert len(rows) == 1 and numbers[0] != t["true_my_number"]
            assert numbers[0][:11] == t["true_my_number"][:11] and not valid_my_numbers(numbers).any()
        elif case == "duplicate_registration":
            assert len(rows) == 1 and numbers == [t["true_my_number"]] and t["duplicate_of"]
        else:
            assert case == "found" and len(rows) == 1 and numbers == [t["true_my_number"]]
        if case != "duplicate_registration":
            assert t["duplicate_of"] is None


def test_duplicates_are_one_human_with_one_answer(pop):
    _, residents, answers, truth = pop
    by_id = {t["person_id"]: t for t in truth}
    pairs = [t for t in truth if t["case"] == "duplicate_registration"]
    assert pairs and len(pairs) % 2 == 0
    for t in pairs:
        a, b = residents[t["person_id"]], residents[t["duplicate_of"]]
        assert (a["name_alpha"], a["birth_date"], a["sex"], a["nationality"]) == \
               (b["name_alpha"], b["birth_date"], b["sex"], b["nationality"])
        assert a["card_number"] != b["card_number"] or a["resident_class"] == "japanese_relative"
        ra, rb = answers[t["person_id"]][0], answers[t["duplicate_of"]][0]
        assert {k: v for k, v in ra.items() if k != "person_id"} == {k: v for k, v in rb.items() if k != "person_id"}
        assert by_id[t["duplicate_of"]]["discrepancies"] == t["discrepancies"]


def test_lookalikes_are_similar_but_someone_else(pop):
    _, residents, answers, truth = pop
    kinds = defaultdict(int)
    for t in truth:
        if t["case"] not in ("lookalike_only", "true_plus_lookalike"):
            assert t["lookalike_kind"] is None
            continue
        kinds[t["lookalike_kind"]] += 1
        rec = residents[t["person_id"]]
        look = [r for r in answers[t["person_id"]] if r["my_number"] == t["lookalike_my_number"]][0]
        # another given name may romanise the same (洋子/陽子 are both YOKO): compare every notation
        def bare(v):  # look-alikes are registered in their own spacing
            return None if v is None else "".join(v.split())

        same_name = all(bare(look[c]) == bare(rec[c]) for c in ("name_alpha", "name_kanji", "name_kana"))
        same_date = look["birth_date"] == rec["birth_date"]
        if t["lookalike_kind"] == "namesake_other_birth_date":
            assert same_name and not same_date
        elif t["lookalike_kind"] == "same_birth_date_other_given":
            assert same_date and not same_name
            # the surname stays (people without one keep their other given tokens)
            assert set(look["name_alpha"].split()) & set(rec["name_alpha"].split()) or \
                len(rec["name_alpha"].split()) == 1 or rec["nationality"] in ("CHN", "TWN", "KOR")
        else:
            assert same_name and same_date
    assert len(kinds) == 3


def test_every_discrepancy_kind_present_at_its_rate(pop):
    _, _, _, truth = pop
    counts = {k: 0 for k in DISCREPANCY_KINDS}
    for t in truth:
        for code in filter(None, t["discrepancies"].split(";")):
            counts[code] += 1
    missing = [k for k, v in counts.items() if v == 0]
    assert not missing
    # kinds eligible everywhere: share of answered rows close to the rate
    rates = load_profile().discrepancies
    answered = sum(t["case"] in ("found", "true_plus_lookalike", "bad_check_digit", "duplicate_registration")
                   for t in truth)
    for kind in ("alpha_spacing", "alpha_case", "alpha_width", "date_unknown", "sex_mismatch", "addr_moved",
                 "addr_notation", "addr_width", "addr_no_prefecture"):
        assert close(counts[kind], answered * rates[kind]), (kind, counts[kind], answered * rates[kind])


def test_rates_among_eligible_rows():
    """With every rate raised to 0.2, each kind hits about a fifth of its eligible rows."""
    rng = np.random.default_rng(3)
    prof = load_profile()
    people = sample_people(rng, 20_000, prof)
    rates = {k: 0.2 for k in DISCREPANCY_KINDS}
    out = corrupt_true_records(rng, people, rates, building_rate=0.5, moves=prof.moves)
    applied = out.applied.sum(axis=0)
    for kind, hits, elig in zip(DISCREPANCY_KINDS, applied, out.eligible):
        assert elig > 30, kind
        assert close(int(hits), 0.2 * elig), (kind, hits, elig)


def test_codes_are_visible_in_the_answer(pop):
    """Each applied code changes its field; rows without codes answer exactly the record."""
    _, residents, answers, truth = pop
    for t in truth:
        if t["case"] not in ("found", "true_plus_lookalike", "bad_check_digit"):
            continue
        rec = residents[t["person_id"]]
        ans = [r for r in answers[t["person_id"]] if r["my_number"][:11] == t["true_my_number"][:11]][0]
        codes = [c for c in t["discrepancies"].split(";") if c]
        touched = {FIELD[c.split("_")[0]] for c in codes}
        if "alpha_drop_middle" in codes and rec["name_kana"]:
            touched.add("name_kana")  # the register lacks the middle name in every script
        for field in FIELD.values():
            if field in touched:
                assert ans[field] != rec[field], (t["person_id"], field, codes)
            elif field == "sex" and rec["sex"] in ("0", "9"):
                assert ans["sex"] in ("1", "2")
            else:
                assert ans[field] == rec[field], (t["person_id"], field, codes)


SIGNATURES = {
    "alpha_width": lambda a: re.search("[\uff21-\uff3a\uff41-\uff5a]", a),
    "alpha_case": lambda a: re.search("[a-z\uff41-\uff5a]", a),
    "alpha_comma": lambda a: "," in a or "\uff0c" in a,
    "kanji_simplified": lambda k: re.search("[张刘陈杨赵吴孙马罗郑谢许韩冯邓萧叶苏吕卢钟谭陆韦贾邹阎龙贺顾龚钱严赖伟丽华军强红兰晓涛鹏凤刚杰颖辉艳东飞云凯轩]", k),
    "kanji_pua": lambda k: re.search("[\ue000-\uf8ff]", k),
    "kana_hiragana": lambda k: re.search("[\u3041-\u3096]", k),
    "kana_halfwidth": lambda k: re.search("[\uff66-\uff9f]", k),
    "addr_width": lambda a: re.search("[\uff10-\uff19]", a),
    "addr_hyphen": lambda a: re.search("[‐−－ーｰ―]", a),
}


def test_signatures_of_codes(pop):
    _, residents, answers, truth = pop
    seen = defaultdict(int)
    for t in truth:
        if t["case"] not in ("found", "true_plus_lookalike", "bad_check_digit"):
            continue
        ans = [r for r in answers[t["person_id"]] if r["my_number"][:11] == t["true_my_number"][:11]][0]
        rec = residents[t["person_id"]]
        for code in filter(None, t["discrepancies"].split(";")):
            if code in SIGNATURES:
                assert SIGNATURES[code](ans[FIELD[code.split("_")[0]]]), (code, ans)
                seen[code] += 1
            if code == "addr_no_prefecture":
                assert not re.match("^(東京都|北海道|(大阪|京都)府|.{2,3}県)", ans["address"]) or \
                    ans["address"].startswith(("京都市",)), ans["address"]
            if code == "date_swap":
                assert ans["birth_date"][:4] == rec["birth_date"][:4]
                assert ans["birth_date"][5:7] == rec["birth_date"][8:10]
            if code == "date_unknown":
                assert ("00" in (ans["birth_date"][5:7], ans["birth_date"][8:10])) != \
                       ("00" in (rec["birth_date"][5:7], rec["birth_date"][8:10]))
            if code == "alpha_order" and {c for c in t["discrepancies"].split(";") if c.startswith("alpha")} == {code}:
                assert sorted(ans["name_alpha"].split()) == sorted(rec["name_alpha"].split())
                assert ans["name_alpha"] != rec["name_alpha"]
    assert set(seen) == set(SIGNATURES)
