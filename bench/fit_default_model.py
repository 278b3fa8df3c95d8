"""Regenerate ``engine/data/default_model.json``: the model shipped for single-pair checks.

The authenticity check compares one pair at a time and so cannot fit a model; it uses the
parameters fitted by a bulk run over a generated population (seed and size below, fixed so
that the file is reproducible):

    .venv/bin/python -m jukimatch.bench.fit_default_model
"""
from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

SIZE, SEED = 200_000, 20270319
TARGET = Path(__file__).resolve().parent.parent / "engine" / "data" / "default_model.json"


def main() -> int:
    from jukimatch.api import generate, reconcile

    with tempfile.TemporaryDirectory() as tmp:
        made = generate(SIZE, Path(tmp) / "data", seed=SEED)
        summary = reconcile(made["paths"]["residents"], made["paths"]["responses"], Path(tmp) / "out", report=False)
        model = summary["model"]
    model["info"]["source"] = f"jukimatch generate --residents {SIZE} --seed {SEED}, reconciled"
    TARGET.write_text(json.dumps(model, indent=2) + "\n")
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
