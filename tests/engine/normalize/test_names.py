"""Alphabet and kanji names: notation variants, null semantics, kernels against naive twins."""
import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from jukimatch.engine.normalize import fold, names
from jukimatch.engine.normalize import normalize_alpha, normalize_kanji

from tests.naive import normalize as naive


def alpha1(s):
    return normalize_alpha([s])[0].as_py()


def kanji1(s):
    return normalize_kanji([s])[0][0].as_py()


@pytest.mark.parametrize("variants, expected", [
    (["NGUYEN, VAN AN", "Nguyen Van An", "ＮＧＵＹＥＮ　ＶＡＮ　ＡＮ", " nguyen  van.an "], "NGUYEN VAN AN"),
    (["JOSÉ MUÑOZ", "Jose Munoz", "JOSE' MUNOZ"], "JOSE MUNOZ"),
    (["ØRSTED", "Orsted"], "ORSTED"),
    (["STRAßE", "STRASSE"], "STRASSE"),
    (["ĐẶNG THỊ HƯƠNG", "Dang Thi Huong"], "DANG THI HUONG"),
    (["O'BRIEN-SMITH", "O BRIEN SMITH", "o.brien,smith"], "O BRIEN SMITH"),
    (["SANTOS2", "SANTOS"], "SANTOS"),
])
def test_alpha_variants_meet(variants, expected):
    assert normalize_alpha(variants).to_pylist() == [expected] * len(variants)


def test_normalize_exports_are_complete_and_sorted():
    from jukimatch.engine import normalize

    assert normalize.__all__ == sorted(normalize.__all__)
    assert all(getattr(normalize, name).__doc__ for name in normalize.__all__)


def test_alpha_keeps_token_order():
    assert alpha1("VAN AN NGUYEN") == "VAN AN NGUYEN"


def test_alpha_null_empty_and_nothing_left_are_null():
    out = normalize_alpha(pa.array([None, "", "   ", "123", ",.-", "A"], pa.string()))
    assert out.to_pylist() == [None, None, None, None, None, "A"]
    assert out.type == pa.large_string()


@pytest.mark.parametrize("variants", [
    ["髙橋 花子", "高橋 花子", "高橋　花子", " 高橋  花子 "],
    ["山﨑", "山崎"], ["渡邊", "渡邉", "渡辺"], ["濵田", "浜田"], ["齋藤", "斎藤"], ["𠮷田", "吉田"],
    ["张 伟", "張 偉"], ["刘", "劉"], ["陈", "陳"], ["杨", "楊"], ["黄", "黃"], ["吴", "呉", "吳"],
    ["赵", "趙"], ["孙", "孫"], ["郑", "鄭"], ["谢", "謝"], ["龙", "龍"], ["钱", "錢"], ["华", "華"],
    ["丽", "麗"], ["艳", "艷", "艶"], ["发", "發", "発"],
])
def test_kanji_variants_meet(variants):
    out = normalize_kanji(variants)[0].to_pylist()
    assert len(set(out)) == 1, out


@pytest.mark.parametrize("a, b", [("叶", "葉"), ("高", "髪"), ("張", "長"), ("斎", "齊")])
def test_kanji_distinct_characters_stay_apart(a, b):
    assert kanji1(a) != kanji1(b)


def test_kanji_gaiji_flag_and_null():
    out, gaiji = normalize_kanji([None, "", "\ue000田 太郎", "田中\U000f0001", "田中 太郎", "\u3000"])
    assert out.to_pylist() == [None, None, "\ue000田 太郎", "田中\U000f0001", "田中 太郎", None]
    assert gaiji.tolist() == [False, False, True, True, False, False]
    assert gaiji.dtype == np.bool_


def test_kanji_table_is_a_fold():
    table = names._kanji_table()
    assert np.array_equal(table[table], table)  # folding twice changes nothing


def test_kanji_table_cache_round_trips_and_survives_a_bad_file(tmp_path, monkeypatch):
    built = names._build_kanji_table()
    path = tmp_path / "cache" / "kanji_table-x.npy"
    monkeypatch.setattr(names, "_kanji_cache_path", lambda: path)
    names._kanji_table.cache_clear()
    try:
        assert np.array_equal(names._kanji_table(), built) and path.exists()  # built, then saved
        names._kanji_table.cache_clear()
        assert np.array_equal(names._kanji_table(), built)  # read back
        path.write_bytes(b"not a table")
        names._kanji_table.cache_clear()
        assert np.array_equal(names._kanji_table(), built)  # a broken file is rebuilt over
        assert np.array_equal(np.load(path), built)
    finally:
        names._kanji_table.cache_clear()


def test_non_string_column_is_rejected():
    with pytest.raises(ValueError, match="string"):
        normalize_alpha(pa.array([1, 2]))
    with pytest.raises(ValueError, match="uint32"):
        fold.translate(fold.Codepoints(np.zeros(1, np.int64), np.array([0, 1])), names._alpha_table()[0])


