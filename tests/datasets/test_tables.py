"""Generated tables: contract schema, realistic content, determinism, profiles, public face."""
import re
from collections import Counter

import pyarrow as pa
import pytest

import jukimatch.datasets as ds
from jukimatch.datasets import generate, load_profile, make_population

RESIDENT_COLUMNS = ["person_id", "resident_class", "name_alpha", "name_kanji", "name_kana", "birth_date",
                    "sex", "nationality", "address", "card_number", "my_number"]
RESPONSE_COLUMNS = ["person_id", "status", "my_number", "name_alpha", "name_kanji", "name_kana", "birth_date",
                    "sex", "address"]


@pytest.fixture(scope="module")
def pop():
    return make_population(20_000, seed=5)


def test_contract_columns_all_strings(pop):
    assert pop["residents"].column_names == RESIDENT_COLUMNS
    assert pop["responses"].column_names == RESPONSE_COLUMNS
    for name in ("residents", "responses", "truth", "copies"):
        assert all(f.type == pa.string() for f in pop[name].schema), name
    assert {"person_id", "true_my_number", "case", "discrepancies", "held_number_kind",
            "duplicate_of"} <= set(pop["truth"].column_names)
    assert pop["truth"].num_rows == pop["residents"].num_rows == pop["copies"].num_rows


def test_required_fields_and_shapes(pop):
    res = pop["residents"].to_pylist()
    assert len({r["person_id"] for r in res}) == len(res)
    for r in res:
        assert re.fullmatch(r"[0-9]{10}", r["person_id"])
        assert r["name_alpha"] or r["name_kanji"] or r["name_kana"]
        assert re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", r["birth_date"])
        assert r["sex"] in ("0", "1", "2", "9")
        assert r["resident_class"] in ("mid_long_term", "special_permanent", "japanese_relative")
        if r["resident_class"] == "japanese_relative":
            assert r["card_number"] is None and r["nationality"] == "JPN"
        else:
            assert re.fullmatch(r"[A-Z]{2}[0-9]{8}[A-Z]{2}", r["card_number"])
    assert any(r["person_id"].startswith("0") for r in res)
    statuses = set(pop["responses"]["status"].to_pylist())
    assert statuses == {"found", "not_found"}


def test_population_looks_like_japans_foreign_residents(pop):
    res = pop["residents"].to_pylist()
    n = len(res)
    nat = Counter(r["nationality"] for r in res)
    assert [c for c, _ in nat.most_common(3)] == ["CHN", "VNM", "KOR"]
    assert len(nat) > 25  # top ten plus a tail
    sp = [r for r in res if r["resident_class"] == "special_permanent"]
    assert Counter(r["nationality"] for r in sp).most_common(1)[0][0] == "KOR"
    male = sum(r["sex"] == "1" for r in res) / n
    assert 0.49 < male < 0.52
    assert any(r["sex"] in ("0", "9") for r in res)
    dates = [r["birth_date"] for r in res]
    assert any(d.endswith("-00-00") for d in dates) and any(re.search(r"-(0[1-9]|1[0-2])-00$", d) for d in dates)
    prefs = Counter(re.match("(東京都|大阪府|愛知県|神奈川県|埼玉県)?", r["address"]).group(1) for r in res)
    assert prefs.most_common(2)[0][0] is None or prefs["東京都"] > prefs["大阪府"] > 0
    assert prefs["東京都"] > 0.12 * n
    assert any(re.search("[一二三四五六七八九]丁目", r["address"]) for r in res)
    assert any(re.search(r"\d+-\d+-\d+", r["address"]) for r in res)
    assert any("号室" in r["address"] for r in res)


def test_names_in_each_nationalitys_forms(pop):
    res = pop["residents"].to_pylist()
    alpha = [r["name_alpha"] for r in res]
    assert all(re.fullmatch(r"[A-Z]+( [A-Z]+)*", a) for a in alpha)
    by = lambda c: [r for r in res if r["nationality"] == c]  # noqa: E731
    assert any(re.fullmatch(r"NGUYEN (VAN|THI) [A-Z]+", r["name_alpha"]) for r in by("VNM"))
    assert any(r["name_alpha"].startswith(("DELA CRUZ ", "DE GUZMAN ", "DEL ROSARIO ")) for r in by("PHL"))
    assert max(len(r["name_alpha"].split()) for r in by("BRA")) >= 5
    assert any(len(r["name_alpha"].split()) == 1 for r in by("IDN"))
    assert any(len(r["name_alpha"].split()) == 1 for r in by("MMR"))
    assert all(r["name_kanji"] for r in by("JPN")) and all(r["name_kana"] for r in by("JPN"))
    assert sum(bool(r["name_kanji"]) for r in by("CHN")) > 0.9 * len(by("CHN"))
    assert not any(r["name_kanji"] for r in by("VNM"))
    kana = [r["name_kana"] for r in res if r["name_kana"]]
    assert 0.25 * len(res) < len(kana) < 0.7 * len(res)
    variants = "髙﨑邊邉濵齋𠮷嶋櫻澤"
    assert any(set(r["name_kanji"]) & set(variants) for r in by("JPN"))
    # true namesakes exist, but few share a full name and birth date
    same = Counter((r["name_alpha"], r["birth_date"]) for r in res)
    shared = sum(v for v in same.values() if v > 1)
    assert 0 < shared < 0.03 * len(res)


