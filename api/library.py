"""Typed, documented functions over the engine: the stable surface for library users."""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

from jukimatch.engine.masking import mask
from jukimatch.engine.model import Model
from jukimatch.engine.reconcile.decide import Thresholds
from jukimatch.engine.reconcile.pipeline import Options, run
from jukimatch.engine.validate.checkdigit import my_number_errors

if TYPE_CHECKING:  # pragma: no cover
    from jukimatch.datasets.profile import Profile


def reconcile(
    residents: str | Path,
    responses: str | Path,
    out: str | Path,
    *,
    model: str | Path | Model | None = None,
    thresholds: Thresholds | None = None,
    encoding: str | None = None,
    chunk_rows: int = 500_000,
    report: bool = True,
    progress: Callable[[str, int, int], None] | None = None,
    backend: str = "local",
    scheduler: str | None = None,
    dask_workers: int | None = None,
    partitions: int | None = None,
    resume: bool = False,
    checkpoint: bool = True,
    encrypt_key_file: str | Path | None = None,
    chunk_pairs: int | None = None,
) -> dict[str, Any]:
    """Reconcile the agency's residents with Juki-net's responses and write the outputs.

    Writes decisions, review, pending and rejected Parquet files, ``summary.json``,
    ``model.json`` and ``report.html`` under ``out``; returns the summary as a dict.
    ``model`` reuses a saved model (e.g. last period's ``model.json``) instead of fitting.

    ``backend="dask"`` runs on hash partitions of the input on a ``dask.distributed``
    cluster — the one at ``scheduler``, or a LocalCluster of ``dask_workers`` processes —
    with the same decisions as the local backend (``partitions``: default 2 per worker).
    On the local backend ``partitions`` > 1 takes hash partitions in turn, so that memory is
    set by a partition rather than the input, with the same decisions and output files.
    Finished chunks are kept in ``out/.jukimatch-work`` until the run ends (``checkpoint``);
    ``resume=True`` continues a killed run from them, and refuses inputs that changed.
    ``encrypt_key_file`` writes decisions, review and pending as AES-256-GCM ``.enc`` files.
    ``chunk_rows`` resident rows are compared per saved chunk (``chunk_pairs`` is its old
    name, still read, with a ``DeprecationWarning``: it always counted resident rows).
    Raises :class:`jukimatch.engine.io.InputError` for an unusable input file, a changed
    input on resume, or an unusable key.
    """
    if chunk_pairs is not None:
        warnings.warn("reconcile(chunk_pairs=...) is deprecated; use chunk_rows", DeprecationWarning, stacklevel=2)
        chunk_rows = chunk_pairs
    if isinstance(model, (str, Path)):
        model = Model.load(model)
    opts = Options(
        chunk_rows=chunk_rows,
        thresholds=thresholds or Thresholds(),
        model=model,
        encoding=encoding,
        report=report,
        progress=progress,
        backend=backend,
        scheduler=scheduler,
        workers=dask_workers,
        partitions=partitions,
        checkpoint=checkpoint,
        resume=resume,
        encrypt_key_file=encrypt_key_file,
    )
    return run(residents, responses, out, opts)


def check_numbers(numbers: Iterable[str | None]) -> list[dict[str, Any]]:
    """Validate My Numbers (format and official check digit).

    Returns one dict per input: ``{"masked": "********9018", "valid": bool, "error": None|str}``
    where ``error`` is ``"empty"``, ``"format"`` or ``"check_digit"``. The number itself is
    never echoed in clear.
    """
    values = [None if v is None else str(v).strip() for v in numbers]
    errors = my_number_errors(values)
    return [
        {"masked": mask(v, whole=True), "valid": e is None, "error": e}
        for v, e in zip(values, errors)
    ]


def generate(
    residents: int,
    out: str | Path,
    *,
    seed: int = 0,
    fmt: str = "parquet",
    encoding: str = "utf-8",
    profile: str | Path | Profile | None = None,
) -> dict[str, Any]:
    """Generate a synthetic population with Juki-net answers and ground truth (see datasets)."""
    from jukimatch.datasets import generate as _generate

    return _generate(residents, out, seed=seed, fmt=fmt, encoding=encoding, profile=profile)
