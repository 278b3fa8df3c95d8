"""Deduplicate generated residents (the twice-registered cases) with ``jukimatch link`` and score it.

    .venv/bin/python -m jukimatch.bench.bench_dedupe [--residents 1000000] [--seed 20270319] [--data DIR]
        [--threshold P] [--review-threshold P] [--after-inquiry] [--json FILE]

Generates the population with ``jukimatch.datasets.make_population`` (or reads
``residents.parquet`` and ``truth.parquet`` from ``--data``), runs the default link
configuration (the contract's person columns) without ``--right``, and compares the pairs
with the truth: every pair of ``duplicate_registration`` rows is a true pair, everything
else a false one.

Two outcomes are scored. *Automatic* pairs are the ``match`` decisions (pairs inside one
duplicate cluster, at or above the match threshold). *Found* pairs are automatic pairs plus
the pairs sent to ``review`` (the review band: a person looks at them). False pairs are
given against every denominator one may mean: found pairs (1 - precision), residents,
compared candidate pairs and all n(n-1)/2 pairs. A table then shows what other match
thresholds would give, read from the same ``links.parquet`` (before the chaining guard).

The generator also makes different people who share name, birth date and sex (namesakes of
common names); a duplicate registered at another address looks exactly like them, and only
the frequency of the name and the birth date tell them apart: that is what the review band
is for.

``--after-inquiry`` is a what-if: the residents table as IMS would hold it after the go-live
bulk inquiry, every resident with a record on the register holding its My Number (taken from
the truth; rows that already hold a number keep theirs, right or wrong). The two rows of a
duplicate then share a number, and namesakes hold different ones.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from jukimatch.bench.machine import banner

_SWEEP = (0.99, 0.9, 0.8, 0.5, 0.2, 0.1, 0.01)


def _key(a, b) -> tuple:
    return (a, b) if a < b else (b, a)


def score(links, truth, n: int, compared: int) -> dict:
    """Recall and false pairs of automatic and found pairs; ``links`` and ``truth`` are pandas frames."""
    dup = truth[truth.case == "duplicate_registration"]
    true_pairs = {_key(a, b) for a, b in zip(dup.person_id, dup.duplicate_of)}
    pairs = [_key(a, b) for a, b in zip(links.left_id, links.right_id)]
    is_true = np.fromiter((p in true_pairs for p in pairs), bool, len(pairs))
    auto = (links.decision == "match").to_numpy()

    def outcome(sel: np.ndarray) -> dict:
        tp, k = int((sel & is_true).sum()), int(sel.sum())
        fp = k - tp
        return {"pairs": k, "true": tp, "false": fp, "missed": len(true_pairs) - tp,
                "recall": tp / max(len(true_pairs), 1),
                "false_share_of_pairs": fp / max(k, 1), "false_share_of_residents": fp / n,
                "false_share_of_compared": fp / max(compared, 1), "false_share_of_all_pairs": fp / (n * (n - 1) / 2)}

    review = ~auto
    prob = links.match_probability.to_numpy()
    return {
        "true_pairs": len(true_pairs),
        "automatic": outcome(auto),
        "found": outcome(np.ones(len(pairs), bool)),
        "review": {"pairs": int(review.sum()), "true": int((review & is_true).sum()),
                   "false": int((review & ~is_true).sum()),
                   "records": len(set(links.left_id[review]) | set(links.right_id[review])),
                   "by_reason": {str(k): int(v) for k, v in links.review_reason[review].value_counts().items()}},
        "sweep": [{"threshold": t, **{k: v for k, v in outcome(prob >= t).items() if k in ("pairs", "true", "false",
                                                                                          "recall")}}
                  for t in _SWEEP if t >= prob.min(initial=1.0)],
    }


def _after_inquiry(res_path: Path, truth, out: Path) -> Path:
    """The residents with every held-number gap filled by the person's true My Number."""
    import pyarrow as pa
    import pyarrow.compute as pc

    res = pq.read_table(res_path)
    true = dict(zip(truth.column("person_id").to_pylist(), truth.column("true_my_number").to_pylist()))
    filled = pa.array([true.get(p) for p in res.column("person_id").to_pylist()], pa.string())
    held = res.column("my_number")
    res = res.set_column(res.column_names.index("my_number"), "my_number", pc.coalesce(held, filled))
    pq.write_table(res, out)
    return out


