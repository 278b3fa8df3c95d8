"""Splink 5 on DuckDB, set up the way a competent Splink user would for this data.

- Cleaning before Splink, in pyarrow: NFKC and upper case for every field; alphabet names
  with punctuation turned into spaces and whitespace squeezed; kanji, kana and addresses
  with whitespace removed (and dash look-alikes as ``-`` in addresses); birth dates with
  ``/ . 年 月`` as ``-``; sex ``0``/``9`` (unknown, not applicable) as null; empty as null.
  Only ``found`` response rows go into Splink; ``not_found`` rows count as answers.
- ``link_only``, residents (left) to found responses (right), each with a row-number
  unique id; predictions blocked on the inquiry id ``person_id``.
- Comparisons: Jaro-Winkler at thresholds on the three names and on the address,
  Levenshtein at thresholds on the birth-date string (it keeps partly unknown dates
  ``1980-00-00`` as evidence and scores a day/month swap or one-digit typo as close —
  ``DateOfBirthComparison`` would turn those into nulls), exact match on sex.
- u by random sampling (``estimate_u_using_random_sampling``, ``max_pairs`` 1e7 by default,
  seeded); m and the prior by EM blocked on ``person_id`` (every comparison is then
  estimated, since none uses the blocking column), with the prior taken from that training
  session — within an inquiry's candidates, which is exactly the population predicted.
- Decision: match at p >= 0.99 with the runner-up below 0.5, else review, or no_match below
  p 0.05; the shared safety rules of :mod:`jukimatch.bench.peer_rules` apply.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

from .peer_rules import PeerThresholds, csv_encoding, decide, write_decisions

FIELDS = ("name_alpha", "name_kanji", "name_kana", "birth_date", "sex", "address")
THRESHOLDS = PeerThresholds(match_at=0.99, runner_up_below=0.5, review_floor=0.05)
U_MAX_PAIRS = 1e7
PRIOR_CLIP = 1e-6


def _read(path: Path):
    """All-text Arrow table from Parquet, or from CSV in UTF-8 (BOM or not) or CP932."""
    import csv

    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    if path.suffix.lower() != ".csv":
        return pq.read_table(path)
    enc = csv_encoding(path)
    with open(path, encoding=enc, newline="") as f:
        names = next(csv.reader(f))
    return pcsv.read_csv(path, read_options=pcsv.ReadOptions(encoding="utf8" if enc == "utf-8-sig" else enc),
                         convert_options=pcsv.ConvertOptions(column_types={n: pa.string() for n in names}))


def _clean(col, kind: str):
    import pyarrow as pa
    import pyarrow.compute as pc

    s = pc.utf8_upper(pc.utf8_normalize(col.cast(pa.string()), "NFKC"))
    if kind == "alpha":
        s = pc.replace_substring_regex(s, r"[^A-Z ]", " ")
        s = pc.replace_substring_regex(pc.utf8_trim_whitespace(s), r"\s+", " ")
    elif kind in ("kanji", "kana"):
        s = pc.replace_substring_regex(s, r"\s+", "")
    elif kind == "address":
        s = pc.replace_substring_regex(s, r"\s+", "")
        s = pc.replace_substring_regex(s, r"[‐‑‒–—―−ｰ]", "-")
    elif kind == "date":
        s = pc.replace_substring(pc.replace_substring_regex(s, r"[/.年月]", "-"), "日", "")
        s = pc.utf8_trim_whitespace(s)
    elif kind == "sex":
        s = pc.utf8_trim_whitespace(s)
        s = pc.if_else(pc.is_in(s, value_set=pa.array(["1", "2"])), s, pa.scalar(None, pa.string()))
    else:
        s = pc.utf8_trim_whitespace(s)
    return pc.if_else(pc.equal(s, ""), pa.scalar(None, pa.string()), s)


def _prepare(table, kinds: dict):
    import pyarrow as pa

    cols = {"unique_id": pa.array(np.arange(table.num_rows, dtype=np.int64)),
            "person_id": table.column("person_id").cast(pa.string())}
    for f in FIELDS:
        cols[f] = _clean(table.column(f), kinds[f]) if f in table.column_names else pa.nulls(table.num_rows,
                                                                                          pa.string())
    cols["my_number"] = _clean(table.column("my_number"), "number") if "my_number" in table.column_names \
        else pa.nulls(table.num_rows, pa.string())
    return pa.table(cols)


def run(residents_path: str | Path, responses_path: str | Path, out_dir: str | Path, *, seed: int = 42,
        u_max_pairs: float = U_MAX_PAIRS) -> dict:
    import duckdb
    import pyarrow as pa
    import pyarrow.compute as pc
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    logging.getLogger("splink").setLevel(logging.WARNING)
    t0 = time.perf_counter()
    timings = {}
    residents = _read(Path(residents_path))
    responses = _read(Path(responses_path))
    timings["read"] = time.perf_counter() - t0

    t = time.perf_counter()
    kinds = {"name_alpha": "alpha", "name_kanji": "kanji", "name_kana": "kana", "birth_date": "date",
             "sex": "sex", "address": "address"}
    status = pc.utf8_trim_whitespace(responses.column("status").cast(pa.string()))
    found = responses.filter(pc.fill_null(pc.equal(status, "found"), False))
    left = _prepare(residents, kinds)
    right = _prepare(found, kinds)
    con = duckdb.connect(":memory:")
    con.register("left_arrow", left)
    con.register("right_arrow", right)
    con.execute("CREATE TABLE residents_clean AS SELECT * FROM left_arrow")
    con.execute("CREATE TABLE responses_clean AS SELECT * FROM right_arrow")
    con.unregister("left_arrow")
    con.unregister("right_arrow")
    del left, right
    timings["clean"] = time.perf_counter() - t

    t = time.perf_counter()
    db_api = DuckDBAPI(connection=con)
    sdf_left = db_api.register("residents_clean", dataset_display_name="residents")
    sdf_right = db_api.register("responses_clean", dataset_display_name="responses")
    settings = SettingsCreator(
        link_type="link_only",
        unique_id_column_name="unique_id",
        comparisons=[
            cl.JaroWinklerAtThresholds("name_alpha", [0.92, 0.80]),
            cl.JaroWinklerAtThresholds("name_kanji", [0.90, 0.80]),
            cl.JaroWinklerAtThresholds("name_kana", [0.90, 0.80]),
            cl.LevenshteinAtThresholds("birth_date", [1, 2]),
            cl.ExactMatch("sex"),
            cl.JaroWinklerAtThresholds("address", [0.95, 0.88]),
        ],
        blocking_rules_to_generate_predictions=[block_on("person_id")],
        additional_columns_to_retain=["my_number"],
        retain_matching_columns=True,
    )
    linker = Linker([sdf_left, sdf_right], settings)
    linker.training.estimate_u_using_random_sampling(max_pairs=u_max_pairs, seed=seed)
    timings["train_u"] = time.perf_counter() - t
    t = time.perf_counter()
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("person_id"), populate_probability_two_random_records_match_from_trained_values=True)
    # Guard: if EM finds (nearly) every blocked pair a match, the prior's Bayes factor is
    # infinite and Splink's SQL gets a NaN; keep it strictly inside (0, 1) as a user would.
    settings_obj = linker._settings_obj
    prior = settings_obj._probability_two_random_records_match
    if not (PRIOR_CLIP <= prior <= 1 - PRIOR_CLIP):
        settings_obj._probability_two_random_records_match = min(max(prior, PRIOR_CLIP), 1 - PRIOR_CLIP) \
            if prior == prior else 0.5
    timings["train_em"] = time.perf_counter() - t

    t = time.perf_counter()
    predictions = linker.inference.predict()
    rel = predictions.as_duckdbpyrelation()
    cols = rel.columns
    pred = rel.df()
    timings["predict"] = time.perf_counter() - t

    t = time.perf_counter()
    # link_only: one side of each pair is a resident, the other a response row; the blocking
    # rule makes person_id equal on both sides.
    left_is_res = pred["source_dataset_l"].astype(str).to_numpy() == "residents"
    number = np.where(left_is_res, pred["my_number_r"].to_numpy(dtype=object),
                      pred["my_number_l"].to_numpy(dtype=object))

    def objects(col):
        return col.cast(pa.string()).to_numpy(zero_copy_only=False)

    held = objects(residents.column("my_number")) if "my_number" in residents.column_names \
        else np.full(residents.num_rows, None, dtype=object)
    table = decide(objects(residents.column("person_id")), held, objects(responses.column("person_id")),
                   pc.fill_null(pc.equal(status, "found"), False).to_numpy(zero_copy_only=False),
                   pred["person_id_l"].to_numpy(dtype=object), number,
                   pred["match_probability"].to_numpy(dtype=float), pred["match_weight"].to_numpy(dtype=float),
                   THRESHOLDS)
    write_decisions(table, out_dir)
    timings["decide_write"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - t0

    model = {c.output_column_name: [
        {"label": lvl.label_for_charts, "m": getattr(lvl, "m_probability", None),
         "u": getattr(lvl, "u_probability", None)}
        for lvl in c.comparison_levels if not lvl.is_null_level]
        for c in linker._settings_obj.comparisons}
    return {
        "pairs": int(len(pred)),
        "prediction_columns": list(cols),
        "prior": float(linker._settings_obj._probability_two_random_records_match),
        "timings_s": {k: round(v, 4) for k, v in timings.items()},
        "config": {"thresholds": THRESHOLDS.to_dict(), "u_max_pairs": u_max_pairs, "seed": seed},
        "model": model,
    }
