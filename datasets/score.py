"""Score reconciliation decisions against the generator's ground truth.

The figures the agency cares about, in order: wrong numbers registered (must be 0), numbers
registered to two persons (must be 0), then automatic recall among persons whose true record
came back cleanly, review rate, and whether every unanswered person is pending. Then the
pairs inside the agency's own file: double entries (``duplicate_of``) and namesake twins
(``twin_of``) count as flagged when both rows went to review with a duplicate reason, since a
reviewer must see them side by side; and wrong numbers by what the person was (case,
look-alike kind, where the look-alike lives), to see which phenomenon fooled the engine.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# Cases whose true record came back with a valid number and nothing suspicious: the ones a
# perfect engine matches automatically.
CLEAN_CASES = ("found", "true_plus_lookalike")
FLAG_REASONS = ("duplicate_record", "namesake_twin")


def _pairs_flagged(pid: np.ndarray, other: list, flagged: dict[str, bool]) -> tuple[int, int]:
    """(pairs with both rows flagged, pairs) of a partner column (each pair counted once)."""
    pairs = {tuple(sorted((a, b))) for a, b in zip(pid.tolist(), other) if b}
    return sum(flagged.get(a, False) and flagged.get(b, False) for a, b in pairs), len(pairs)


def _flagged(decisions: pa.Table) -> dict[str, bool]:
    """person_id -> decided review with a duplicate reason (lists do not pass Arrow joins)."""
    if "reasons" not in decisions.column_names:
        return {}
    review = pc.fill_null(pc.equal(decisions["decision"], "review"), False)
    hit = pc.fill_null(pc.is_in(pc.list_flatten(decisions["reasons"]), value_set=pa.array(FLAG_REASONS)), False)
    per_row = pc.list_parent_indices(decisions["reasons"]).to_numpy()[hit.to_numpy(zero_copy_only=False)]
    rows = np.unique(per_row)
    rows = rows[review.to_numpy(zero_copy_only=False)[rows]]
    return dict.fromkeys(decisions["person_id"].take(pa.array(rows)).to_pylist(), True)


def score(decisions: pa.Table, truth: pa.Table) -> dict:
    """Accuracy of ``decisions`` (contract columns) against ``truth`` (datasets' truth table)."""
    extra = [c for c in ("duplicate_of", "twin_of", "lookalike_kind", "lookalike_place") if c in truth.column_names]
    t = truth.select(["person_id", "true_my_number", "case", *extra])
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
    pid = joined["person_id"].to_numpy(zero_copy_only=False).astype(str)
    flagged = _flagged(decisions)

    def column(name: str) -> list:
        return joined[name].to_pylist() if name in joined.column_names else [None] * n

    dup_flagged, dup_total = _pairs_flagged(pid, column("duplicate_of"), flagged)
    twin_flagged, twin_total = _pairs_flagged(pid, column("twin_of"), flagged)
    # twins Juki-net's answers told apart: neither flagged as one, neither given a wrong number
    apart = {p: not flagged.get(p, False) for p in pid[~wrong].tolist()}
    twin_apart, _ = _pairs_flagged(pid, column("twin_of"), apart)
    kinds, places = column("lookalike_kind"), column("lookalike_place")
    wrong_by_case: dict[str, int] = {}
    wrong_by_lookalike: dict[str, int] = {}
    for i in np.flatnonzero(wrong).tolist():
        wrong_by_case[case[i] or "(no truth)"] = wrong_by_case.get(case[i] or "(no truth)", 0) + 1
        if kinds[i]:
            key = f"{kinds[i]}@{places[i] or 'unknown'}"
            wrong_by_lookalike[key] = wrong_by_lookalike.get(key, 0) + 1
    return {
        "residents": n,
        "wrong_numbers": int(wrong.sum()),
        "numbers_to_two_persons": shared,
        "clean_true_records": int(clean.sum()),
        "auto_recall": float((correct & clean).sum() / max(int(clean.sum()), 1)),
        "review_rate": float((dec == "review").sum() / max(n, 1)),
        "unanswered_pending": float(((dec == "pending") & unanswered).sum() / max(int(unanswered.sum()), 1)),
        "by_case": by_case,
        "duplicates_flagged": dup_flagged,
        "duplicates_total": dup_total,
        "twins_flagged": twin_flagged,
        "twins_told_apart": twin_apart,
        "twins_total": twin_total,
        "wrong_by_case": dict(sorted(wrong_by_case.items())),
        "wrong_by_lookalike": dict(sorted(wrong_by_lookalike.items())),
    }
