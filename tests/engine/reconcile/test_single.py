"""One pair of 4-information records, as the authenticity check compares them."""
import pytest

from jukimatch.engine.reconcile.single import compare_records

OURS = {"name_alpha": "NGUYEN VAN AN", "name_kana": "グエン ヴァン アン", "birth_date": "1990-01-02", "sex": "1",
        "address": "東京都新宿区大久保1-2-3"}


def test_same_person_other_notation_confirmed():
    theirs = {"name_alpha": "NGUYEN, VAN AN", "name_kana": "ｸﾞｴﾝ ﾊﾞﾝ ｱﾝ", "birth_date": "1990-01-02", "sex": "1",
              "address": "新宿区大久保一丁目2番3号"}
    r = compare_records(OURS, theirs)
    assert r.decision == "confirmed" and r.levels["address"] == 4 and r.levels["name_kana"] == 4


def test_someone_else_rejected():
    theirs = {"name_alpha": "TRAN THI BINH", "birth_date": "1971-05-09", "sex": "2", "address": "大阪府大阪市北区梅田1-1-1"}
    assert compare_records(OURS, theirs).decision == "rejected"


def test_contradicting_sex_reviewed():
    r = compare_records(OURS, {**OURS, "sex": "2"})
    assert r.decision == "review" and "sex_mismatch" in r.reasons


def test_gaiji_reviewed():
    r = compare_records({**OURS, "name_kanji": "\ue000田 花子"}, {**OURS, "name_kanji": "吉田 花子"})
    assert r.decision == "review" and "gaiji" in r.reasons


def test_unknown_and_mistyped_fields_refused():
    with pytest.raises(ValueError, match="unknown fields"):
        compare_records({**OURS, "shoe_size": "42"}, OURS)
    with pytest.raises(ValueError, match="field sex: expected text"):
        compare_records({**OURS, "sex": 1}, OURS)
