"""Reusing one side's normalised text for the other gives what normalising both would."""
import numpy as np
import pyarrow as pa
from hypothesis import given, settings, strategies as st

from jukimatch.engine.normalize import normalize_sex, parse_dates
from jukimatch.engine.reconcile.features import features, pair_features
from jukimatch.engine.text import same_text

texts = st.one_of(st.none(), st.sampled_from(["", "ＡＢＣ", "ABC", "髙橋", "高橋", "ｶﾞｯﾂ", "ガッツ", "東京都新宿区西新宿2-8-1",
                                             "西新宿二丁目8番1号", "\ue001田"]), st.text(max_size=5))


@settings(max_examples=300)
@given(st.lists(texts, min_size=1, max_size=20), st.data())
def test_same_text_matches_python(a, data):
    rows = data.draw(st.lists(st.integers(0, len(a) - 1), max_size=20))
    b = data.draw(st.lists(texts, min_size=len(rows), max_size=len(rows)))
    rows = [data.draw(st.sampled_from([r, -1])) for r in rows]  # -1: no counterpart
    got = same_text(pa.array(a, pa.string()), np.array(rows, np.int64), pa.array(b, pa.string()))
    assert got.tolist() == [i >= 0 and (a[i] or "") == (x or "") for i, x in zip(rows, b)]


def _table(rows):
    cols = ("name_alpha", "name_kanji", "name_kana", "birth_date", "sex", "address")
    return pa.table({c: pa.array([r[k] for r in rows], pa.string()) for k, c in enumerate(cols)})


def _parsed(t):
    return parse_dates(t.column("birth_date")), normalize_sex(t.column("sex"))[0]


@settings(max_examples=60)
@given(st.lists(st.tuples(texts, texts, texts, st.just("1990-01-02"), st.just("1"), texts), min_size=1, max_size=12),
       st.data())
def test_pair_features_equal_normalising_both(left_rows, data):
    # -1: a right row in no pair (a response that answers nobody, normalised all the same)
    li = data.draw(st.lists(st.integers(-1, len(left_rows) - 1), max_size=15))
    # the right side: mostly copies of its left row, some fields replaced
    right_rows = [tuple(data.draw(st.one_of(st.just(v), texts)) for v in left_rows[i]) for i in li]
    right_rows = [r[:3] + ("1990-01-02", "1") + r[5:] for r in right_rows]
    L, R = _table(left_rows), _table(right_rows) if right_rows else _table([]).cast(_table(left_rows).schema)
    (ld, ls), (rd, rs) = _parsed(L), _parsed(R)
    left, right = pair_features(L, R, np.array(li, np.int64), left_dates=ld, left_sex=ls, right_dates=rd, right_sex=rs)
    want_l, want_r = features(L, dates=ld, sex=ls), features(R, dates=rd, sex=rs)
    for got, want in ((left, want_l), (right, want_r)):
        for n in ("alpha", "kanji", "kana"):
            assert [getattr(got, n).get(i) for i in range(len(got))] == [getattr(want, n).get(i) for i in range(len(want))]
        assert got.gaiji.tolist() == want.gaiji.tolist()
        for a, b in zip(got.address, want.address):
            assert a.tolist() == b.tolist()


def test_split_address_job_gives_the_same(monkeypatch):
    import jukimatch.engine.reconcile.features as F

    rows = [("A B", "髙橋", "ｶﾞｯﾂ", "1990-01-02", "1", a) for a in
            ("東京都新宿区西新宿2-8-1", "西新宿二丁目8番1号", None, "大阪市北区梅田1-1", "〒100-0001 千代田区千代田1-1", "")]
    L = _table(rows * 3)
    li = np.array([0, 3, 5, 7, 2, 17, 11], np.int64)
    R = _table([rows[i % len(rows)] for i in li])
    (ld, ls), (rd, rs) = _parsed(L), _parsed(R)
    whole = pair_features(L, R, li, left_dates=ld, left_sex=ls, right_dates=rd, right_sex=rs)
    monkeypatch.setattr(F, "_SPLIT_ROWS", 3)
    split = pair_features(L, R, li, left_dates=ld, left_sex=ls, right_dates=rd, right_sex=rs)
    for a, b in zip(whole, split):
        for x, y in zip(a.address, b.address):
            assert x.tolist() == y.tolist()


