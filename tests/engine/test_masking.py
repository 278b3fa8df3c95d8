"""The one masking function: every spelling of a My Number, a plain twin, the call sites."""
from __future__ import annotations

import logging

import pytest
from hypothesis import example, given, settings, strategies as st

from jukimatch.engine.masking import mask
from tests.naive.masking import naive_mask

NUMBER = "008815471475"


SPELLINGS = [
    NUMBER, "0088-1547-1475", "0088 1547 1475", "0088\u30001547\u30001475", "0088 - 1547 - 1475",
    "０００８８１５４７１４７５"[1:], "0088−1547ー1475",
    "".join(f"%3{c}" for c in NUMBER), "0088%2D1547%2D1475", "0088+1547+1475", "0088%201547%201475",
    "".join(f"%EF%BC%9{c}" for c in NUMBER),
]


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_every_spelling_keeps_only_the_last_four(spelling):
    out = mask(f"note: {spelling}.")
    assert out.count("*") == 8
    assert out.startswith("note: *") and out.endswith(".")
    assert naive_mask(f"note: {spelling}.") == out


def test_short_runs_stay_and_whole_values_mask():
    for text in ("2026-12-06 19:51:42", "03-1234-5678", "AB12345678CD", "127.0.0.1:8000", "1,504 to 2,792"):
        assert mask(text) == text
    assert mask("x 1234567890180 y") == "x *********0180 y"  # 13 digits: still no 12 in a row shown
    assert mask("12345678901", whole=True) == "*******8901"
    assert mask(None) == "" and mask("") == ""


_PIECES = st.sampled_from(["0", "7", "０", "٣", "%30", "%3a", "%EF%BC%99", "%ef%bc%91", "-", " ", "\u3000", "%2D",
                           "%20", "+", "ー", "%E3%80%80", "%", "3", "a", "/", ".", "%E", "\n"])


@settings(max_examples=400)
@given(st.lists(_PIECES, max_size=60).map("".join))
@example("%E3%80%800000000000")  # an encoded space is not the digits 80
@example("%E3%80%80" + "0" * 12)
def test_mask_agrees_with_its_plain_twin(text):
    assert mask(text) == naive_mask(text)


def test_no_twelve_digits_in_a_row_survive():
    text = "call " + " ".join([NUMBER] * 3)
    digits = [c for c in mask(text) if c.isdigit() or c == "*"]
    assert all(sum(c.isdigit() for c in digits[i:i + 12]) <= 4 for i in range(len(digits) - 11))


def test_service_log_filter_uses_it(caplog):
    from jukimatch.api.service import logsafe

    logsafe.install()
    with caplog.at_level(logging.INFO, logger="jukimatch.service"):
        logging.getLogger("jukimatch.service").info("GET /v1/persons/%s", "0088%2D1547%2D1475")
    assert "1547" not in caplog.text and "1475" in caplog.text


def test_report_and_review_use_it():
    import pyarrow as pa

    from jukimatch.engine.report import page as report
    from jukimatch.engine.reconcile.tables import mask_column

    assert report._e("see 0088 1547 1475") == "see **** **** 1475"
    assert mask_column(pa.array([" 123456789018 ", None])).to_pylist() == ["********9018", None]