# --- kernels against their naive twins ---------------------------------------------------

_LATIN = st.sampled_from(list("ABCXYZabcxyz ,.-'0919ÉéÑñÜüØøĐđÆæŒœßẞÞþıŁłＡｚ　\tàẶờ") + ["\u0301", "\u0308"])
_CJK = st.sampled_from(list("高髙崎﨑辺邊邉浜濵斎齋吉𠮷张張伟偉叶葉万萬田中 　\t\ue000\U000f0000ｱA"))


@given(st.lists(st.text(_LATIN, max_size=12) | st.none(), max_size=8))
def test_alpha_matches_naive(values):
    assert normalize_alpha(pa.array(values, pa.string())).to_pylist() == [naive.alpha(v) for v in values]


@given(st.lists(st.text(_CJK, max_size=8) | st.none(), max_size=8))
def test_kanji_matches_naive(values):
    out, gaiji = normalize_kanji(pa.array(values, pa.string()))
    expected = [naive.kanji(v, names._kanji_table()) for v in values]
    assert out.to_pylist() == [e[0] for e in expected]
    assert gaiji.tolist() == [e[1] for e in expected]


@st.composite
def _tables(draw):
    size = draw(st.integers(1, 40))
    pairs = np.array(draw(st.lists(st.tuples(st.integers(1, 60), st.integers(0, 60)), max_size=3)),
                     dtype=np.uint32).reshape(-1, 2)
    choices = st.integers(0, 60) | (st.integers(0, max(len(pairs) - 1, 0)).map(lambda k: 0x80000000 | k)
                                    if len(pairs) else st.integers(0, 60))
    table = np.array(draw(st.lists(choices, min_size=size, max_size=size)), dtype=np.uint32)
    return table, pairs


@given(_tables(), st.lists(st.text(st.sampled_from([chr(c) for c in range(32, 50)]), max_size=6), max_size=6))
def test_translate_matches_naive(tp, values):
    table, pairs = tp
    table.setflags(write=False)  # kernels must accept read-only inputs
    out = fold.from_codepoints(fold.translate(fold.to_codepoints(values), table, pairs), empty_as_null=False)
    assert out.to_pylist() == [naive.translate(v, table, pairs) for v in values]


@given(st.lists(st.text(st.sampled_from(list("ab \ue000\U00100000")), max_size=8), max_size=8))
def test_squeeze_and_private_use_match_naive(values):
    cps = fold.to_codepoints(values)
    squeezed = fold.from_codepoints(fold.squeeze_spaces(cps), empty_as_null=False)
    assert squeezed.to_pylist() == [naive.squeeze_spaces(v) for v in values]
    assert fold.has_private_use(cps).tolist() == [naive.has_private_use(v) for v in values]


_FOLDED = st.sampled_from([chr(c) for c in range(32, 50)] + list("ａ１\u3000ｸﾞé\u0301\ue000\U00100000田"))


@given(_tables(), st.lists(st.text(_FOLDED, max_size=6) | st.none(), max_size=6),
       st.sampled_from(["NFKC", "NFKD", "NFC", "NFD"]), st.booleans())
def test_folded_codepoints_match_naive(tp, values, form, squeeze):
    """The one-pass fold (UTF-8 to normalised, translated, squeezed code points) against the
    steps one after another, rows the full normaliser must rewrite among them."""
    import unicodedata

    table, pairs = tp
    if len(table) > 32:  # spaces kept, for the squeeze to work on
        table = table.copy()
        table[32] = 32
    cps, private = fold.folded_codepoints(pa.array(values, pa.string()), form, table, pairs, squeeze=squeeze)
    normal = [unicodedata.normalize(form, v or "") for v in values]
    want = [naive.translate(v, table, pairs) for v in normal]
    assert [cps.get(i) for i in range(len(cps))] == [naive.squeeze_spaces(v) if squeeze else v for v in want]
    assert private.tolist() == [naive.has_private_use(v) for v in normal]


_ANY = st.characters(max_codepoint=0x323AF, exclude_categories=("Cs",))
_COMPOSING = st.sampled_from(list("ｸﾞカ\u3099゛ａ１가\u11a8\u1100\u1161é\u0301ＡＺ～！\u3000\uff5f 田"))


@given(st.lists(st.text(_ANY, max_size=6) | st.text(_COMPOSING, max_size=6) | st.none(), max_size=8),
       st.sampled_from(["NFKC", "NFKD", "NFC", "NFD"]))
def test_selective_normalising_equals_arrow(values, form):
    import pyarrow.compute as pc

    column = pa.array(values, pa.string())
    fast = fold.normalized_codepoints(column, form)
    slow = fold.to_codepoints(pc.utf8_normalize(column.cast(pa.large_string()), form))
    assert [fast.get(i) for i in range(len(fast))] == [slow.get(i) for i in range(len(slow))]