def test_copies_per_class(pop):
    res = {r["person_id"]: r for r in pop["residents"].to_pylist()}
    rows = pop["copies"].to_pylist()
    assert len({c["subject_id"] for c in rows}) == len(rows)
    flags = Counter()
    for c in rows:
        r = res[c["person_id"]]
        assert re.fullmatch(r"[0-9A-F]{16}", c["subject_id"])
        klass = r["resident_class"]
        assert (c["entry_exit_date"] is not None) == (klass != "japanese_relative")
        assert (c["residence_card_number"] is not None) == (klass == "mid_long_term")
        assert (c["sp_certificate_number"] is not None) == (klass == "special_permanent")
        if klass == "mid_long_term":
            assert c["residence_card_number"] == r["card_number"] and c["residence_card_status"]
            assert c["residence_card_issue_date"] <= c["residence_card_expiry_date"]
        if klass == "special_permanent":
            assert c["sp_certificate_number"] == r["card_number"]
        for k in ("entry_exit", "residence_card", "sp_certificate"):
            flags[k] += c[f"no_auto_response_{k}"] == "1"
    assert all(0 < v < 0.03 * len(rows) for k, v in flags.items() if k != "sp_certificate")
    notices = {c["residence_card_designation_notice"] for c in rows} - {None}
    assert notices <= {"25", "26", "40", "41"} and notices


def test_same_seed_same_bytes_other_seed_differs(tmp_path):
    a = generate(3000, tmp_path / "a", seed=42)
    b = generate(3000, tmp_path / "b", seed=42)
    c = generate(3000, tmp_path / "c", seed=43)
    for name in ("residents", "responses", "truth", "copies"):
        pa_, pb, pc_ = (open(x["paths"][name], "rb").read() for x in (a, b, c))
        assert pa_ == pb, name
        assert pa_ != pc_, name
    d = generate(3000, tmp_path / "d", seed=42, fmt="csv")
    e = generate(3000, tmp_path / "e", seed=42, fmt="csv")
    assert all(open(d["paths"][k], "rb").read() == open(e["paths"][k], "rb").read() for k in d["paths"])
    assert a["rows"]["residents"] == 3000 and sum(a["cases"].values()) == 3000


def test_profile_overrides_and_validation(tmp_path):
    prof = load_profile({"cases": {"found": 0.5, "not_found": 0.465}})
    assert prof.cases["found"] == 0.5 and prof.cases["unanswered"] == 0.01
    tables = make_population(2000, seed=1, profile=prof)
    counts = Counter(tables["truth"]["case"].to_pylist())
    assert 800 < counts["not_found"] < 1100
    path = tmp_path / "p.toml"
    path.write_text("[discrepancies]\nalpha_width = 0.5\n", encoding="utf-8")
    assert load_profile(path).discrepancies["alpha_width"] == 0.5
    assert load_profile(str(path)).source == str(path)
    with pytest.raises(ValueError, match="unknown"):
        load_profile({"discrepancies": {"alpha_widht": 0.1}})
    with pytest.raises(ValueError, match="sum to 1"):
        load_profile({"cases": {"found": 0.5}})
    with pytest.raises(ValueError, match="probability"):
        load_profile({"held_number": {"true": 1.5}})
    with pytest.raises(ValueError, match="not found"):
        load_profile(tmp_path / "missing.toml")
    with pytest.raises(ValueError):
        make_population(0)


def test_public_names_sorted_and_complete():
    assert ds.__all__ == sorted(ds.__all__)
    for name in ("make_population", "write_population", "generate", "load_profile", "Profile"):
        assert name in ds.__all__ and hasattr(ds, name)
    assert all(hasattr(ds, n) for n in ds.__all__)
