"""Micro benchmark of the comparison kernels (seeded; prints the machine; never asserts).

    .venv/bin/python -m jukimatch.bench.bench_compare [--pairs 10000000] [--jw-pairs 1000000]

1. ``compare_names(kind="alpha")`` on 10M pairs of realistic passport names: half the
   pairs compare a name with a drifted copy of itself (reordered, middle name dropped,
   a typo, spacing, truncated), half with another random name — the mix a blocked link
   sees; reconciliation is mostly the first half, which exits earlier.
2. ``jaro_winkler`` against rapidfuzz's ``JaroWinkler`` on the same 1M pairs — through
   ``rapidfuzz.process.cpdist`` (C++, all cores) and a per-pair Python loop.
3. Dates, sex and addresses on the same 10M pairs, for scale.
Timings exclude JIT compilation (a small warm-up call compiles or loads the cache first).
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import numba
import numpy as np

from jukimatch.engine.compare.person import (
    compare_address,
    compare_dates,
    compare_names,
    compare_sex,
    jaro_winkler,
)
from jukimatch.engine.text import to_codepoints

SURNAMES = ["NGUYEN", "TRAN", "LE", "PHAM", "HOANG", "VU", "DANG", "BUI", "DELA CRUZ", "SANTOS", "REYES",
            "GARCIA", "MENDOZA", "KIM", "LEE", "PARK", "CHOI", "SHRESTHA", "GURUNG", "TAMANG", "RAI",
            "WANG", "LI", "ZHANG", "LIU", "CHEN", "YANG", "SILVA", "OLIVEIRA", "SOUZA", "PEREIRA",
            "WIJAYA", "SETIAWAN", "SANTOSO", "AUNG", "HTUN", "SMITH", "JOHNSON", "RODRIGUEZ", "MARTINEZ"]
GIVEN = ["VAN", "THI", "AN", "ANH", "BINH", "DUC", "HOA", "LAN", "MINH", "TUAN", "MARIA", "JOSE", "LUIS",
         "CHRISTINA", "ANGELICA", "MIN", "JUN", "JI", "HOON", "SEO", "YEON", "RAM", "BAHADUR", "KUMAR",
         "SITA", "WEI", "FANG", "XIAO", "MING", "HUI", "ANA", "JOAO", "PAULO", "LUCAS", "BUDI", "AGUS",
         "DEWI", "SRI", "KYAW", "THU", "JOHN", "MICHAEL", "ELIZABETH", "ALEXANDER", "KATHERINE"]


def machine() -> None:
    import rapidfuzz

    print(f"python {platform.python_version()} on {platform.platform()}")
    print(f"cpu: {platform.processor() or platform.machine()}, os.cpu_count()={os.cpu_count()}, "
          f"numba threads={numba.get_num_threads()} ({numba.threading_layer() if _threading_ready() else 'n/a'})")
    print(f"numpy {np.__version__}, numba {numba.__version__}, rapidfuzz {rapidfuzz.__version__}")


def _threading_ready() -> bool:
    try:
        numba.threading_layer()
        return True
    except ValueError:
        return False


def make_names(rng: np.random.Generator, n: int) -> list[str]:
    sur = rng.integers(0, len(SURNAMES), n)
    k = rng.integers(1, 4, n)
    giv = rng.integers(0, len(GIVEN), (n, 3))
    return [" ".join([SURNAMES[s], *(GIVEN[g] for g in giv[i, :k[i]])]) for i, s in enumerate(sur)]


def drift(rng: np.random.Generator, names: list[str]) -> list[str]:
    out = []
    ops = rng.integers(0, 7, len(names))
    for name, op in zip(names, ops):
        toks = name.split(" ")
        if op == 1:
            toks = [toks[i] for i in rng.permutation(len(toks))]
        elif op == 2 and len(toks) > 2:
            del toks[1]
        elif op == 3:
            i = int(rng.integers(0, len(toks)))
            j = int(rng.integers(0, len(toks[i])))
            toks[i] = toks[i][:j] + chr(int(rng.integers(65, 91))) + toks[i][j + 1:]
        elif op == 4:
            out.append(name.replace(" ", "", 1))
            continue
        elif op == 5:
            toks[-1] = toks[-1][: max(2, len(toks[-1]) - 2)]
        out.append(" ".join(toks))
    return out


def timed(label: str, fn, n: int, repeat: int = 3):
    fn()  # warm
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        res = fn()
        best = min(best, time.perf_counter() - t)
    print(f"{label:<58} {best:8.3f} s  {n / best / 1e6:7.1f} M pairs/s")
    return res, best


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--pairs", type=int, default=10_000_000)
    ap.add_argument("--jw-pairs", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=18)
    args = ap.parse_args(argv)
    machine()
    rng = np.random.default_rng(args.seed)

    t = time.perf_counter()
    left_names = make_names(rng, args.rows)
    right_names = drift(rng, left_names)
    left, right = to_codepoints(left_names), to_codepoints(right_names)
    li = rng.integers(0, args.rows, args.pairs, dtype=np.int64)
    related = rng.random(args.pairs) < 0.5
    ri = np.where(related, li, rng.integers(0, args.rows, args.pairs, dtype=np.int64))
    print(f"data: {args.rows:,} names a side, {args.pairs:,} pairs ({related.mean():.0%} related), "
          f"built in {time.perf_counter() - t:.1f} s")

    compare_names(left, right, li[:10], ri[:10], kind="alpha")  # compile or load cache
    levels, _ = timed(f"compare_names(kind='alpha'), {args.pairs:,} pairs", lambda: compare_names(
        left, right, li, ri, kind="alpha"), args.pairs)
    counts = np.bincount(levels.astype(np.int64) + 1, minlength=7)
    print("  levels -1..5:", " ".join(f"{lvl}:{c / args.pairs:.1%}" for lvl, c in zip(range(-1, 6), counts)))
    timed("  related pairs only (reconciliation-like)",
          lambda: compare_names(left, right, li[related], ri[related], kind="alpha"), int(related.sum()))
    timed("  unrelated pairs only (link-like)",
          lambda: compare_names(left, right, li[~related], ri[~related], kind="alpha"), int((~related).sum()))

    from rapidfuzz.distance import JaroWinkler
    from rapidfuzz.process import cpdist

    m = args.jw_pairs
    jli, jri = li[:m], ri[:m]
    qa = [left_names[i] for i in jli]
    qb = [right_names[i] for i in jri]
    jaro_winkler(left, right, jli[:10], jri[:10])
    ours, t_ours = timed(f"jaro_winkler (numba), {m:,} pairs", lambda: jaro_winkler(left, right, jli, jri), m)
    theirs, t_cp = timed(f"rapidfuzz cpdist(JaroWinkler, workers=-1), {m:,} pairs",
                         lambda: cpdist(qa, qb, scorer=JaroWinkler.similarity, workers=-1), m)
    _, t_loop = timed(f"rapidfuzz JaroWinkler.similarity loop, {m:,} pairs",
                      lambda: [JaroWinkler.similarity(a, b) for a, b in zip(qa, qb)], m, repeat=1)
    print(f"  max |numba - rapidfuzz| = {np.abs(ours - np.asarray(theirs, dtype=np.float64)).max():.2e}; "
          f"numba/cpdist time ratio {t_ours / t_cp:.2f}, numba/loop {t_ours / t_loop:.3f}")

    y = rng.integers(1940, 2010, args.rows).astype(np.int16)
    mo = rng.integers(0, 13, args.rows).astype(np.int8)
    d = rng.integers(0, 29, args.rows).astype(np.int8)
    timed(f"compare_dates, {args.pairs:,} pairs", lambda: compare_dates(y, mo, d, y, mo, d, li, ri), args.pairs)
    sex = rng.choice(np.array([0, 1, 2, 9], dtype=np.int8), args.rows)
    timed(f"compare_sex, {args.pairs:,} pairs", lambda: compare_sex(sex, sex, li, ri), args.pairs)
    parts = tuple(rng.integers(0, 50, args.rows).astype(np.uint64) for _ in range(5))
    timed(f"compare_address, {args.pairs:,} pairs", lambda: compare_address(parts, parts, li, ri), args.pairs)


if __name__ == "__main__":
    main(sys.argv[1:])
