"""Deduplicate generated residents (the twice-registered cases) with ``jukimatch link`` and score it.

    .venv/bin/python -m jukimatch.bench.bench_dedupe [--residents 1000000] [--seed 20270319] [--data DIR]

Generates the population with ``jukimatch.datasets.make_population`` (or reads
``residents.parquet`` and ``truth.parquet`` from ``--data``), runs the default link
configuration (the contract's person columns) without ``--right``, and compares the
accepted pairs (pairs inside one duplicate cluster) with the truth: every pair of
``duplicate_registration`` rows is a true pair, everything else a false one.

False pairs are given against every denominator one may mean: found pairs (1 - precision),
residents, compared candidate pairs and all n(n-1)/2 pairs. The generator also makes
different people who share name, birth date and sex (namesakes of common names); a
duplicate registered at another address looks exactly like them.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

from jukimatch.bench.machine import banner


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--residents", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=20270319)
    ap.add_argument("--data", help="folder with residents.parquet and truth.parquet (skips generation)")
    ap.add_argument("--threshold", type=float, help="match probability (default: the config's, 0.5)")
    args = ap.parse_args(argv)
    print(banner())
    from jukimatch.api.link import link

    with tempfile.TemporaryDirectory() as d:
        if args.data:
            res_path, truth = Path(args.data) / "residents.parquet", pq.read_table(Path(args.data) / "truth.parquet")
        else:
            from jukimatch.datasets import make_population

            t = time.perf_counter()
            pop = make_population(args.residents, seed=args.seed)
            print(f"generated {args.residents:,} residents in {time.perf_counter() - t:.1f}s")
            res_path, truth = Path(d) / "residents.parquet", pop["truth"]
            pq.write_table(pop["residents"], res_path)
        n = pq.read_metadata(res_path).num_rows
        t = time.perf_counter()
        summary = link(res_path, out=Path(d) / "out", threshold=args.threshold, report=False)
        elapsed = time.perf_counter() - t
        acc = pq.read_table(Path(d) / "out" / "links.parquet", columns=["left_id", "right_id", "accepted"],
                            filters=[("accepted", "=", True)])
    tr = truth.to_pandas()
    dup = tr[tr.case == "duplicate_registration"]
    true_pairs = {tuple(sorted(p)) for p in zip(dup.person_id, dup.duplicate_of)}
    found = {tuple(sorted(p)) for p in zip(acc.column("left_id").to_pylist(), acc.column("right_id").to_pylist())}
    tp, fp, fn = len(found & true_pairs), len(found - true_pairs), len(true_pairs - found)
    compared = summary["blocking"]["candidate_pairs"]
    print("blocking rules (pairs counted before comparing):")
    for r in summary["blocking"]["rules"]:
        print(f"  {r['name']:<45} {r['pairs']:>12,} {r['new_pairs']:>12,} new")
    print(f"residents {n:,}; candidate pairs compared {compared:,}; time {elapsed:.1f}s "
          + " ".join(f"{k} {v:.1f}s" for k, v in summary["timings_s"].items()))
    print(f"expected matches from the model {summary['model']['info']['expected_matches']:.0f}, "
          f"prior {summary['model']['prior']:.3g}")
    print(f"true duplicate pairs {len(true_pairs):,}: found {tp:,}, missed {fn:,} (recall {tp / max(len(true_pairs), 1):.4f})")
    print(f"false pairs {fp:,}: {100 * fp / max(len(found), 1):.4f} % of found pairs, "
          f"{100 * fp / n:.4f} % of residents, {100 * fp / max(compared, 1):.5f} % of compared pairs, "
          f"{100 * fp / (n * (n - 1) / 2):.2e} % of all pairs")
    print(f"clusters {summary['clusters']['by_size']}; refused joins: size {summary['clusters']['refused_joins_size']}, "
          f"incomplete {summary['clusters']['refused_joins_incomplete']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
