"""The corruption model: how Juki-net's answer for the true person differs from the record.

The agency's record (``residents``) is rendered from a person's parts; the register's
answer for the same person (the true ``responses`` row) is rendered from the same parts
after the discrepancies below. Each kind is drawn independently with the probability
``[discrepancies].<code>`` of the profile, among the rows where it can apply ("eligible");
the applied codes are listed per resident in ``truth.discrepancies`` (``;``-joined, in
this table's order). A duplicate registration's two rows share one answer and one list.

| code | field | eligible | what the answer shows |
|---|---|---|---|
| alpha_drop_middle | name_alpha, name_kana | has a middle name | middle name missing (`NGUYEN AN`, `グエン アン`) |
| alpha_order | name_alpha | has a surname, unlike the rest (not YANG YANG) | surname last (`VAN AN NGUYEN`) |
| alpha_comma | name_alpha | surname, not reordered | comma after the surname (`NGUYEN, VAN AN`, `NGUYEN,VAN AN`) |
| alpha_truncate | name_alpha | 20+ characters | cut at 60-90% of its length (field limit) |
| alpha_typo | name_alpha | 4+ characters | one letter substituted, deleted, inserted or transposed |
| alpha_spacing | name_alpha | all | a space doubled, removed, or a trailing space |
| alpha_case | name_alpha | all | lower case or title case |
| alpha_width | name_alpha | all | full-width letters (`ＮＧＵＹＥＮ`), spaces maybe U+3000 |
| kanji_spacing | name_kanji | kanji recorded, has a surname | another separator between 姓 and 名 (U+3000, space, none) |
| kanji_simplified | name_kanji | Chinese name with a 正字 that has a simplified form | simplified characters (张 for 張) |
| kanji_variant | name_kanji | a character with a registered variant | one character swapped with its variant (髙/高, 﨑/崎, 𠮷/吉 ...) |
| kanji_pua | name_kanji | as kanji_variant, not already swapped | that character as a private-use code point (Juki-net 統一文字 outside Unicode) |
| kana_spacing | name_kana | kana recorded, has a surname | U+3000 and space exchanged |
| kana_voicing | name_kana | has a voiced kana | first voiced kana devoiced (ガ->カ) or ヂ->ジ, ヅ->ズ, ヴ->ブ, ヲ->オ |
| kana_small | name_kana | has a small kana | first small kana made large (ッ->ツ, ャ->ヤ) |
| kana_long_vowel | name_kana | has ー, or オ-row+ウ / エ-row+イ | ー dropped, or the vowel written as ー (コウ->コー) |
| kana_hiragana | name_kana | kana recorded | hiragana |
| kana_halfwidth | name_kana | kana recorded, not hiragana | half-width katakana (ｸﾞｴﾝ) |
| date_unknown | birth_date | all | known day (or month and day) given as 00; a record's unknown parts filled with 01 |
| date_swap | birth_date | day <= 12, day != month | day and month exchanged |
| date_typo | birth_date | not date_unknown/swap | year off by one, or day off by one |
| sex_mismatch | sex | all | the other sex |
| addr_moved | address | all | a newer real address (the person moved; near, by `[moves]`) |
| addr_notation | address | all | another notation (二丁目8番1号 / 2丁目8番1号 / 2-8-1; building form) |
| addr_hyphen | address | hyphen notation with a hyphen | hyphens as look-alikes (‐ − － ー ｰ ―) |
| addr_width | address | all | full-width digits and hyphens |
| addr_no_prefecture | address | all | prefecture omitted |
| addr_no_building | address | has a building | building and room dropped |

The register always knows the true sex (1/2) even where the record says 0 or 9.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np
import pyarrow as pa

from . import vocab
from .addresses import (
    HYPHENS,
    sample_moves,
    N_BUILDING_STYLES,
    N_STYLES,
    STYLE_ARABIC,
    STYLE_HYPHEN,
    render_address,
    sample_addresses,
)
from .names import render_alpha, render_kana, render_kanji, surname_is_rest
from .people import People, render_birth_date, render_sex
from .textops import (
    E_ROW,
    FULLWIDTH,
    FULLWIDTH_SPACE,
    KATA_TO_HIRA,
    O_ROW,
    SMALL_TO_LARGE,
    compact,
    contains_any,
    delete_at,
    devoice_kana,
    expand,
    from_matrix,
    halfwidth_kana,
    insert_after,
    lengths,
    lookup,
    map_all,
    map_first,
    scatter,
    strip_trailing,
    swap_with_next,
    take,
    to_matrix,
)

KINDS = (
    "alpha_drop_middle", "alpha_order", "alpha_comma", "alpha_truncate", "alpha_typo",
    "alpha_spacing", "alpha_case", "alpha_width",
    "kanji_spacing", "kanji_simplified", "kanji_variant", "kanji_pua",
    "kana_spacing", "kana_voicing", "kana_small", "kana_long_vowel", "kana_hiragana", "kana_halfwidth",
    "date_unknown", "date_swap", "date_typo",
    "sex_mismatch",
    "addr_moved", "addr_notation", "addr_hyphen", "addr_width", "addr_no_prefecture", "addr_no_building",
)
PUA_BASE = 0xE000


@dataclass
class Corrupted:
    """The true answers: contract columns, and which kinds were applied / could apply."""

    columns: dict[str, pa.Array]
    applied: np.ndarray  # (rows, len(KINDS)) bool
    eligible: np.ndarray  # (len(KINDS),) int64 counts of eligible rows

    def codes(self) -> pa.Array:
        """Per row the applied codes, ';'-joined ('' when none)."""
        bits = self.applied.astype(np.int64) @ (np.int64(1) << np.arange(len(KINDS), dtype=np.int64))
        patterns, inverse = np.unique(bits, return_inverse=True)
        text = [";".join(k for i, k in enumerate(KINDS) if p >> i & 1) for p in patterns.tolist()]
        return take(pa.array(text, type=pa.string()), inverse.ravel())


class _Flags:
    """Draws each kind's rows and remembers them."""

    def __init__(self, rng: np.random.Generator, n: int, rates: Mapping[str, float]):
        self.rng, self.n, self.rates = rng, n, rates
        self.applied = np.zeros((n, len(KINDS)), dtype=bool)
        self.eligible = np.zeros(len(KINDS), dtype=np.int64)

    def __call__(self, code: str, eligible: np.ndarray | None = None) -> np.ndarray:
        k = KINDS.index(code)
        elig = np.ones(self.n, dtype=bool) if eligible is None else eligible
        hit = elig & (self.rng.random(self.n) < self.rates.get(code, 0.0))
        self.eligible[k] = int(elig.sum())
        self.applied[:, k] = hit
        return hit


