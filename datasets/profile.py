"""Rates that shape a synthetic population, kept in a TOML profile.

The documented defaults live in ``profiles/default.toml``; a user profile (file or dict)
overrides any subset of keys and is validated against the defaults, so a typo in a key
name is an error rather than a silently ignored rate. The other files in ``profiles/`` are
shipped profiles, each breaking one assumption of the default (its comments say which, and
in what proportions), selected by name: ``load_profile("clustered")``.
"""
from __future__ import annotations

import datetime as dt
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

PROFILES_DIR = Path(__file__).parent / "profiles"
DEFAULT_PROFILE = PROFILES_DIR / "default.toml"

# New kinds go at the end: a zero share appended to the draw leaves the default stream as it was.
CASE_KINDS = (
    "found",
    "not_found",
    "unanswered",
    "lookalike_only",
    "true_plus_lookalike",
    "bad_check_digit",
    "duplicate_registration",
    "absent_namesake",
)
PLACES = ("same_block", "same_town", "same_municipality", "elsewhere")
SECTIONS = (
    "cases",
    "held_number",
    "population",
    "special_permanent_nationality",
    "lookalike",
    "moves",
    "discrepancies",
    "copies",
    "namesakes",
    "communities",
    "dormitories",
    "names",
    "duplicates",
)
_SUM_TO_ONE = {
    "cases": None,
    "lookalike": None,
    "moves": None,
    "special_permanent_nationality": None,
    "population": ("mid_long_term", "special_permanent", "japanese_relative"),
    "namesakes": PLACES,
}


@dataclass(frozen=True)
class Profile:
    """Validated rates; each section is a read-only mapping of name -> probability."""

    cases: Mapping[str, float]
    held_number: Mapping[str, float]
    population: Mapping[str, float]
    special_permanent_nationality: Mapping[str, float]
    lookalike: Mapping[str, float]
    moves: Mapping[str, float]
    discrepancies: Mapping[str, float]
    copies: Mapping[str, float]
    namesakes: Mapping[str, float]
    communities: Mapping[str, float]
    dormitories: Mapping[str, float]
    names: Mapping[str, float]
    duplicates: Mapping[str, float]
    reference_date: str = "2025-06-30"
    source: str = field(default=str(DEFAULT_PROFILE), compare=False)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {s: dict(getattr(self, s)) for s in SECTIONS}
        out["reference_date"] = self.reference_date
        return out


def _read_toml(path: Path) -> dict[str, Any]:
    with open(path, "rb") as fh:
        return tomllib.load(fh)


def _merge(base: dict[str, Any], override: Mapping[str, Any], source: str) -> dict[str, Any]:
    merged = {k: (dict(v) if isinstance(v, dict) else v) for k, v in base.items()}
    for key, value in override.items():
        if key not in merged:
            raise ValueError(f"{source}: unknown profile key {key!r}; known: {sorted(merged)}")
        if isinstance(merged[key], dict):
            if not isinstance(value, Mapping):
                raise ValueError(f"{source}: [{key}] must be a table")
            open_keys = key == "special_permanent_nationality"
            for k, v in value.items():
                if k not in merged[key] and not open_keys:
                    raise ValueError(f"{source}: unknown key {k!r} in [{key}]; known: {sorted(merged[key])}")
            merged[key] = dict(value) if open_keys else {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def _validate(raw: dict[str, Any], source: str) -> Profile:
    sections = {}
    for s in SECTIONS:
        sec = {}
        for k, v in raw[s].items():
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not (0.0 <= float(v) <= 1.0):
                raise ValueError(f"{source}: [{s}] {k} = {v!r} is not a probability in [0, 1]")
            sec[k] = float(v)
        sections[s] = sec
    for s, keys in _SUM_TO_ONE.items():
        total = sum(v for k, v in sections[s].items() if keys is None or k in keys)
        if not math.isclose(total, 1.0, abs_tol=1e-6):
            raise ValueError(f"{source}: the shares in [{s}] must sum to 1, got {total:.6f}")
    missing = set(CASE_KINDS) - set(sections["cases"])
    if missing:
        raise ValueError(f"{source}: [cases] lacks {sorted(missing)}")
    try:
        dt.date.fromisoformat(str(raw["reference_date"]))
    except ValueError as exc:
        raise ValueError(f"{source}: reference_date {raw['reference_date']!r} is not YYYY-MM-DD") from exc
    return Profile(
        **{s: MappingProxyType(sections[s]) for s in SECTIONS},
        reference_date=str(raw["reference_date"]),
        source=source,
    )


def profile_names() -> list[str]:
    """Names ``--profile NAME`` accepts: the TOML files shipped in ``profiles/``."""
    return sorted(p.stem for p in PROFILES_DIR.glob("*.toml"))


def _resolve(name_or_path: str | Path) -> Path:
    """A shipped profile by name (``clustered``), else a path to a TOML file."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    if path.suffix != ".toml" and path.name == str(name_or_path) and (PROFILES_DIR / f"{path.name}.toml").is_file():
        return PROFILES_DIR / f"{path.name}.toml"
    raise ValueError(f"profile not found: {name_or_path} (neither a file nor one of {profile_names()})")


def load_profile(path_or_none: "Profile | Mapping[str, Any] | str | Path | None" = None) -> Profile:
    """The default profile, or the default overridden by a shipped profile's name, a TOML file or a dict."""
    if isinstance(path_or_none, Profile):
        return path_or_none
    base = _read_toml(DEFAULT_PROFILE)
    if path_or_none is None:
        return _validate(base, str(DEFAULT_PROFILE))
    if isinstance(path_or_none, Mapping):
        return _validate(_merge(base, path_or_none, "profile"), "profile")
    path = _resolve(path_or_none)
    try:
        override = _read_toml(path)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML: {exc}") from exc
    return _validate(_merge(base, override, str(path)), str(path))
