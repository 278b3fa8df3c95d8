"""Kana names: the standard spec's fuzzy key, null semantics, kernel against its naive twin."""
import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from jukimatch.engine.normalize import kana
from jukimatch.engine.normalize import normalize_kana

from tests.naive import normalize as naive


@pytest.mark.parametrize("variants, expected", [
    (["グエン", "ｸﾞｴﾝ", "ぐえん", "クエン", "ク゛エン"], "クエン"),
    (["ヴァン", "バン", "ヴアン", "ｳﾞｧﾝ", "ウ゛ァン", "ゔぁん", "ハン", "パン"], "ハン"),
    (["ヴィ", "ビ"], "ヒ"), (["ヴ", "ブ"], "フ"), (["ヴェ", "ベ"], "ヘ"), (["ヴォ", "ボ"], "ホ"),
    (["ヴュ", "ビュ"], "ヒユ"),
    (["ジ", "ヂ", "シ", "ぢ"], "シ"), (["ズ", "ヅ", "ス"], "ス"), (["ヲ", "オ", "を"], "オ"),
    (["ッ", "ツ", "っ"], "ツ"), (["ャ", "ヤ"], "ヤ"), (["ァ", "ア"], "ア"), (["ヮ", "ワ"], "ワ"),
    (["ヵ", "カ"], "カ"), (["ヶ", "ケ"], "ケ"), (["ヰ", "イ"], "イ"), (["ヱ", "エ"], "エ"),
    (["ヨーコ", "ヨ―コ", "ヨ－コ", "ヨｰコ", "ヨ‐コ", "ヨ-コ", "ヨコ"], "ヨコ"),
    (["グエン ヴァン アン", "グエン・ヴァン・アン", "グエン＝ヴァン＝アン", "ｸﾞｴﾝ ｳﾞｧﾝ ｱﾝ", " グエン　ヴァン  アン "],
     "クエン ハン アン"),
    (["ササキ", "サヽキ", "ささき", "さゝき"], "ササキ"),
    (["スズキ", "スヾキ"], "ススキ"),
])
def test_kana_variants_meet(variants, expected):
    assert normalize_kana(variants).to_pylist() == [expected] * len(variants)


def test_kana_keeps_chi_apart_from_ji():
    # ヂ is read as ジ, so it folds to シ; it does not meet チ
    assert normalize_kana(["ヂ", "チ"]).to_pylist() == ["シ", "チ"]


def test_kana_null_empty_and_nothing_left_are_null():
    out = normalize_kana(pa.array([None, "", "　", "ーー", "・", "カ"], pa.string()))
    assert out.to_pylist() == [None, None, None, None, None, "カ"]
    assert out.type == pa.large_string()


def test_kana_table_is_a_fold():
    table = kana._kana_table()
    kept = table[table != 0]
    assert np.array_equal(table[kept], kept)  # a folded kana folds to itself


_KANA = st.sampled_from(list("アァカガパハヴゔヷヸヹヺィイゥウェエォオャヤュユョヨッツヂヅヲヰヱーｰ―－-〜"
                             "あぁがぱゕゖゝゞヽヾ・･＝= 　ｸﾞﾟｳﾞ゛゜\u3099ㇰㇿabcX漢1ヵヶヮ"))


@given(st.lists(st.text(_KANA, max_size=10) | st.none(), max_size=8))
def test_kana_matches_naive(values):
    assert normalize_kana(pa.array(values, pa.string())).to_pylist() == [naive.kana(v) for v in values]
