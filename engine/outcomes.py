"""The words of an outcome: the decisions a person gets and the reason codes behind them.

Shared by the decision rules (``reconcile.decide``), the output tables and the report, so
that the report explains exactly the codes the rules write.
"""
from __future__ import annotations

MATCH, REVIEW, NO_MATCH, PENDING, REJECTED = "match", "review", "no_match", "pending", "rejected"
DECISIONS = (MATCH, REVIEW, NO_MATCH, PENDING, REJECTED)

# Reason codes (short, machine-readable); the report explains each.
REASONS = {
    "strong_unique": "best candidate strong, runner-up weak, no rule fired",
    "held_number_confirmed": "Juki-net returned the number the agency already holds for this person",
    "unanswered": "no answer received; inquire again",
    "not_found": "Juki-net has no record for this person",
    "weak_candidates": "only records of other people came back",
    "uncertain": "best candidate neither strong nor weak",
    "ambiguous": "two or more candidates are plausible",
    "check_digit": "the returned number fails its check digit",
    "number_format": "the returned number is not 12 digits",
    "number_shared": "the same number would go to two or more persons",
    "held_by_other": "the returned number is already held by another person",
    "held_number_differs": "the person already holds a different number",
    "sex_mismatch": "sex contradicts on an otherwise strong candidate",
    "birth_date_mismatch": "birth date contradicts on an otherwise strong candidate",
    "gaiji": "a name holds characters outside Unicode (private use); a person must compare",
    "name_conflict": "one name notation agrees, another contradicts outright",
    "address_elsewhere": "the address is in another municipality: a moved person or a namesake",
    "weak_corroboration": "two of name, birth date and address fall short of full agreement",
    "response_invalid": "a response row for this person was malformed and quarantined",
    "namesake_risk": "the chance that the record is someone else's (a namesake or look-alike) exceeds the risk "
                     "budget (--max-risk): the name is common, or the address does not settle it",
    "duplicate_record": "the same human seems to stand twice in the agency's file (name, birth date and sex, or a "
                        "held or card number, shared with another row); the other row is named",
    "namesake_twin": "another resident shares name, birth date and sex: the 4 information cannot tell them apart",
}


__all__ = ["DECISIONS", "MATCH", "NO_MATCH", "PENDING", "REASONS", "REJECTED", "REVIEW"]
