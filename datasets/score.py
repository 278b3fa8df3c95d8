"""Score reconciliation decisions against the generator's ground truth.

The figures the agency cares about, in order: wrong numbers registered (must be 0), numbers
registered to two persons (must be 0), then automatic recall among persons whose true record
came back cleanly, review rate, and whether every unanswered person is pending.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# Cases whose true record came back with a valid number and nothing suspicious: the ones a
# perfect engine matches automatically.
CLEAN_CASES = ("found", "true_plus_lookalike")


def score(decisions: pa.Table, truth: pa.Table) -> dict:
    """Accuracy of ``decisions`` (contract columns) against ``truth`` (datasets' truth table)."""
    t = truth.select(["person_id", "true_my_number", "case"])
    d = decisions.select(["person_id", "decision", "my_number"]).filter(pc.is_valid(decisions["person_id"]))
    joined = d.join(t, "person_id", join_type="left outer")
    dec = joined["decision"].to_numpy(zero_copy_only=False).astype(str)
    got = joined["my_number"].to_pylist()
    true = joined["true_my_number"].to_pylist()
    case = np.array([c or "" for c in joined["case"].to_pylist()])
    matched = dec == "match"
    wrong = np.array([m and g != tr for m, g, tr in zip(matched, got, true)], dtype=bool)
    nums = [g for m, g in zip(matched, got) if m]
    uniq, counts = np.unique(np.array(nums, dtype=object).astype(str), return_counts=True) if nums else ([], [])
    shared = int(sum(1 for c in counts if c > 1))
    clean = np.isin(case, CLEAN_CASES)
    correct = matched & ~wrong
    unanswered = case == "unanswered"
    n = len(dec)
    by_case = {}
    for c in sorted(set(case.tolist())):
        sel = case == c
        by_case[c or "(no truth)"] = {k: int(((dec == k) & sel).sum()) for k in
                                      ("match", "review", "no_match", "pending", "rejected")}
    return {
        "residents": n,
        "wrong_numbers": int(wrong.sum()),
        "numbers_to_two_persons": shared,
        "clean_true_records": int(clean.sum()),
        "auto_recall": float((correct & clean).sum() / max(int(clean.sum()), 1)),
        "review_rate": float((dec == "review").sum() / max(n, 1)),
        "unanswered_pending": float(((dec == "pending") & unanswered).sum() / max(int(unanswered.sum()), 1)),
        "by_case": by_case,
    }
