"""The agency's 19 requesters of information provision, read from ``data/requesters.tsv``.

One file is the single source of truth: the inquiry service seeds its permission list
(requester × ordinance row × information kind) from it, and the simulator reads the same
rows for its load profiles. Columns beyond the known ones are kept in ``Requester.extra`` so
that a consumer can add data (e.g. request rates) without touching this loader.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

INFO_KINDS = ("E", "C", "S")
INFO_KIND_NAMES = {
    "E": "出入国関係情報",
    "C": "在留カード関係情報",
    "S": "特別永住者証明書関係情報",
}
_COLUMNS = ("number", "requester_code", "requester", "requester_ja", "ordinance_row",
            "office_work", "office_work_ja", "info_kinds")


@dataclass(frozen=True)
class Requester:
    """One row of the assessment's provision table (提供先 number 1-19)."""

    number: int  # the assessment's 提供先 number
    requester_code: str  # one code per requesting body; shared by its several rows
    requester: str
    requester_ja: str
    ordinance_row: int  # 情報連携主務省令第2条の表の項
    office_work: str
    office_work_ja: str
    info_kinds: tuple[str, ...]  # subset of INFO_KINDS, in that order
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)


def _path() -> Path:
    return Path(str(resources.files("jukimatch.datasets").joinpath("data/requesters.tsv")))


def load_requesters(path: str | Path | None = None) -> list[Requester]:
    """All rows of the requesters table in file order; ``path`` overrides the shipped file.

    Raises ``ValueError`` naming the line when a row is malformed, so a bad edit of the
    table fails loudly instead of silently widening or narrowing the permission list.
    """
    p = Path(path) if path is not None else _path()
    lines = [ln for ln in p.read_text(encoding="utf-8").splitlines() if ln and not ln.startswith("#")]
    reader = csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE)
    missing = set(_COLUMNS) - set(reader.fieldnames or ())
    if missing:
        raise ValueError(f"{p}: missing columns {sorted(missing)}")
    out: list[Requester] = []
    for i, row in enumerate(reader, start=2):
        try:
            kinds = tuple(k for k in INFO_KINDS if k in row["info_kinds"])
            if not kinds or set(row["info_kinds"]) - set(INFO_KINDS):
                raise ValueError(f"info_kinds must be letters of {''.join(INFO_KINDS)}, got {row['info_kinds']!r}")
            out.append(Requester(
                number=int(row["number"]),
                requester_code=row["requester_code"].strip(),
                requester=row["requester"].strip(),
                requester_ja=row["requester_ja"].strip(),
                ordinance_row=int(row["ordinance_row"]),
                office_work=row["office_work"].strip(),
                office_work_ja=row["office_work_ja"].strip(),
                info_kinds=kinds,
                extra={k: v for k, v in row.items() if k not in _COLUMNS and k is not None},
            ))
        except (ValueError, TypeError, AttributeError) as exc:
            raise ValueError(f"{p}: data line {i}: {exc}") from exc
    return out
