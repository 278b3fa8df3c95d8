"""``jukimatch.api.link``: link two files, or deduplicate one, without inquiry ids."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from jukimatch.engine.link.blocking import RuleCount
from jukimatch.engine.link.config import LinkConfig, load_config
from jukimatch.engine.link.pipeline import LinkOptions, run

__all__ = ["link"]


def link(
    left: str | Path,
    right: str | Path | None = None,
    *,
    out: str | Path,
    config: str | Path | LinkConfig | None = None,
    threshold: float | None = None,
    review_threshold: float | None = None,
    encoding: str | None = None,
    report: bool = True,
    chunk_pairs: int = 1_000_000,
    progress: Callable[[str, int, int], None] | None = None,
    on_blocking: Callable[[list[RuleCount]], None] | None = None,
    encrypt_key_file: str | Path | None = None,
) -> dict[str, Any]:
    """Link ``left`` with ``right`` — or, without ``right``, find duplicates within ``left``.

    ``config`` is a TOML file (see :mod:`jukimatch.engine.link.config`) or a parsed
    :class:`LinkConfig`; by default the contract's person columns (names in three notations,
    birth date, sex, address, My Number). ``threshold`` (a match probability) overrides the
    configuration's, ``review_threshold`` the lower end of the review band (pairs from it up to
    ``threshold`` go to review, not to clusters). ``on_blocking`` receives the pair count of every blocking rule before
    any pair is compared. ``encrypt_key_file`` (see ``jukimatch files keygen``) writes the links
    and clusters encrypted (``.parquet.enc``, AES-256-GCM), as reconcile does its outputs.

    Writes ``links.parquet`` (pairs at or above the review threshold; ``decision`` is
    ``match`` for an automatic match — a one-to-one link, or a pair inside a duplicate
    cluster, also flagged ``accepted`` — and ``review`` for a pair a person must look at,
    ``review_reason`` says why), ``clusters.parquet`` (automatic matches only) when
    deduplicating, ``model.json``, ``summary.json`` and ``report.html`` under ``out``;
    returns the summary. Raises :class:`jukimatch.engine.io.InputError` (a subclass of
    ``ValueError``) for an unusable input or configuration, and
    :class:`jukimatch.engine.link.blocking.BlockingLimitError` when a blocking rule would yield
    more pairs than ``[link] max_pairs_per_rule``.
    """
    cfg = config if isinstance(config, LinkConfig) else load_config(config)
    opts = LinkOptions(config=cfg, threshold=threshold, review_threshold=review_threshold, encoding=encoding, chunk_pairs=chunk_pairs, report=report,
                       progress=progress, on_blocking=on_blocking, encrypt_key_file=encrypt_key_file)
    return run(left, right, out, opts)
