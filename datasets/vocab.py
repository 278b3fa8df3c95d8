"""The embedded reference tables under ``data/`` (names, towns, nationalities, statuses).

Everything is read once, on first use, from small TSV/JSON files shipped with the
package: the generator never downloads anything.
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pyarrow as pa

DATA_DIR = Path(__file__).parent / "data"


def rows_of(name: str) -> list[dict[str, str]]:
    with open(DATA_DIR / name, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def _probs(weights) -> np.ndarray:
    w = np.asarray(weights, dtype=np.float64)
    return w / w.sum()


@dataclass(frozen=True)
class NameTokens:
    """All name tokens of all groups; a person's name is a few indices into these."""

    alpha: pa.Array
    kanji: pa.Array  # null where the token has no kanji form
    kana: pa.Array
    pools: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]  # (group, role) -> (token ids, probs)

    def pool(self, group: str, role: str) -> tuple[np.ndarray, np.ndarray]:
        return self.pools[(group, role)]


@cache
def name_tokens() -> NameTokens:
    rows = rows_of("names.tsv")
    members: dict[tuple[str, str], list[int]] = {}
    for i, r in enumerate(rows):
        members.setdefault((r["group"], r["role"]), []).append(i)
    weights = np.array([float(r["weight"]) for r in rows])
    pools = {k: (np.array(v, dtype=np.int32), _probs(weights[v])) for k, v in members.items()}
    nullable = [None if r["kanji"] == "-" else r["kanji"] for r in rows]
    return NameTokens(
        alpha=pa.array([r["alpha"] for r in rows], type=pa.string()),
        kanji=pa.array(nullable, type=pa.string()),
        kana=pa.array([None if r["kana"] == "-" else r["kana"] for r in rows], type=pa.string()),
        pools=pools,
    )


@cache
def name_styles() -> dict[str, dict]:
    styles = json.loads((DATA_DIR / "name_styles.json").read_text(encoding="utf-8"))
    styles.pop("_doc", None)
    return styles


@cache
def group_names() -> list[str]:
    return list(name_styles())


@dataclass(frozen=True)
class Nationalities:
    codes: list[str]
    probs: np.ndarray
    group: np.ndarray  # index into group_names()


@cache
def nationalities() -> Nationalities:
    rows = rows_of("nationalities.tsv")
    groups = group_names()
    return Nationalities(
        codes=[r["nationality"] for r in rows],
        probs=_probs([float(r["weight"]) for r in rows]),
        group=np.array([groups.index(r["name_group"]) for r in rows], dtype=np.int16),
    )


@dataclass(frozen=True)
class Towns:
    prefecture: pa.Array
    municipality: pa.Array
    town: pa.Array
    chome_max: np.ndarray
    probs: np.ndarray  # prefecture share x town share within its prefecture


@cache
def towns() -> Towns:
    prefs = {r["prefecture"]: float(r["weight"]) for r in rows_of("prefectures.tsv")}
    rows = [r for r in rows_of("towns.tsv") if r["prefecture"] in prefs]
    w = np.array([float(r["weight"]) for r in rows])
    pref = np.array([r["prefecture"] for r in rows])
    share = np.zeros(len(rows))
    for p, pw in prefs.items():
        sel = pref == p
        if sel.any():
            share[sel] = pw * w[sel] / w[sel].sum()
    return Towns(
        prefecture=pa.array(pref.tolist(), type=pa.string()),
        municipality=pa.array([r["municipality"] for r in rows], type=pa.string()),
        town=pa.array([r["town"] for r in rows], type=pa.string()),
        chome_max=np.array([int(r["chome_max"]) for r in rows], dtype=np.int16),
        probs=_probs(share),
    )


@cache
def variant_pairs() -> tuple[list[str], list[str]]:
    """(from, to) characters: Japanese standard form <-> registered variant, both ways."""
    src, dst = [], []
    for r in rows_of("variants.tsv"):
        src.append(r["standard"])
        dst.append(r["variant"])
    for s, d in list(zip(src, dst)):
        if d not in src:
            src.append(d)
            dst.append(s)
    return src, dst


@cache
def simplified_pairs() -> tuple[list[str], list[str]]:
    """(正字, 简体字) characters."""
    rows = rows_of("simplified.tsv")
    return [r["seiji"] for r in rows], [r["simplified"] for r in rows]


@dataclass(frozen=True)
class Statuses:
    codes: pa.Array
    probs: np.ndarray
    periods: list[list[str]]
    work: pa.Array


@cache
def statuses() -> Statuses:
    rows = rows_of("statuses.tsv")
    return Statuses(
        codes=pa.array([r["status"] for r in rows], type=pa.string()),
        probs=_probs([float(r["weight"]) for r in rows]),
        periods=[r["periods"].split(";") for r in rows],
        work=pa.array([r["work_restriction"] for r in rows], type=pa.string()),
    )


@cache
def misc() -> dict:
    return json.loads((DATA_DIR / "misc.json").read_text(encoding="utf-8"))