# --- alphabet ------------------------------------------------------------------

def _random_positions(rng, m: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """A uniformly random allowed column per row (rows must have one)."""
    keys = np.where(allowed, rng.random(m.shape), -1.0)
    return keys.argmax(axis=1)


def _typo(rng, m: np.ndarray) -> np.ndarray:
    """One keyboard-style slip per row at a letter."""
    n = len(m)
    letters = (m >= ord("A")) & (m <= ord("Z"))
    pos = _random_positions(rng, m, letters)
    op = rng.integers(0, 4, n)
    nxt = np.take_along_axis(m, np.minimum(pos + 1, m.shape[1] - 1)[:, None], 1)[:, 0]
    r = np.arange(n)
    cur = m[r, pos]
    # transposing needs a different letter next to it; otherwise substitute
    swappable = (nxt >= ord("A")) & (nxt <= ord("Z")) & (pos + 1 < m.shape[1]) & (nxt != cur)
    op = np.where((op == 3) & ~swappable, 0, op)
    out = np.concatenate([m, np.zeros((n, 1), dtype=m.dtype)], axis=1)
    new_letter = (ord("A") + (cur - ord("A") + rng.integers(1, 26, n)) % 26).astype(np.uint32)
    sub = op == 0
    out[r[sub], pos[sub]] = new_letter[sub]
    res = out
    for code, fn in ((1, lambda a, p: delete_at(a, p)),
                     (2, lambda a, p: insert_after(a, p, (ord("A") + rng.integers(0, 26, len(a))).astype(np.uint32))),
                     (3, lambda a, p: swap_with_next(a, p))):
        sel = np.flatnonzero(op == code)
        if len(sel):
            changed = fn(out[sel], pos[sel])
            if changed.shape[1] > res.shape[1]:
                res = np.concatenate([res, np.zeros((n, changed.shape[1] - res.shape[1]), res.dtype)], axis=1)
            res[sel, : changed.shape[1]] = changed
            res[sel, changed.shape[1]:] = 0
    return res


def _spacing(rng, m: np.ndarray) -> np.ndarray:
    """Double a space, remove one, or add a trailing one."""
    n = len(m)
    space = m == ord(" ")
    has_space = space.any(axis=1)
    variant = np.where(has_space, rng.integers(0, 3, n), 2)
    first_space = space.argmax(axis=1)
    out = np.concatenate([m, np.zeros((n, 1), dtype=m.dtype)], axis=1)
    dbl = np.flatnonzero(variant == 0)
    if len(dbl):
        out[dbl] = insert_after(m[dbl], first_space[dbl], np.full(len(dbl), ord(" "), np.uint32))
    rem = np.flatnonzero(variant == 1)
    if len(rem):
        out[rem, :-1] = delete_at(m[rem], first_space[rem])
        out[rem, -1] = 0
    pad = np.flatnonzero(variant == 2)
    if len(pad):
        out[pad, lengths(m[pad])] = ord(" ")
    return out


def _case(rng, m: np.ndarray) -> np.ndarray:
    """Lower case, or title case (first letter of each word kept upper)."""
    upper = (m >= ord("A")) & (m <= ord("Z"))
    prev = np.concatenate([np.full((len(m), 1), ord(" "), m.dtype), m[:, :-1]], axis=1)
    word_start = (prev == ord(" ")) | (prev == ord(","))
    title = (rng.random(len(m)) < 0.5)[:, None]
    lower = upper & ~(title & word_start)
    return np.where(lower, m + 32, m).astype(np.uint32)


def _alpha(rng, p: People, flag: _Flags) -> pa.Array:
    nm = p.names
    drop = flag("alpha_drop_middle", nm.mid >= 0)
    swap = flag("alpha_order", (nm.sur >= 0) & ~surname_is_rest(nm))
    comma = flag("alpha_comma", (nm.sur >= 0) & ~swap)
    sep = np.where(comma, rng.integers(1, 3, len(p)), 0)
    alpha = render_alpha(nm, sep=sep, swap=swap, drop_middle=drop)
    n_chars = pa.compute.utf8_length(alpha).to_numpy(zero_copy_only=False)
    trunc = flag("alpha_truncate", n_chars >= 20)
    typo = flag("alpha_typo", n_chars >= 4)
    spacing = flag("alpha_spacing")
    case = flag("alpha_case")
    width = flag("alpha_width")
    rows = np.flatnonzero(trunc | typo | spacing | case | width)
    if not len(rows):
        return alpha
    m = to_matrix(alpha.take(pa.array(rows)))
    sel = trunc[rows]
    if sel.any():
        sub = m[sel]
        ln = lengths(sub)
        cut = np.maximum(12, (ln * rng.uniform(0.6, 0.9, len(sub))).astype(np.int64))
        sub = np.where(np.arange(m.shape[1])[None, :] < cut[:, None], sub, 0).astype(np.uint32)
        m[sel] = strip_trailing(sub)
    for mask, fn in ((typo[rows], _typo), (spacing[rows], _spacing)):
        if mask.any():
            changed = fn(rng, compact(m[mask]))
            if changed.shape[1] > m.shape[1]:
                m = np.concatenate([m, np.zeros((len(m), changed.shape[1] - m.shape[1]), m.dtype)], axis=1)
            m[mask] = 0
            m[np.flatnonzero(mask)[:, None], np.arange(changed.shape[1])[None, :]] = changed
    sel = case[rows]
    if sel.any():
        m[sel] = _case(rng, m[sel])
    sel = width[rows]
    if sel.any():
        sub = map_all(m[sel], FULLWIDTH)
        wide_space = (rng.random(len(sub)) < 0.5)[:, None]
        m[sel] = np.where(wide_space, map_all(sub, FULLWIDTH_SPACE), sub)
    return scatter(alpha, rows, from_matrix(m))


# --- kanji and kana --------------------------------------------------------------

def _kanji(rng, p: People, flag: _Flags) -> pa.Array:
    nm = p.names
    n = len(p)
    sep = p.kanji_sep.copy()
    spaced = flag("kanji_spacing", nm.has_kanji & (nm.sur >= 0))
    sep[spaced] = (sep[spaced] + rng.integers(1, 3, int(spaced.sum()))) % 3
    kanji = render_kanji(nm, sep=sep)
    rows = np.flatnonzero(nm.has_kanji)
    m = to_matrix(kanji.take(pa.array(rows)))
    simp_table = lookup(*vocab.simplified_pairs())
    var_table = lookup(*vocab.variant_pairs())
    chinese = np.zeros(n, dtype=bool)
    chinese[rows] = (nm.group[rows] == vocab.group_names().index("CHN")) & contains_any(m, simp_table)
    simplified = flag("kanji_simplified", chinese)
    has_variant = np.zeros(n, dtype=bool)
    has_variant[rows] = contains_any(m, var_table)
    variant = flag("kanji_variant", has_variant)
    pua = flag("kanji_pua", has_variant & ~variant)
    pua_table = (var_table[0], (PUA_BASE + np.arange(len(var_table[0]))).astype(np.uint32))
    changed = (simplified | variant | pua)[rows]
    if not changed.any():
        return kanji
    for mask, fn in ((simplified[rows], lambda a: map_all(a, simp_table)),
                     (variant[rows], lambda a: map_first(a, var_table)),
                     (pua[rows], lambda a: map_first(a, pua_table))):
        if mask.any():
            m[mask] = fn(m[mask])
    sel = rows[changed]
    return scatter(kanji, sel, from_matrix(m[changed]))


def _long_vowel(m: np.ndarray) -> np.ndarray:
    """Drop the first ー; where there is none, write the first extended vowel as ー."""
    has_bar = (m == ord("ー")).any(axis=1)
    out = m.copy()
    rows = np.flatnonzero(has_bar)
    if len(rows):
        out[rows] = delete_at(m[rows], (m[rows] == ord("ー")).argmax(axis=1))
    rows = np.flatnonzero(~has_bar)
    if len(rows):
        sub = m[rows]
        prev = np.concatenate([np.zeros((len(sub), 1), sub.dtype), sub[:, :-1]], axis=1)
        ext = ((sub == ord("ウ")) & np.isin(prev, O_ROW)) | ((sub == ord("イ")) & np.isin(prev, E_ROW))
        col = ext.argmax(axis=1)
        sub[np.arange(len(sub)), col] = ord("ー")
        out[rows] = sub
    return out


def _long_vowel_eligible(m: np.ndarray) -> np.ndarray:
    prev = np.concatenate([np.zeros((len(m), 1), m.dtype), m[:, :-1]], axis=1)
    ext = ((m == ord("ウ")) & np.isin(prev, O_ROW)) | ((m == ord("イ")) & np.isin(prev, E_ROW))
    return (m == ord("ー")).any(axis=1) | ext.any(axis=1)


def _kana(rng, p: People, flag: _Flags, drop_middle: np.ndarray) -> pa.Array:
    nm = p.names
    n = len(p)
    sep = p.kana_sep.copy()
    spaced = flag("kana_spacing", nm.has_kana & (nm.sur >= 0))
    sep[spaced] = 1 - sep[spaced]
    kana = render_kana(nm, sep=sep, drop_middle=drop_middle)
    rows = np.flatnonzero(nm.has_kana)
    m = to_matrix(kana.take(pa.array(rows)))

    def spread(local: np.ndarray) -> np.ndarray:
        full = np.zeros(n, dtype=bool)
        full[rows] = local
        return full

    voicing = flag("kana_voicing", spread(contains_any(m, devoice_kana())))
    small = flag("kana_small", spread(contains_any(m, SMALL_TO_LARGE)))
    long_vowel = flag("kana_long_vowel", spread(_long_vowel_eligible(m)))
    hira = flag("kana_hiragana", nm.has_kana)
    half = flag("kana_halfwidth", nm.has_kana & ~hira)
    changed = (voicing | small | long_vowel | hira | half)[rows]
    if not changed.any():
        return kana
    for mask, fn in ((voicing[rows], lambda a: map_first(a, devoice_kana())),
                     (small[rows], lambda a: map_first(a, SMALL_TO_LARGE)),
                     (long_vowel[rows], _long_vowel),
                     (hira[rows], lambda a: map_all(a, KATA_TO_HIRA))):
        if mask.any():
            m[mask] = fn(m[mask])
    sel = half[rows]
    if sel.any():
        wide = expand(m[sel], *halfwidth_kana())
        if wide.shape[1] > m.shape[1]:
            m = np.concatenate([m, np.zeros((len(m), wide.shape[1] - m.shape[1]), m.dtype)], axis=1)
        m[sel] = 0
        m[np.flatnonzero(sel)[:, None], np.arange(wide.shape[1])[None, :]] = wide
    return scatter(kana, rows[changed], from_matrix(m[changed]))


# --- date, sex, address ------------------------------------------------------------

def _birth_date(rng, p: People, flag: _Flags) -> pa.Array:
    n = len(p)
    y, mo, d = p.year.astype(np.int64), p.month.astype(np.int64), p.day.astype(np.int64)
    known = (mo > 0) & (d > 0)
    unk = flag("date_unknown")
    blank_month = unk & known & (rng.random(n) < 0.3)
    d = np.where(unk & known, 0, np.where(unk & (d == 0), 1, d))
    mo = np.where(blank_month, 0, np.where(unk & (mo == 0), 1, mo))
    swap = flag("date_swap", known & (p.day <= 12) & (p.day != p.month) & ~unk)
    mo, d = np.where(swap, d, mo), np.where(swap, mo, d)
    typo = flag("date_typo", ~unk & ~swap)
    step = rng.choice([-1, 1], n)
    on_day = typo & (d > 0) & (rng.random(n) < 0.5)
    d = np.where(on_day, np.clip(d + step, 1, 28) + np.where(np.clip(d + step, 1, 28) == d, 1, 0), d)
    y = np.where(typo & ~on_day, y + step, y)
    return render_birth_date(y, mo, d)


def _address(rng, p: People, flag: _Flags, building_rate: float, moves) -> pa.Array:
    n = len(p)
    addr = p.address.copy()
    moved = flag("addr_moved")
    rows = np.flatnonzero(moved)
    addr.assign(rows, sample_moves(rng, addr.take(rows), building_rate, moves))
    style = p.addr_style.copy()
    bstyle = p.building_style.copy()
    notation = flag("addr_notation")
    k = int(notation.sum())
    new_style = (style + rng.integers(1, N_STYLES, n)) % N_STYLES
    # in a town without 丁目 and without 号, 123番地 reads the same in kanji and arabic style
    bare = (addr.chome == 0) & (addr.go == 0) & (np.maximum(style, new_style) <= STYLE_ARABIC)
    new_style = np.where(bare, STYLE_HYPHEN, new_style)
    style[notation] = new_style[notation]
    bstyle[notation] = rng.integers(0, N_BUILDING_STYLES, k)
    hyphen_rows = flag("addr_hyphen", (style == STYLE_HYPHEN) & ((addr.chome > 0) | (addr.go > 0)))
    hyphen = np.where(hyphen_rows, rng.integers(1, len(HYPHENS), n), 0)
    omit = flag("addr_no_prefecture")
    drop = flag("addr_no_building", addr.building >= 0)
    address = render_address(addr, style=style, building_style=bstyle, hyphen=hyphen,
                             omit_prefecture=omit, drop_building=drop)
    wide = flag("addr_width")
    rows = np.flatnonzero(wide)
    if len(rows):
        m = map_all(to_matrix(address.take(pa.array(rows))), FULLWIDTH)
        address = scatter(address, rows, from_matrix(m))
    return address


def corrupt_true_records(
    rng: np.random.Generator, people: People, rates: Mapping[str, float], *, building_rate: float,
    moves: Mapping[str, float],
) -> Corrupted:
    """The register's answers for ``people`` (the true persons), with discrepancies applied."""
    flag = _Flags(rng, len(people), rates)
    alpha = _alpha(rng, people, flag)
    kanji = _kanji(rng, people, flag)
    kana = _kana(rng, people, flag, flag.applied[:, KINDS.index("alpha_drop_middle")])
    birth = _birth_date(rng, people, flag)
    mismatch = flag("sex_mismatch")
    true_sex = np.where(people.male, 1, 2)
    sex = render_sex(np.where(mismatch, 3 - true_sex, true_sex))
    address = _address(rng, people, flag, building_rate, moves)
    columns = {
        "name_alpha": alpha,
        "name_kanji": kanji,
        "name_kana": kana,
        "birth_date": birth,
        "sex": sex,
        "address": address,
    }
    return Corrupted(columns, flag.applied, flag.eligible)
