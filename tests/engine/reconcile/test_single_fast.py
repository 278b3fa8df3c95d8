"""The authenticity check's single-pair comparison takes a short cut (engine/reconcile/single.py): it
calls the comparison kernels directly and memoises sex codes. It must give exactly what the
checked, column-wise path gives — the same levels, weights and decisions as the bulk run."""
from __future__ import annotations

import numpy as np
import pytest

from jukimatch.engine.normalize.dates import normalize_sex
from jukimatch.engine.reconcile import single
from jukimatch.engine.reconcile.features import FIELDS, compare_features, features

EDGE = [
    ({}, {}),
    ({"name_alpha": "", "sex": ""}, {"name_alpha": None, "sex": None}),
    ({"sex": "１", "birth_date": "1980-00-00"}, {"sex": " 1 ", "birth_date": "1980-07-00"}),
    ({"sex": "M", "name_kanji": "\ue000田 花子"}, {"sex": "9", "name_kanji": "吉田 花子"}),
    ({"name_kana": "ｸﾞｴﾝ ﾊﾞﾝ ｱﾝ", "address": "新宿区大久保一丁目2番3号"},
     {"name_kana": "グエン ヴァン アン", "address": "東京都新宿区大久保1-2-3"}),
    ({"name_alpha": "NGUYEN VAN AN", "birth_date": "1990-01-02", "sex": "1"},
     {"name_alpha": "NGUYEN, VAN AN", "birth_date": "1990-02-01", "sex": "2"}),
]


def _pairs(n: int = 300) -> list[tuple[dict, dict]]:
    from jukimatch.datasets import make_population

    tables = make_population(n, seed=5)
    residents = {r["person_id"]: r for r in tables["residents"].to_pylist()}
    cols = single._PERSON_COLUMNS
    return [({c: residents[r["person_id"]].get(c) for c in cols}, {c: r.get(c) for c in cols})
            for r in tables["responses"].to_pylist() if r["status"] == "found"] + EDGE


@pytest.fixture(scope="module")
def pairs():
    return _pairs()


def test_pair_levels_equal_the_checked_path(pairs):
    for ours, theirs in pairs:
        both = features(single._two_rows(ours, theirs))
        want = compare_features(both, both, np.zeros(1, dtype=np.int64), np.ones(1, dtype=np.int64))
        assert single._pair_levels(both).tolist() == want.tolist(), (ours, theirs)


def test_memoised_sex_codes_equal_the_column_normaliser(pairs):
    values = sorted({v for pair in pairs for rec in pair for v in [rec.get("sex")] if v}) + ["", None, "男", "３"]
    want, _ = normalize_sex([v or None for v in values])
    assert [single._sex_code(v or None) for v in values] == want.tolist()


def test_compare_records_equals_the_checked_path(pairs):
    model = single.default_model()
    for ours, theirs in pairs:
        both = features(single._two_rows(ours, theirs))
        levels = compare_features(both, both, np.zeros(1, dtype=np.int64), np.ones(1, dtype=np.int64))
        weight, prob = model.score(levels)
        got = single.compare_records(ours, theirs)
        assert got.levels == {f: int(x) for f, x in zip(FIELDS, levels[0])}
        assert (got.match_weight, got.match_probability) == (float(weight[0]), float(prob[0]))
