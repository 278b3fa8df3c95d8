"""People's names as indices into the token tables, and their rendering per script.

A name is kept as parts (surname, up to three given tokens, one middle token) so that
the corruption model can drop a middle name or swap the order before anything becomes a
string. How parts combine follows each nationality's real form (``data/name_styles.json``):
``NGUYEN VAN AN`` (surname, middle, given), ``DELA CRUZ MARIA CRISTINA SANTOS`` (surname,
given, mother's surname), single names for Indonesia and Myanmar, kanji for Chinese,
Taiwanese, Korean and Japanese people (Japanese relatives may carry registered variants
such as 髙橋 or 𠮷田 straight from the token table).
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import vocab
from .textops import choose_str, join, take

ALPHA_SEPS = [" ", ", ", ","]  # between surname and the rest (comma is a discrepancy)
KANJI_SEPS = ["\u3000", " ", ""]
KANA_SEPS = ["\u3000", " "]


@dataclass
class Names:
    group: np.ndarray  # int16, index into vocab.group_names()
    sur: np.ndarray  # int32 token id, -1 = no surname
    giv: np.ndarray  # (n, 3) int32 token ids, -1 = unused slot
    mid: np.ndarray  # int32 token id, -1 = no middle name
    has_kanji: np.ndarray  # bool
    has_kana: np.ndarray  # bool

    def take(self, rows: np.ndarray) -> "Names":
        return Names(**{f.name: getattr(self, f.name)[rows] for f in fields(self)})

    def copy(self) -> "Names":
        return Names(**{f.name: getattr(self, f.name).copy() for f in fields(self)})


def _group_arrays() -> tuple[np.ndarray, np.ndarray]:
    styles = vocab.name_styles()
    smg = np.array([styles[g]["order"] == "smg" for g in styles])
    spaced = np.array([styles[g]["given_join"] == " " for g in styles])
    return smg, spaced


def _draw(rng: np.random.Generator, group: str, role: str, size: int) -> np.ndarray:
    ids, probs = vocab.name_tokens().pool(group, role)
    return ids[rng.choice(len(ids), size=size, p=probs)]


def draw_sexed(rng, group: str, role: str, male: np.ndarray) -> np.ndarray:
    """Token per row from the male or female pool of ``role`` ('giv' or 'mid')."""
    out = np.empty(len(male), dtype=np.int32)
    out[male] = _draw(rng, group, f"{role}_m", int(male.sum()))
    out[~male] = _draw(rng, group, f"{role}_f", int((~male).sum()))
    return out


def sample_names(rng: np.random.Generator, group: np.ndarray, male: np.ndarray) -> Names:
    """Names for people of the given name groups and sexes."""
    n = len(group)
    sur = np.full(n, -1, dtype=np.int32)
    giv = np.full((n, 3), -1, dtype=np.int32)
    mid = np.full(n, -1, dtype=np.int32)
    has_kanji = np.zeros(n, dtype=bool)
    has_kana = np.zeros(n, dtype=bool)
    for gi, gname in enumerate(vocab.group_names()):
        rows = np.flatnonzero(group == gi)
        if not len(rows):
            continue
        st = vocab.name_styles()[gname]
        m = male[rows]
        k = len(rows)
        if st["p_surname"] > 0:
            s = _draw(rng, gname, "sur", k)
            sur[rows] = np.where(rng.random(k) < st["p_surname"], s, -1)
        count = 1 + rng.choice(3, size=k, p=np.asarray(st["n_given"]) / sum(st["n_given"]))
        for t in range(3):
            tokens = draw_sexed(rng, gname, "giv", m)
            giv[rows, t] = np.where(count > t, tokens, -1)
        if st["mid_from"] and st["p_middle"] > 0:
            if st["mid_from"] == "sur":
                tok = _draw(rng, gname, "sur", k)
            else:
                tok = draw_sexed(rng, gname, "mid" if st["mid_from"] == "mid" else "giv", m)
            mid[rows] = np.where(rng.random(k) < st["p_middle"], tok, -1)
        has_kanji[rows] = rng.random(k) < st["kanji_rate"]
        has_kana[rows] = rng.random(k) < st["kana_rate"]
    return Names(group.astype(np.int16), sur, giv, mid, has_kanji, has_kana)


def with_other_given(rng: np.random.Generator, names: Names, male: np.ndarray) -> Names:
    """The same people with their first given token redrawn (a different given name)."""
    out = names.copy()
    for gi, gname in enumerate(vocab.group_names()):
        rows = np.flatnonzero(names.group == gi)
        if len(rows):
            new = draw_sexed(rng, gname, "giv", male[rows])
            for _ in range(8):  # small name lists: redraw until every row differs
                same = new == out.giv[rows, 0]
                if not same.any():
                    break
                new[same] = draw_sexed(rng, gname, "giv", male[rows][same])
            out.giv[rows, 0] = new
    return out


def _given(names: Names, tokens: pa.Array, sep) -> pa.Array:
    return join(*(take(tokens, names.giv[:, t]) for t in range(3)), sep=sep)


def _rest(names: Names, tokens: pa.Array, given_sep, drop_middle: np.ndarray | None) -> pa.Array:
    """Given and middle tokens in the group's order (VNM/LATIN: middle first)."""
    smg, _ = _group_arrays()
    mid_ids = names.mid if drop_middle is None else np.where(drop_middle, -1, names.mid)
    given = _given(names, tokens, given_sep)
    middle = take(tokens, mid_ids)
    mid_first = pa.array(smg[names.group])
    return pc.if_else(mid_first, join(middle, given, sep=" "), join(given, middle, sep=" "))


