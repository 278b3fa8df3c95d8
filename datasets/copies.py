"""Copy data (副本) the agency provides to the 19 requesters, one row per person record.

Three kinds, as the assessment lists them: **E** entry/exit (latest movement: nationality,
date, kind, port, sequence), **C** residence card (mid-to-long-term residents: status of
residence, period and expiry of stay, permission kind and date, card number, issue and
expiry, work restriction, permission for activity outside status, designated-activities
notice 25/26/40/41), **S** special permanent resident certificate. Japanese relatives have
none. ``subject_id`` is an opaque per-record identifier for information exchange, never
derived from the My Number. ``no_auto_response_*`` (``1``/``0``) marks information held for
a person to confirm before it is sent.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import vocab
from .numbers import hex_ids
from .people import JAPANESE_RELATIVE, MID_LONG, SPECIAL_PERMANENT, People, render_birth_date, render_nationality
from .profile import Profile
from .textops import choose_str

ENTRY_EXIT_KINDS = ["entry", "reentry", "special_reentry", "departure"]
PERMISSION_KINDS = ["landing", "extension", "change", "acquisition", "permanent"]
NOTICES = ["25", "26", "40", "41"]


def _dates(days: np.ndarray, valid: np.ndarray) -> pa.Array:
    """datetime64[D] to ``YYYY-MM-DD`` strings, null where not ``valid``."""
    days = days.astype("datetime64[D]")
    month_start = days.astype("datetime64[M]")
    year = days.astype("datetime64[Y]").astype(np.int64) + 1970
    month = month_start.astype(np.int64) % 12 + 1
    day = (days - month_start.astype("datetime64[D]")).astype(np.int64) + 1
    text = render_birth_date(year, month, day)
    return pc.if_else(pa.array(valid), text, pa.scalar(None, pa.string()))


def add_months(days: np.ndarray, months: np.ndarray) -> np.ndarray:
    """Calendar month arithmetic, clamping to the month's last day (1/31 + 1M = 2/28)."""
    start = days.astype("datetime64[M]")
    offset = days - start.astype("datetime64[D]")
    target = start + months.astype("timedelta64[M]")
    last = (target + np.timedelta64(1, "M")).astype("datetime64[D]") - target.astype("datetime64[D]") - 1
    return target.astype("datetime64[D]") + np.minimum(offset, last)


def _period_months(period: str) -> int:
    """'4Y3M' -> 51; 'indefinite' -> -1."""
    if period == "indefinite":
        return -1
    years, _, rest = period.partition("Y") if "Y" in period else ("0", "", period)
    months = rest.rstrip("M") or "0"
    return int(years) * 12 + int(months)


def _flag(values: np.ndarray) -> pa.Array:
    return choose_str(["0", "1"], values.astype(np.int8))


