"""`make demo`: generate a population, reconcile it, print the summary and the accuracy.

The embedded default: 100,000 residents with Juki-net answers from the built-in corruption
profile; the outputs land in ``demo-out/``.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq

from jukimatch.api import generate, reconcile
from jukimatch.api.console import print_summary


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m jukimatch.api.demo", description=__doc__)
    p.add_argument("--residents", type=int, default=100_000)
    p.add_argument("--out", default="demo-out")
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    out = Path(args.out)
    data, result = out / "data", out / "result"
    t = time.perf_counter()
    made = generate(args.residents, data, seed=args.seed)
    print(f"generated {args.residents:,} residents in {time.perf_counter() - t:.1f}s -> {data}")
    paths = made.get("paths", {})
    summary = reconcile(paths.get("residents", data / "residents.parquet"),
                        paths.get("responses", data / "responses.parquet"), result)
    print_summary(summary, result)
    from jukimatch.datasets.score import score

    truth = pq.read_table(paths.get("truth", data / "truth.parquet"))
    s = score(pq.read_table(result / "decisions.parquet"), truth)
    print("accuracy against ground truth:")
    print(f"  wrong numbers registered {s['wrong_numbers']}  numbers to two persons {s['numbers_to_two_persons']}"
          f"  automatic recall {s['auto_recall']:.2%}  review rate {s['review_rate']:.2%}"
          f"  unanswered pending {s['unanswered_pending']:.0%}")
    (result / "score.json").write_text(json.dumps(s, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
