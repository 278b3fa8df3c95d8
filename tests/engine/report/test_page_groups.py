"""The report's pair groups read from decision codes equal those read from decision strings."""
import numpy as np
from hypothesis import given, strategies as st

from jukimatch.engine.reconcile.decide import DECISIONS
from jukimatch.engine.report.page import _pair_groups


@given(st.lists(st.integers(0, len(DECISIONS) - 1), max_size=40))
def test_pair_groups_from_codes_equal_from_strings(codes):
    code = np.array(codes, np.int8)
    names = np.asarray(DECISIONS, dtype=object)[code]
    g1, c1 = _pair_groups(names, len(code))
    g2, c2 = _pair_groups(code, len(code))
    assert g1 == g2 and c1.tolist() == c2.tolist() and c2.dtype == np.int8