def make_copies(rng: np.random.Generator, people: People, person_id: pa.Array, cards: pa.Array,
                profile: Profile) -> pa.Table:
    """The E/C/S copy data of every person record."""
    n = len(people)
    ref = np.datetime64(profile.reference_date, "D")
    birth = (people.year.astype(np.int64) - 1970).astype("datetime64[Y]").astype("datetime64[M]")
    birth = (birth + (np.maximum(people.month, 1).astype(np.int64) - 1).astype("timedelta64[M]")).astype("datetime64[D]")
    birth = birth + (np.maximum(people.day, 1).astype(np.int64) - 1).astype("timedelta64[D]")
    age_days = np.maximum((ref - birth).astype(np.int64), 1)
    foreign = people.klass != JAPANESE_RELATIVE
    mid = people.klass == MID_LONG
    sp = people.klass == SPECIAL_PERMANENT
    nationality = render_nationality(people.nationality)
    none = pa.scalar(None, pa.string())

    # E: latest entry/exit record
    misc = vocab.misc()
    kind_p = np.array([0.35, 0.20, 0.35, 0.10])
    kind = rng.choice(4, n, p=kind_p)
    kind = np.where(sp & (kind == 0), 2, kind)
    ee_date = ref - (rng.random(n) * np.minimum(age_days, 3 * 365)).astype("timedelta64[D]")
    port_w = np.asarray(misc["port_weights"], dtype=float)
    port = rng.choice(len(port_w), n, p=port_w / port_w.sum())
    seq = 1 + rng.geometric(0.15, n)
    ee = {
        "entry_exit_nationality": pc.if_else(pa.array(foreign), nationality, none),
        "entry_exit_date": _dates(ee_date, foreign),
        "entry_exit_kind": pc.if_else(pa.array(foreign), choose_str(ENTRY_EXIT_KINDS, kind), none),
        "entry_exit_port": pc.if_else(pa.array(foreign), choose_str(misc["ports"], port), none),
        "entry_exit_sequence": pc.if_else(pa.array(foreign), pa.array(seq).cast(pa.string()), none),
    }

    # C: residence card
    st = vocab.statuses()
    status = rng.choice(len(st.probs), n, p=st.probs)
    periods = [_period_months(p) for opts in st.periods for p in opts]
    period_text = [p for opts in st.periods for p in opts]
    first = np.cumsum([0] + [len(o) for o in st.periods])[:-1]
    count = np.array([len(o) for o in st.periods])
    period_idx = first[status] + (rng.random(n) * count[status]).astype(np.int64)
    months = np.array(periods)[period_idx]
    indefinite = months < 0
    status_code = pc.take(st.codes, pa.array(status))
    permanent = status == 0
    perm_kind = np.where(permanent, 4, rng.choice(4, n, p=[0.25, 0.45, 0.25, 0.05]))
    span = np.where(indefinite, 7 * 365, np.maximum(months, 1) * 30)
    perm_date = ref - (rng.random(n) * np.minimum(span, age_days)).astype("timedelta64[D]")
    expiry_stay = add_months(perm_date, np.where(indefinite, 0, months))
    card_expiry = np.where(indefinite, add_months(perm_date, np.full(n, 84)), expiry_stay)
    designated = status_code.to_numpy(zero_copy_only=False) == "designated_activities"
    notice = designated & (rng.random(n) < 0.4)
    studentish = np.isin(status_code.to_numpy(zero_copy_only=False), ["student", "dependent"])
    outside = np.where(studentish & (rng.random(n) < 0.55), 1, np.where(rng.random(n) < 0.02, 2, 0))
    rc = {
        "residence_card_nationality": pc.if_else(pa.array(mid), nationality, none),
        "residence_card_status": pc.if_else(pa.array(mid), status_code, none),
        "residence_card_designation_notice": pc.if_else(pa.array(mid & notice),
                                                        choose_str(NOTICES, rng.integers(0, 4, n)), none),
        "residence_card_period_of_stay": pc.if_else(pa.array(mid), choose_str(period_text, period_idx), none),
        "residence_card_expiry_of_stay": _dates(expiry_stay, mid & ~indefinite),
        "residence_card_permission_kind": pc.if_else(pa.array(mid), choose_str(PERMISSION_KINDS, perm_kind), none),
        "residence_card_permission_date": _dates(perm_date, mid),
        "residence_card_number": pc.if_else(pa.array(mid), cards, none),
        "residence_card_issue_date": _dates(perm_date, mid),
        "residence_card_expiry_date": _dates(card_expiry, mid),
        "residence_card_work_restriction": pc.if_else(pa.array(mid), pc.take(st.work, pa.array(status)), none),
        "residence_card_outside_activity": pc.if_else(
            pa.array(mid & (outside > 0)), choose_str(["", "comprehensive", "individual"], outside), none),
        "residence_card_outside_activity_date": _dates(perm_date, mid & (outside > 0)),
    }

    # S: special permanent resident certificate
    issue = ref - (rng.random(n) * np.minimum(7 * 365, age_days)).astype("timedelta64[D]")
    spc = {
        "sp_certificate_nationality": pc.if_else(pa.array(sp), nationality, none),
        "sp_certificate_number": pc.if_else(pa.array(sp), cards, none),
        "sp_certificate_issue_date": _dates(issue, sp),
        "sp_certificate_expiry_date": _dates(add_months(issue, np.full(n, 84)), sp),
    }

    rate = profile.copies["no_auto_response"]
    flags = {
        "no_auto_response_entry_exit": _flag(foreign & (rng.random(n) < rate)),
        "no_auto_response_residence_card": _flag(mid & (rng.random(n) < rate)),
        "no_auto_response_sp_certificate": _flag(sp & (rng.random(n) < rate)),
    }
    columns = {"subject_id": hex_ids(rng, n), "person_id": person_id, **ee, **rc, **spc, **flags}
    return pa.table({k: v.cast(pa.string()) for k, v in columns.items()})
