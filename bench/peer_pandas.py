"""The baseline an engineer writes in an afternoon: pandas + rapidfuzz, a weighted sum.

Merge the found responses on the inquiry id, normalise every field with pandas ``str``
methods (NFKC, upper case, punctuation to spaces, whitespace squeezed; kanji and kana with
spaces removed; dates with ``/ . 年 月`` as ``-``), score each field with rapidfuzz on the
aligned pairs (``process.cpdist``, all cores), take the weighted mean over the fields both
sides have, and decide with hand-set thresholds and the shared safety rules
(:mod:`jukimatch.bench.peer_rules`). No model, no training.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .peer_rules import PeerThresholds, csv_encoding, decide, write_decisions

FIELDS = ("name_alpha", "name_kanji", "name_kana", "birth_date", "sex", "address")
#: hand-set field weights (names and birth date count most; a moved person has a new address)
WEIGHTS = {"name_alpha": 3.0, "name_kanji": 2.0, "name_kana": 2.0, "birth_date": 3.0, "sex": 1.0, "address": 1.0}
THRESHOLDS = PeerThresholds(match_at=0.90, runner_up_below=0.75, review_floor=0.60)


def _read(path: Path):
    import pandas as pd

    if path.suffix.lower() == ".csv":
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], encoding=csv_encoding(path))
    return pd.read_parquet(path).astype("string")


def _clean(s, *, kind: str):
    s = s.astype("string").str.normalize("NFKC").str.upper()
    if kind == "alpha":
        s = s.str.replace(r"[^A-Z ]", " ", regex=True).str.split().str.join(" ")
    elif kind in ("kanji", "kana", "address"):
        s = s.str.replace(r"\s+", "", regex=True)
    elif kind == "date":
        s = s.str.replace(r"[/.年月]", "-", regex=True).str.replace("日", "", regex=False).str.strip()
    else:
        s = s.str.strip()
    return s.mask(s == "")


def _scores(left, right, scorer) -> np.ndarray:
    from rapidfuzz import process

    return process.cpdist(left.fillna("").tolist(), right.fillna("").tolist(), scorer=scorer, workers=-1,
                          dtype=np.float32)


def run(residents_path: str | Path, responses_path: str | Path, out_dir: str | Path) -> dict:
    from rapidfuzz import fuzz
    from rapidfuzz.distance import JaroWinkler, Levenshtein

    t0 = time.perf_counter()
    timings = {}
    residents = _read(Path(residents_path))
    responses = _read(Path(responses_path))
    timings["read"] = time.perf_counter() - t0

    t = time.perf_counter()
    is_found = (responses["status"].str.strip() == "found").fillna(False).to_numpy(dtype=bool)
    found = responses[is_found]
    cols = ["person_id", *FIELDS]
    m = residents[cols].merge(found[[*cols, "my_number"]], on="person_id", suffixes=("_l", "_r"))
    kinds = {"name_alpha": "alpha", "name_kanji": "kanji", "name_kana": "kana", "birth_date": "date",
             "sex": "sex", "address": "address"}
    for f in FIELDS:
        for side in ("_l", "_r"):
            m[f + side] = _clean(m[f + side], kind=kinds[f])
    for side in ("_l", "_r"):  # 0 unknown and 9 not applicable carry no evidence
        m["sex" + side] = m["sex" + side].mask(~m["sex" + side].isin(["1", "2"]))
    timings["normalise"] = time.perf_counter() - t

    t = time.perf_counter()
    total = np.zeros(len(m))
    weight_sum = np.zeros(len(m))
    scorers = {
        "name_alpha": lambda a, b: _scores(a, b, fuzz.token_set_ratio) / 100.0,
        "name_kanji": lambda a, b: _scores(a, b, JaroWinkler.normalized_similarity),
        "name_kana": lambda a, b: _scores(a, b, JaroWinkler.normalized_similarity),
        "birth_date": lambda a, b: _scores(a, b, Levenshtein.normalized_similarity),
        "sex": lambda a, b: (a.fillna("") == b.fillna("")).to_numpy(dtype=float),
        "address": lambda a, b: _scores(a, b, fuzz.ratio) / 100.0,
    }
    for f in FIELDS:
        a, b = m[f + "_l"], m[f + "_r"]
        both = (a.notna() & b.notna()).to_numpy()
        s = np.asarray(scorers[f](a, b), dtype=float).reshape(-1)
        total += np.where(both, WEIGHTS[f] * s, 0.0)
        weight_sum += np.where(both, WEIGHTS[f], 0.0)
    score = np.divide(total, weight_sum, out=np.zeros(len(m)), where=weight_sum > 0)
    timings["compare"] = time.perf_counter() - t

    t = time.perf_counter()
    held = residents["my_number"] if "my_number" in residents.columns else [None] * len(residents)
    table = decide(residents["person_id"], held, responses["person_id"], is_found, m["person_id"],
                   m["my_number"], score, np.full(len(m), np.nan), THRESHOLDS)
    write_decisions(table, out_dir)
    timings["decide_write"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - t0
    return {"pairs": int(len(m)), "timings_s": {k: round(v, 4) for k, v in timings.items()},
            "config": {"weights": WEIGHTS, "thresholds": THRESHOLDS.to_dict()}}