@given(st.lists(st.lists(st.integers(-1, 5), min_size=6, max_size=6), max_size=30))
def test_agreement_cells_in_one_pass_equal_the_composed_cells(rows):
    from jukimatch.engine.reconcile.features import DATE_FIELD, agreement_cells, name_conflict, name_full
    from jukimatch.engine.reconcile.namesakes import agreement_cell

    levels = np.array(rows, np.int8).reshape(-1, 6)
    want = agreement_cell(name_full(levels), name_conflict(levels), levels[:, DATE_FIELD])
    got = agreement_cells(levels)
    assert got.dtype == np.int64 and got.tolist() == want.tolist()


@given(st.lists(st.integers(0, 60), unique=True, max_size=30), st.lists(st.integers(0, 60), unique=True, max_size=30))
def test_common_samples_equal_intersect1d(rk, pk):
    from jukimatch.engine.reconcile.chunks import _common_samples, _others

    rk, pk = np.array(rk, np.int64), np.array(pk, np.int64)
    got = _common_samples(rk, pk)
    want = np.intersect1d(rk, pk, assume_unique=True, return_indices=True)
    assert all(a.tolist() == b.tolist() for a, b in zip(got, want))
    assert _others(len(rk), got[1]).tolist() == np.setdiff1d(np.arange(len(rk)), want[1], assume_unique=True).tolist()


#: notations one level below the same code points: spaces dropped, tokens in another order
variants = st.one_of(texts, st.sampled_from(["DELA CRUZ", "DELACRUZ", "CRUZ DELA", "張 偉", "偉 張", "張偉",
                                            "グエン ヴァン", "ヴァン グエン"]))


@settings(max_examples=80)
@given(st.lists(st.tuples(variants, variants, variants, st.just("1990-01-02"), st.just("1"), texts), min_size=1,
                max_size=12), st.data())
def test_an_answers_name_keys_taken_from_its_resident_equal_hashing_its_own(left_rows, data):
    """Where the comparison finds the same code points (the top level), the resident's name key
    is the answer's: taking it gives what hashing every answer's name gives."""
    from jukimatch.engine.reconcile.features import compare_features, same_names
    from jukimatch.engine.reconcile.namesakes import name_keys, pair_keys, resident_keys

    li = np.array(data.draw(st.lists(st.integers(0, len(left_rows) - 1), min_size=1, max_size=15)), np.int64)
    right_rows = [tuple(data.draw(st.one_of(st.just(v), variants)) for v in left_rows[i]) for i in li]
    right_rows = [r[:3] + ("1990-01-02", "1") + r[5:] for r in right_rows]
    L, R = _table(left_rows), _table(right_rows)
    (ld, ls), (rd, rs) = _parsed(L), _parsed(R)
    left, right = pair_features(L, R, li, left_dates=ld, left_sex=ls, right_dates=rd, right_sex=rs)
    ri = np.arange(len(li), dtype=np.int64)
    levels = compare_features(left, right, li, ri)
    got = pair_keys(left, right, li, ri, resident_keys(left), same_names(levels))
    for field, tokens in (("alpha", True), ("kanji", False), ("kana", False)):
        assert getattr(got, field).tolist() == name_keys(getattr(right, field), tokens=tokens)[ri].tolist()


def test_names_one_level_below_the_same_keep_their_own_keys():
    """``DELACRUZ`` for ``DELA CRUZ`` and ``偉 張`` for ``張 偉`` reach the level just below the
    same code points, and hash to other keys: the answer's own."""
    from jukimatch.engine.reconcile.features import compare_features, same_names
    from jukimatch.engine.reconcile.namesakes import name_keys, pair_keys, resident_keys

    left_rows = [("DELA CRUZ", "張 偉", "グエン ヴァン", "1990-01-02", "1", "東京都新宿区西新宿2-8-1")] * 2
    right_rows = [("DELACRUZ", "偉 張", "ヴァン グエン", "1990-01-02", "1", "東京都新宿区西新宿2-8-1"), left_rows[0]]
    L, R = _table(left_rows), _table(right_rows)
    (ld, ls), (rd, rs) = _parsed(L), _parsed(R)
    li, ri = np.array([0, 1], np.int64), np.array([0, 1], np.int64)
    left, right = pair_features(L, R, li, left_dates=ld, left_sex=ls, right_dates=rd, right_sex=rs)
    levels = compare_features(left, right, li, ri)
    same = same_names(levels)
    assert [s.tolist() for s in same] == [[False, True]] * 3
    got = pair_keys(left, right, li, ri, resident_keys(left), same)
    for field, tokens in (("alpha", True), ("kanji", False), ("kana", False)):
        assert getattr(got, field).tolist() == name_keys(getattr(right, field), tokens=tokens).tolist()
    assert got.alpha[0] != got.alpha[1] and got.kanji[0] != got.kanji[1]