def _given_seps(names: Names) -> pa.Array:
    _, spaced = _group_arrays()
    return choose_str(["", " "], spaced[names.group].astype(np.int8))


def render_alpha(
    names: Names,
    *,
    sep: np.ndarray | None = None,
    swap: np.ndarray | None = None,
    drop_middle: np.ndarray | None = None,
) -> pa.Array:
    """Passport-order alphabet name; ``sep`` indexes ALPHA_SEPS, ``swap`` puts the surname last."""
    n = len(names.group)
    tokens = vocab.name_tokens().alpha
    rest = _rest(names, tokens, _given_seps(names), drop_middle)
    sur = take(tokens, names.sur)
    seps = choose_str(ALPHA_SEPS, np.zeros(n, np.int8) if sep is None else sep)
    normal = join(sur, rest, sep=seps)
    if swap is None or not swap.any():
        return normal
    return pc.if_else(pa.array(swap), join(rest, sur, sep=" "), normal)


def surname_is_rest(names: Names) -> np.ndarray:
    """True where the alphabet surname equals the rest of the name (YANG YANG): order is moot."""
    tokens = vocab.name_tokens().alpha
    same = pc.equal(take(tokens, names.sur), _rest(names, tokens, _given_seps(names), None))
    return pc.fill_null(same, False).to_numpy(zero_copy_only=False)


def render_kanji(names: Names, *, sep: np.ndarray) -> pa.Array:
    """Kanji name ``姓<sep>名`` (``sep`` indexes KANJI_SEPS); null where none is recorded."""
    tokens = vocab.name_tokens().kanji
    full = join(take(tokens, names.sur), _given(names, tokens, ""), sep=choose_str(KANJI_SEPS, sep))
    return pc.if_else(pa.array(names.has_kanji), full, pa.scalar(None, pa.string()))


def render_kana(names: Names, *, sep: np.ndarray, drop_middle: np.ndarray | None = None) -> pa.Array:
    """Katakana name in alphabet order (``sep`` indexes KANA_SEPS); null where none is recorded."""
    tokens = vocab.name_tokens().kana
    rest = _rest(names, tokens, _given_seps(names), drop_middle)
    full = join(take(tokens, names.sur), rest, sep=choose_str(KANA_SEPS, sep))
    return pc.if_else(pa.array(names.has_kana), full, pa.scalar(None, pa.string()))

