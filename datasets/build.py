"""One call for the CLI: make a population, write it, and say what was written."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from .io import write_population
from .population import case_counts, discrepancy_counts, make_population
from .profile import Profile, load_profile


def generate(
    n_residents: int,
    out_dir: str | Path,
    *,
    seed: int = 0,
    fmt: str = "parquet",
    encoding: str = "utf-8",
    profile: "Profile | Mapping[str, Any] | str | Path | None" = None,
) -> dict[str, Any]:
    """Generate and write; returns paths, rows per table, counts per case and discrepancy."""
    prof = load_profile(profile)
    tables = make_population(n_residents, seed=seed, profile=prof)
    substituted: dict[str, int] = {}
    paths = write_population(tables, out_dir, fmt=fmt, encoding=encoding, substitutions=substituted)
    return {
        "seed": seed,
        "profile": prof.source,
        "format": fmt,
        "encoding": encoding,
        "paths": {name: str(p) for name, p in paths.items()},
        "rows": {name: t.num_rows for name, t in tables.items()},
        "cases": case_counts(tables["truth"]),
        "discrepancies": discrepancy_counts(tables["truth"]),
        "cp932_substituted_characters": substituted if fmt == "csv" and encoding != "utf-8" else {},
    }
