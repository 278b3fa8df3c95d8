"""Link normalisers that the comparison kernels do not cover: My Numbers, key transforms for TF."""
from __future__ import annotations

import numpy as np
import pyarrow as pa

from jukimatch.engine.link.features import key_part, normalise


def test_my_number_normaliser_keeps_valid_numbers_only():
    values = pa.array(["123456789018", "１２３４ ５６７８ ９０１８", "1234-5678-9018", "123456789019", "12345678901",
                       None, "", "abc"])
    cps = normalise(values, "my_number")
    assert [cps.get(i) for i in range(len(values))] == ["123456789018"] * 3 + [""] * 5


def test_tf_keys_fold_spacing_and_order():
    names = normalise(pa.array(["NGUYEN VAN TU", "TU NGUYEN VAN", "NGUYEN  VAN TU", None]), "alpha")
    k = key_part(names, "strings", "sorted_tokens")
    assert k[0] == k[1] == k[2] != 0 and k[3] == 0
    kana = normalise(pa.array(["グエン ヴァン トゥ", "グエンヴァントゥ"]), "kana")
    assert np.unique(key_part(kana, "strings", "nospace")).size == 1
