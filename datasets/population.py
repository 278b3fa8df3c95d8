"""A whole synthetic population: the agency's records, Juki-net's answers, and the truth.

Case kinds (one per resident row, drawn with the profile's ``[cases]`` shares):

| case | response rows | true_my_number |
|---|---|---|
| found | the true record (with discrepancies) | the person's number |
| not_found | one ``not_found`` row | null: no record on the register |
| unanswered | none | the person's number (a resend would find it) |
| lookalike_only | one found row of a similar other person | null: no record of their own |
| true_plus_lookalike | the true record and a look-alike's, in random order | the person's number |
| bad_check_digit | the true record, its number's check digit corrupted | the valid number |
| duplicate_registration | each of two person_ids (one human) answered with the same record and number (or the second with ``not_found``, ``[duplicates] one_answered``) | shared |
| absent_namesake | one found row of a namesake (same name, birth date, sex), placed by ``[namesakes]``; or the person's registered twin's record (``lookalike_kind`` ``namesake_twin``) | null: no record of their own |

Profiles add more (all off in the default): namesake twins (two residents, two humans, the
same name, birth date and sex; ``twin_of``), communities and dormitories (``housing``), a
heavy head of common names. ``lookalike_place`` says where a look-alike lives relative to the
person (``same_block``, ``same_town``, ``same_municipality``, ``elsewhere``).

Every number handed out (true, look-alike, wrongly held) is distinct and passes the
official check, except the corrupted ones of ``bad_check_digit``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .addresses import Address, N_BUILDING_STYLES, N_STYLES, render_address, sample_addresses, sample_elsewhere
from .copies import make_copies
from .corrupt import KINDS, corrupt_true_records
from .names import render_alpha, render_kana, render_kanji, with_other_given
from .numbers import card_strings, corrupt_check_digit, unique_my_numbers, zero_padded
from .people import (
    JAPANESE_RELATIVE,
    People,
    render_birth_date,
    render_class,
    render_nationality,
    render_sex,
    sample_people,
)
from .namesakes import bearers, namesake_chance, pair_twins, shape_names
from .people import MID_LONG, nationality_codes
from .places import (
    DORM_AGES,
    INTERN_NATIONALITIES,
    ELSEWHERE,
    SAME_BLOCK,
    SAME_MUNICIPALITY,
    SAME_TOWN,
    another_room,
    draw_places,
    place_communities,
    place_dormitories,
    place_near,
    relative_place,
)
from .profile import CASE_KINDS, PLACES, Profile, load_profile
from .textops import choose_str, take

(FOUND, NOT_FOUND, UNANSWERED, LOOKALIKE_ONLY, TRUE_PLUS_LOOKALIKE, BAD_CHECK_DIGIT, DUPLICATE,
 ABSENT_NAMESAKE) = range(8)
HAS_RECORD = (FOUND, UNANSWERED, TRUE_PLUS_LOOKALIKE, BAD_CHECK_DIGIT, DUPLICATE)
LOOKALIKE_KINDS = ("namesake_other_birth_date", "same_birth_date_other_given", "identical_name_and_birth_date")
HELD_KINDS = ("none", "true", "wrong")

RESIDENT_COLUMNS = ("person_id", "resident_class", "name_alpha", "name_kanji", "name_kana", "birth_date",
                    "sex", "nationality", "address", "card_number", "my_number")
RESPONSE_COLUMNS = ("person_id", "status", "my_number", "name_alpha", "name_kanji", "name_kana",
                    "birth_date", "sex", "address")
TRUTH_COLUMNS = ("person_id", "true_my_number", "case", "discrepancies", "held_number_kind",
                 "duplicate_of", "lookalike_kind", "lookalike_my_number",
                 "twin_of", "lookalike_place", "housing")
HOUSING = ("community", "dormitory")


def _cases(rng: np.random.Generator, n: int, shares: Mapping[str, float]) -> tuple[np.ndarray, np.ndarray]:
    """Case per row, and the partner row of duplicate registrations (-1 elsewhere)."""
    p = np.array([shares[c] for c in CASE_KINDS])
    case = rng.choice(len(CASE_KINDS), size=n, p=p / p.sum()).astype(np.int8)
    dup = np.flatnonzero(case == DUPLICATE)
    if len(dup) % 2:
        case[dup[-1]] = FOUND
        dup = dup[:-1]
    partner = np.full(n, -1, dtype=np.int64)
    first, second = dup[0::2], dup[1::2]
    partner[first], partner[second] = second, first
    return case, partner


def _render_record(people: People) -> dict[str, pa.Array]:
    """The four basic information and names of ``people`` as they were recorded."""
    return {
        "name_alpha": render_alpha(people.names),
        "name_kanji": render_kanji(people.names, sep=people.kanji_sep),
        "name_kana": render_kana(people.names, sep=people.kana_sep),
        "birth_date": render_birth_date(people.year, people.month, people.day),
        "sex": render_sex(people.sex),
        "address": render_address(people.address, style=people.addr_style, building_style=people.building_style),
    }


def _lookalikes(rng: np.random.Generator, people: People, profile: Profile,
                extra: np.random.Generator) -> tuple[dict[str, pa.Array], np.ndarray, np.ndarray]:
    """Records of other people similar to ``people`` (name and/or birth date), their kind and place."""
    n = len(people)
    look = people.copy()
    p = np.array([profile.lookalike[k] for k in LOOKALIKE_KINDS])
    kind = rng.choice(3, size=n, p=p / p.sum())
    # kind 0: same name, a nearby birth date
    k0 = kind == 0
    shift_year = k0 & ((rng.random(n) < 0.5) | (look.day == 0))
    look.year = np.where(shift_year, look.year + rng.choice([-2, -1, 1, 2], n), look.year).astype(np.int16)
    new_day = 1 + (look.day + rng.integers(0, 27, n)) % 28
    look.day = np.where(k0 & ~shift_year, new_day, look.day).astype(np.int8)
    # kind 1: same surname and birth date, another given name
    k1 = np.flatnonzero(kind == 1)
    if len(k1):
        other = with_other_given(rng, look.names.take(k1), look.male[k1])
        look.names.giv[k1] = other.giv
    # in the default every look-alike lives elsewhere; a profile may bring them closer (extra draws)
    look.address = sample_elsewhere(rng, people.address, profile.population["building"])
    if profile.namesakes["elsewhere"] < 1:
        place = draw_places(extra, n, profile.namesakes)
        look.address = place_near(extra, people.address, place, profile.population["building"])
    # each registered in its own notation
    look.addr_style = rng.integers(0, N_STYLES, n).astype(np.int8)
    look.building_style = rng.integers(0, N_BUILDING_STYLES, n).astype(np.int8)
    look.kanji_sep = rng.integers(0, 3, n).astype(np.int8)
    look.kana_sep = rng.integers(0, 2, n).astype(np.int8)
    look.sex = np.where(look.male, 1, 2).astype(np.int8)
    return _render_record(look), kind, relative_place(people.address, look.address)


def _namesakes(rng: np.random.Generator, people: People, profile: Profile, by_twin: np.ndarray,
               twin_address: Address) -> tuple[dict[str, pa.Array], np.ndarray]:
    """Register records of namesakes of ``people`` (same name, birth date, sex) and where they live.

    Where ``by_twin``, the namesake is the person's twin in the file, living at ``twin_address``.
    """
    n = len(people)
    look = people.copy()
    place = draw_places(rng, n, profile.namesakes)
    look.address = place_near(rng, people.address, place, profile.population["building"])
    look.address.assign(np.flatnonzero(by_twin), twin_address)
    look.addr_style = rng.integers(0, N_STYLES, n).astype(np.int8)
    look.building_style = rng.integers(0, N_BUILDING_STYLES, n).astype(np.int8)
    look.kanji_sep = rng.integers(0, 3, n).astype(np.int8)
    look.kana_sep = rng.integers(0, 2, n).astype(np.int8)
    look.sex = np.where(look.male, 1, 2).astype(np.int8)
    return _render_record(look), relative_place(people.address, look.address)


def _housing(extra: np.random.Generator, people: People, prof: Profile) -> np.ndarray:
    """Move people into communities and dormitories as the profile asks; housing per row (-1: none)."""
    n = len(people)
    housing = np.full(n, -1, dtype=np.int8)
    codes, _ = nationality_codes()
    building = prof.population["building"]
    if prof.communities["share"] > 0:
        moved = place_communities(extra, people.address, people.nationality, codes, prof.communities["share"], building)
        housing[moved] = HOUSING.index("community")
    if prof.dormitories["share"] > 0:
        age = int(prof.reference_date[:4]) - people.year.astype(np.int64)
        interns = np.isin(people.nationality, [codes.index(c) for c in INTERN_NATIONALITIES])
        eligible = (people.klass == MID_LONG) & interns & (age >= DORM_AGES[0]) & (age <= DORM_AGES[1])
        group = people.nationality.astype(np.int64) * 2 + people.male
        dorm = place_dormitories(extra, people.address, eligible, group, prof.dormitories["share"])
        housing[dorm >= 0] = HOUSING.index("dormitory")
    return housing


def _concat(parts: list[pa.Array], order: np.ndarray) -> pa.Array:
    return pa.concat_arrays([p.cast(pa.string()) for p in parts]).take(pa.array(order))


def make_population(
    n_residents: int,
    *,
    seed: int = 0,
    profile: "Profile | Mapping[str, Any] | str | Path | None" = None,
) -> dict[str, pa.Table]:
    """Tables ``residents``, ``responses``, ``truth`` and ``copies`` (all columns strings)."""
    if int(n_residents) != n_residents or n_residents < 1:
        raise ValueError(f"n_residents must be a positive integer, got {n_residents!r}")
    n = int(n_residents)
    prof = load_profile(profile)
    rng = np.random.default_rng(seed)
    case, partner = _cases(rng, n, prof.cases)
    people = sample_people(rng, n, prof)
    # phenomena of other profiles draw from their own stream: the default's stays as it was
    extra = np.random.default_rng([seed, 12])
    codes, _ = nationality_codes()
    if prof.names["head"] > 0 or prof.names["long_tail"] > 0:
        shape_names(extra, people, codes, prof.names["head"], prof.names["long_tail"])
    housing = _housing(extra, people, prof)

    # duplicate registration: the second record is the same human, registered again
    dups = prof.duplicates
    first = np.flatnonzero((case == DUPLICATE) & (partner > np.arange(n)))
    second = partner[first]
    people.assign(second, people.take(first),
                  skip=("card", "address", "addr_style", "building_style", "kanji_sep", "kana_sep"))
    same_place = rng.random(len(first)) < dups["same_address"]
    people.address.assign(second[same_place], people.address.take(first[same_place]))
    if dups["near"] > 0:
        near = np.flatnonzero(~same_place & (extra.random(len(first)) < dups["near"]))
        kind = extra.choice([SAME_BLOCK, SAME_TOWN, SAME_MUNICIPALITY], size=len(near))
        people.address.assign(second[near], place_near(extra, people.address.take(first[near]), kind,
                                                       prof.population["building"]))
    if dups["same_card"] > 0:
        same_card = extra.random(len(first)) < dups["same_card"]
        people.card[second[same_card]] = people.card[first[same_card]]
    unanswered_copy = second[extra.random(len(first)) < dups["one_answered"]] if dups["one_answered"] > 0 \
        else np.zeros(0, dtype=np.int64)
    kept = same_place.copy()
    if dups["near"] > 0:
        kept[near] = True
    housing[second] = np.where(kept, housing[first], -1)

    # namesake twins: two humans the 4 information cannot tell apart, placed by [namesakes]
    twin = np.full(n, -1, dtype=np.int64)
    if prof.namesakes["twins"] > 0:
        t1, t2 = pair_twins(extra, people, case != DUPLICATE, prof.namesakes["twins"])
        place = draw_places(extra, len(t1), prof.namesakes)
        people.address.assign(t2, place_near(extra, people.address.take(t1), place, prof.population["building"]))
        housing[t2] = np.where(place == ELSEWHERE, -1, housing[t1])
        twin[t1], twin[t2] = t2, t1
    if prof.dormitories["twins"] > 0:  # a namesake in the same dormitory: another room of it
        dorm = housing == HOUSING.index("dormitory")
        t1, t2 = pair_twins(extra, people, dorm & (case != DUPLICATE) & (twin < 0),
                            prof.dormitories["twins"] * dorm.sum() / n)
        people.address.assign(t2, another_room(extra, people.address.take(t1)))
        twin[t1], twin[t2] = t2, t1
    # absent persons whom Juki-net answers with a namesake, the more likely the commoner the name
    if prof.namesakes["absent_answered"] > 0:
        absent = np.flatnonzero(case == NOT_FOUND)
        chance = namesake_chance(bearers(people.names)[absent], prof.namesakes["absent_answered"])
        case[absent[extra.random(len(absent)) < chance]] = ABSENT_NAMESAKE
    namesake_rows = np.flatnonzero(case == ABSENT_NAMESAKE)
    # a registered namesake twin in the file is the namesake Juki-net finds: its number answers two
    by_twin = np.zeros(len(namesake_rows), dtype=bool)
    if prof.namesakes["answered_by_twin"] > 0:
        tw = twin[namesake_rows]
        by_twin = ((tw >= 0) & np.isin(case[np.maximum(tw, 0)], HAS_RECORD)
                   & (extra.random(len(namesake_rows)) < prof.namesakes["answered_by_twin"]))

    # numbers: true ones, look-alikes' and wrongly held ones, all distinct
    has_record = np.isin(case, HAS_RECORD)
    look_rows = np.flatnonzero(np.isin(case, (LOOKALIKE_ONLY, TRUE_PLUS_LOOKALIKE)))
    held_true = has_record & (rng.random(n) < prof.held_number["true"])
    held_wrong = ~held_true & (rng.random(n) < prof.held_number["wrong"])
    n_look = len(look_rows) + len(namesake_rows)
    pool = unique_my_numbers(rng, n + n_look + int(held_wrong.sum()))
    true_number = np.where(has_record, pool[:n], -1)
    true_number[second] = true_number[first]
    look_number = pool[n: n + len(look_rows)]
    namesake_number = pool[n + len(look_rows): n + n_look].copy()
    namesake_number[by_twin] = true_number[twin[namesake_rows[by_twin]]]
    held = np.full(n, -1, dtype=np.int64)
    held[held_true] = true_number[held_true]
    held[held_wrong] = pool[n + n_look:]
    held_kind = np.where(held_true, 1, np.where(held_wrong, 2, 0))

    person_id = zero_padded(rng.choice(10**10, size=n, replace=False), 10)
    cards = card_strings(np.where(people.klass == JAPANESE_RELATIVE, -1, people.card))
    residents = {
        "person_id": person_id,
        "resident_class": render_class(people.klass),
        **_render_record(people),
        "nationality": render_nationality(people.nationality),
        "card_number": cards,
        "my_number": zero_padded(held, 12),
    }

    # true answers: corrupt once per human; a duplicate's second row repeats the first's answer
    answered = np.flatnonzero(np.isin(case, (FOUND, TRUE_PLUS_LOOKALIKE, BAD_CHECK_DIGIT, DUPLICATE))
                              & ~np.isin(np.arange(n), second))
    corrupted = corrupt_true_records(rng, people.take(answered), prof.discrepancies,
                                     building_rate=prof.population["building"], moves=prof.moves)
    answer_number = true_number[answered].copy()
    bad = case[answered] == BAD_CHECK_DIGIT
    answer_number[bad] = corrupt_check_digit(rng, answer_number[bad])
    slot = np.full(n, -1, dtype=np.int64)
    slot[answered] = np.arange(len(answered))
    repeated = ~np.isin(second, unanswered_copy)
    true_rows = np.r_[answered, second[repeated]]
    source = np.r_[np.arange(len(answered)), slot[first[repeated]]]
    codes_answered = corrupted.codes()
    discrepancies = take(codes_answered, slot.copy())
    discrepancies = pc.if_else(pa.array(np.isin(np.arange(n), second[repeated])),
                               take(codes_answered, np.where(partner >= 0, slot[np.maximum(partner, 0)], -1)),
                               discrepancies)
    discrepancies = pc.fill_null(discrepancies, "")

    look_cols, look_kind, look_place = _lookalikes(rng, people.take(look_rows), prof, extra)
    name_cols, name_place = _namesakes(extra, people.take(namesake_rows), prof, by_twin,
                                       people.address.take(twin[namesake_rows[by_twin]]))
    not_found = np.sort(np.r_[np.flatnonzero(case == NOT_FOUND), unanswered_copy]).astype(np.int64)

    row_of = np.r_[true_rows, look_rows, namesake_rows, not_found]
    order = np.lexsort((rng.random(len(row_of)), row_of))
    src = pa.array(source)
    nulls = pa.nulls(len(not_found), pa.string())
    n_found = len(true_rows) + len(look_rows) + len(namesake_rows)
    responses = {
        "person_id": person_id.take(pa.array(row_of[order])),
        "status": _concat([choose_str(["found"], np.zeros(n_found, np.int8)),
                           choose_str(["not_found"], np.zeros(len(not_found), np.int8))], order),
        "my_number": _concat([zero_padded(answer_number, 12).take(src), zero_padded(look_number, 12),
                              zero_padded(namesake_number, 12), nulls], order),
    }
    for col in ("name_alpha", "name_kanji", "name_kana", "birth_date", "sex", "address"):
        responses[col] = _concat([corrupted.columns[col].take(src), look_cols[col], name_cols[col], nulls], order)

    look_kind_full = np.full(n, -1)
    look_kind_full[look_rows] = look_kind
    look_kind_full[namesake_rows] = np.where(by_twin, len(LOOKALIKE_KINDS), LOOKALIKE_KINDS.index(
        "identical_name_and_birth_date"))
    look_number_full = np.full(n, -1, dtype=np.int64)
    look_number_full[look_rows] = look_number
    look_number_full[namesake_rows] = namesake_number
    place_full = np.full(n, -1)
    place_full[look_rows] = look_place
    place_full[namesake_rows] = name_place
    truth = {
        "person_id": person_id,
        "true_my_number": zero_padded(true_number, 12),
        "case": choose_str(list(CASE_KINDS), case),
        "discrepancies": discrepancies,
        "held_number_kind": choose_str(list(HELD_KINDS), held_kind),
        "duplicate_of": take(person_id, partner),
        "lookalike_kind": take(pa.array(LOOKALIKE_KINDS + ("namesake_twin",)), look_kind_full),
        "lookalike_my_number": zero_padded(look_number_full, 12),
        "twin_of": take(person_id, twin),
        "lookalike_place": take(pa.array(PLACES), place_full),
        "housing": take(pa.array(HOUSING), housing),
    }
    copies = make_copies(rng, people, person_id, cards, prof)

    def table(cols: dict[str, pa.Array], names: tuple[str, ...]) -> pa.Table:
        return pa.table({c: cols[c].cast(pa.string()) for c in names})

    return {
        "residents": table(residents, RESIDENT_COLUMNS),
        "responses": table(responses, RESPONSE_COLUMNS),
        "truth": table(truth, TRUTH_COLUMNS),
        "copies": copies,
    }


def discrepancy_counts(truth: pa.Table) -> dict[str, int]:
    """How many resident rows carry each discrepancy code."""
    codes = pc.split_pattern(pc.fill_null(truth["discrepancies"], ""), ";")
    flat = pc.list_flatten(codes)
    counts = {k: 0 for k in KINDS}
    for item in pc.value_counts(flat).to_pylist():
        if item["values"]:
            counts[item["values"]] = int(item["counts"])
    return counts


def case_counts(truth: pa.Table) -> dict[str, int]:
    counts = {k: 0 for k in CASE_KINDS}
    for item in pc.value_counts(truth["case"]).to_pylist():
        counts[item["values"]] = int(item["counts"])
    return counts