def _pct(x: float) -> str:
    return f"{100 * x:.4f} %"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--residents", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=20270319)
    ap.add_argument("--data", help="folder with residents.parquet and truth.parquet (skips generation)")
    ap.add_argument("--threshold", type=float, help="match probability (default: the config's, 0.5)")
    ap.add_argument("--review-threshold", type=float, help="review band's lower end (default: the config's, 0.001)")
    ap.add_argument("--after-inquiry", action="store_true",
                    help="what-if: every resident with a register record holds its My Number (from the truth)")
    ap.add_argument("--json", help="also write the figures to this file")
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
        if args.after_inquiry:
            res_path = _after_inquiry(res_path, truth, Path(d) / "after_inquiry.parquet")
        n = pq.read_metadata(res_path).num_rows
        t = time.perf_counter()
        summary = link(res_path, out=Path(d) / "out", threshold=args.threshold,
                       review_threshold=args.review_threshold, report=False)
        elapsed = time.perf_counter() - t
        links = pq.read_table(Path(d) / "out" / "links.parquet",
                              columns=["left_id", "right_id", "match_probability", "decision", "review_reason"]
                              ).to_pandas()
    links["decision"] = links.decision.astype(str)
    links["review_reason"] = links.review_reason.astype(object)
    tr = truth.select(["person_id", "case", "duplicate_of"]).to_pandas()
    compared = summary["blocking"]["candidate_pairs"]
    s = score(links, tr, n, compared)
    th = summary["threshold"]
    info = summary["model"]["info"]

    print("blocking rules (pairs counted before comparing):")
    for r in summary["blocking"]["rules"]:
        print(f"  {r['name']:<45} {r['pairs']:>12,} {r['new_pairs']:>12,} new")
    print(f"residents {n:,}; candidate pairs compared {compared:,}; time {elapsed:.1f}s "
          + " ".join(f"{k} {v:.1f}s" for k, v in summary["timings_s"].items()))
    print(f"model: expected matches {info['expected_matches']:.0f} (true {s['true_pairs']:,}), prior "
          f"{summary['model']['prior']:.3g}; EM over all pairs: {info['em_iterations']} iterations")
    print(f"thresholds: automatic match p >= {th['match_probability']}, review p >= {th['review_probability']}")
    a, f, r = s["automatic"], s["found"], s["review"]
    print(f"true duplicate pairs {s['true_pairs']:,}")
    print(f"  automatic: {a['true']:,} found, {a['missed']:,} missed (recall {a['recall']:.4f}); "
          f"false pairs {a['false']:,}: {_pct(a['false_share_of_pairs'])} of automatic pairs, "
          f"{_pct(a['false_share_of_residents'])} of residents, {_pct(a['false_share_of_compared'])} of compared "
          f"pairs, {100 * a['false_share_of_all_pairs']:.2e} % of all pairs")
    print(f"  found (automatic + review): {f['true']:,} found, {f['missed']:,} missed (recall {f['recall']:.4f}); "
          f"false pairs {f['false']:,}: {_pct(f['false_share_of_pairs'])} of found pairs, "
          f"{_pct(f['false_share_of_residents'])} of residents")
    print(f"  review volume: {r['pairs']:,} pairs ({r['true']:,} true, {r['false']:,} false) on {r['records']:,} "
          f"records, by reason {r['by_reason']}")
    print("what other automatic thresholds give (same run, before the chaining guard):")
    print(f"  {'p >=':>6} {'pairs':>8} {'true':>7} {'false':>7} {'recall':>8} {'false/residents':>16}")
    for row in s["sweep"]:
        print(f"  {row['threshold']:>6} {row['pairs']:>8,} {row['true']:>7,} {row['false']:>7,} {row['recall']:>8.4f} "
              f"{_pct(row['false'] / n):>16}")
    c = summary["clusters"]
    print(f"clusters {c['by_size']}; refused joins: size {c['refused_joins_size']}, "
          f"incomplete {c['refused_joins_incomplete']}")
    if args.json:
        Path(args.json).write_text(json.dumps({"residents": n, "after_inquiry": args.after_inquiry, "compared": compared, "seconds": round(elapsed, 1),
                                               "timings_s": summary["timings_s"], "thresholds": th, **s}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
