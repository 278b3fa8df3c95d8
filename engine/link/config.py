"""The link configuration: columns, their normaliser and comparison, blocking rules, thresholds.

A configuration is TOML (read with ``tomllib``)::

    [link]
    id_column = "person_id"      # unique id of a record on each side
    threshold = 0.5              # match probability from which a pair is an automatic match
    review_threshold = 0.001     # from here up to threshold a pair goes to review (default: no band)
    max_pairs_per_rule = 50_000_000
    max_cluster_size = 20        # deduplication: no cluster grows beyond this
    one_to_one = true            # linking: each record in at most one link

    [[columns]]
    name = "name_alpha"          # input column
    normaliser = "alpha"         # a name in NORMALISERS
    comparison = "name_alpha"    # a name in engine.link.comparisons.LINK_COMPARISONS
    thresholds = [0.92, 0.8]     # only for comparisons that take them
    tf = true                    # term-frequency adjustment (see engine.link.model)
    tf_key = "sorted_tokens"     # the value TF counts: a key transform (default: the whole value)
    tf_levels = [4, 5]           # the levels TF adjusts (default: the exact level)
    group = "name"               # columns whose agreements are one piece of evidence (see below)
    m = [0.8, 0.2]               # fixed m per level, not estimated (optional)
    u = [0.9999999, 0.0000001]   # fixed u per level, not sampled (optional)

    [[blocking]]
    name = "dob+surname"         # optional, for reports
    keys = ["birth_date", "name_alpha:first_token"]
    unordered = false            # true: the key parts are matched in any order

Columns of one ``group`` record one fact in several notations (a name in alphabet, kanji
and kana), or facts that different people sharing that fact share too (the nationality and
resident class of a name): their agreements are not independent evidence. Within a group
only the strongest agreeing column counts (the largest positive weight), every disagreeing
column counts in full; and an EM session of a blocking rule that uses one column of a group
leaves the whole group out.

``m`` and ``u`` fix a column's probabilities, one per level from 0 up (they must sum to 1):
for identifiers whose chance agreement a sample of random pairs cannot measure (one in ten
million) and whose agreement among matches is too rare for EM to see.

A key is ``column`` (the whole normalised value) or ``column:transform``; the transforms
each normaliser supports are listed in :data:`KEY_TRANSFORMS`. Every error is one line that
names the file and the offending entry (:class:`ConfigError`).

:data:`DEFAULT_CONFIG` is the contract's person columns.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jukimatch.engine.io import InputError
from jukimatch.engine.link.blocking import MAX_PAIRS_PER_RULE
from jukimatch.engine.link.comparisons import LINK_COMPARISONS, Comparison, make_comparison

__all__ = [
    "ColumnSpec",
    "ConfigError",
    "DEFAULT_CONFIG",
    "KEY_TRANSFORMS",
    "LinkConfig",
    "NORMALISERS",
    "RuleSpec",
    "load_config",
    "parse_config",
]


class ConfigError(InputError):
    """An unusable link configuration; the message is one line naming file and entry."""


#: normaliser name -> the feature layout it produces (see engine.link.features)
NORMALISERS: dict[str, str] = {
    "alpha": "strings",  # passport names: A-Z tokens (engine.normalize.names)
    "kanji": "strings",  # kanji names, variants folded (engine.normalize.names)
    "kana": "strings",  # kana names, the standard spec's fuzzy key (engine.normalize.kana)
    "text": "strings",  # NFKC, upper case, one space between tokens
    "digits": "strings",  # NFKC, digits only
    "alnum": "strings",  # NFKC, upper case, letters and digits only
    "my_number": "strings",  # 12 digits with a valid check digit, else null (engine.validate.checkdigit)
    "date": "date",  # birth dates, known parts (engine.normalize.dates)
    "sex": "sex",  # JIS X 0303 codes (engine.normalize.dates)
    "address": "address",  # Japanese addresses in five parts (engine.normalize.address)
}

#: key transforms by feature layout ("" is the whole value)
KEY_TRANSFORMS: dict[str, tuple[str, ...]] = {
    "strings": ("", "first_token", "last_token", "sorted_tokens", "nospace", "prefix1", "prefix2",
                "prefix3", "prefix4", "prefix5"),
    "date": ("", "year", "month_day"),
    "sex": ("",),
    "address": ("", "block", "town", "city"),
}

_LINK_KEYS = {"id_column", "threshold", "review_threshold", "max_pairs_per_rule", "max_cluster_size", "one_to_one",
              "u_sample", "seed"}
_COLUMN_KEYS = {"name", "normaliser", "comparison", "thresholds", "tf", "tf_key", "tf_levels", "group", "m", "u"}
_RULE_KEYS = {"name", "keys", "unordered"}


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    normaliser: str
    comparison: Comparison
    tf: bool = False
    group: str | None = None
    tf_key: str = ""  # key transform whose value frequencies the TF adjustment uses ("" = whole value)
    tf_levels: tuple[int, ...] = ()  # levels the TF adjustment applies to (default: the exact level)
    m: tuple[float, ...] | None = None  # fixed m per level (not estimated)
    u: tuple[float, ...] | None = None  # fixed u per level (not sampled)

    def __post_init__(self) -> None:
        if self.tf and not self.tf_levels:
            object.__setattr__(self, "tf_levels", (self.comparison.exact_level,))

    @property
    def kind(self) -> str:
        return NORMALISERS[self.normaliser]


@dataclass(frozen=True)
class RuleSpec:
    name: str
    keys: tuple[tuple[str, str], ...]  # (column, transform)
    unordered: bool = False


@dataclass(frozen=True)
class LinkConfig:
    columns: tuple[ColumnSpec, ...]
    rules: tuple[RuleSpec, ...]
    id_column: str = "person_id"
    threshold: float = 0.5
    review_threshold: float | None = None
    max_pairs_per_rule: int = MAX_PAIRS_PER_RULE
    max_cluster_size: int = 20
    one_to_one: bool = True
    u_sample: int = 1_000_000
    seed: int = 20270319
    source: str = "<default>"
    raw: dict = field(default_factory=dict, compare=False, repr=False)

    def groups(self) -> dict[str, list[int]]:
        """Column indexes of each group of two or more columns."""
        out: dict[str, list[int]] = {}
        for i, c in enumerate(self.columns):
            if c.group:
                out.setdefault(c.group, []).append(i)
        return {g: ix for g, ix in out.items() if len(ix) > 1}

    def column(self, name: str) -> ColumnSpec:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    def to_dict(self) -> dict:
        return {
            "source": self.source,
            "id_column": self.id_column,
            "threshold": self.threshold,
            "review_threshold": self.review_threshold,
            "max_pairs_per_rule": self.max_pairs_per_rule,
            "max_cluster_size": self.max_cluster_size,
            "one_to_one": self.one_to_one,
            "columns": [{"name": c.name, "normaliser": c.normaliser, "comparison": c.comparison.name,
                         "levels": c.comparison.n_levels, "tf": c.tf, "group": c.group}
                        | ({"tf_key": c.tf_key, "tf_levels": list(c.tf_levels)} if c.tf else {})
                        | ({"m": list(c.m)} if c.m else {}) | ({"u": list(c.u)} if c.u else {})
                        for c in self.columns],
            "blocking": [{"name": r.name, "keys": [f"{c}:{t}" if t else c for c, t in r.keys],
                          "unordered": r.unordered} for r in self.rules],
        }


DEFAULT_CONFIG = """
# The contract's person columns (residents or responses tables).
[link]
id_column = "person_id"
# automatic match from this probability; from review_threshold up to it a person looks
threshold = 0.5
review_threshold = 0.001

# One name in three notations. Term frequencies of the whole name (tokens in any order for
# the alphabet, without spaces for kanji and kana) adjust the exact and the
# "reordered / spacing" levels: a shared NGUYEN VAN TU says less than a shared rare name.
[[columns]]
name = "name_alpha"
normaliser = "alpha"
comparison = "name_alpha"
tf = true
tf_key = "sorted_tokens"
tf_levels = [4, 5]
group = "name"

[[columns]]
name = "name_kanji"
normaliser = "kanji"
comparison = "name_kanji"
tf = true
tf_key = "nospace"
tf_levels = [3, 4]
group = "name"

[[columns]]
name = "name_kana"
normaliser = "kana"
comparison = "name_kana"
tf = true
tf_key = "nospace"
tf_levels = [3, 4]
group = "name"

# Different people who share a name share its nationality and mostly its resident class:
# in the name's group, their agreement adds nothing to the name's, their disagreement counts.
[[columns]]
name = "nationality"
normaliser = "alnum"
comparison = "exact"
group = "name"

[[columns]]
name = "resident_class"
normaliser = "text"
comparison = "exact"
group = "name"

# Birth dates are not uniform either (most residents are young): a shared common date weighs
# less. Two records with the same partial date (1980-07-00) share a rare value: adjusted too.
[[columns]]
name = "birth_date"
normaliser = "date"
comparison = "date"
tf = true
tf_levels = [4, 5]

[[columns]]
name = "sex"
normaliser = "sex"
comparison = "sex"

[[columns]]
name = "address"
normaliser = "address"
comparison = "address"

# Identifiers. A sample of a million random pairs cannot measure how often two people show
# one number, and matches that show it are too few for EM: m and u are set.
# My Number (valid check digit only; others are compared as unknown): two people hold one
# number only through an entry error (u 1e-6: +20 bits); two different valid numbers of one
# person mean one of them is wrong (m 0.05: -4.3 bits).
[[columns]]
name = "my_number"
normaliser = "my_number"
comparison = "exact"
m = [0.05, 0.95]
u = [0.999999, 0.000001]

# Residence card: a card number belongs to one card (u 1e-7: +21 bits when equal); a new card
# comes with each renewal or change, so a different number is weak evidence (m 0.8: -0.3 bits).
[[columns]]
name = "card_number"
normaliser = "alnum"
comparison = "exact"
m = [0.8, 0.2]
u = [0.9999999, 0.0000001]

[[blocking]]
name = "birth date + alphabet surname"
keys = ["birth_date", "name_alpha:first_token"]

[[blocking]]
name = "birth date + kana name"
keys = ["birth_date", "name_kana:nospace"]

[[blocking]]
name = "birth date + kanji name"
keys = ["birth_date", "name_kanji:nospace"]

[[blocking]]
name = "alphabet name (any order) + kanji name"
keys = ["name_alpha:sorted_tokens", "name_kanji:nospace"]

[[blocking]]
name = "alphabet name (any order) + kana name"
keys = ["name_alpha:sorted_tokens", "name_kana:nospace"]

[[blocking]]
name = "alphabet name (any order) + municipality"
keys = ["name_alpha:sorted_tokens", "address:city"]

[[blocking]]
name = "birth year + alphabet name (any order)"
keys = ["birth_date:year", "name_alpha:sorted_tokens"]

[[blocking]]
name = "address block + birth year"
keys = ["address:block", "birth_date:year"]

[[blocking]]
name = "number"
keys = ["my_number"]

[[blocking]]
name = "residence card number"
keys = ["card_number"]
"""


def _fail(source: str, where: str, msg: str) -> ConfigError:
    return ConfigError(f"{source}: {where}: {msg}")


def _check_keys(d: dict, allowed: set[str], source: str, where: str) -> None:
    unknown = sorted(set(d) - allowed)
    if unknown:
        raise _fail(source, where, f"unknown key {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})")


def _typed(d: dict, key: str, types, source: str, where: str, default: Any = None, required: bool = False):
    if key not in d:
        if required:
            raise _fail(source, where, f"missing key {key!r}")
        return default
    v = d[key]
    if isinstance(v, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
        raise _fail(source, f"{where}.{key}", f"expected {_tname(types)}, got {v!r}")
    if not isinstance(v, types):
        raise _fail(source, f"{where}.{key}", f"expected {_tname(types)}, got {v!r}")
    return v


def _tname(types) -> str:
    types = types if isinstance(types, tuple) else (types,)
    return " or ".join({str: "a string", int: "an integer", float: "a number", bool: "true/false",
                        list: "a list", dict: "a table"}.get(t, t.__name__) for t in types)


def parse_config(data: dict, source: str = "<config>") -> LinkConfig:
    """A validated :class:`LinkConfig` from a parsed TOML document."""
    if not isinstance(data, dict):
        raise _fail(source, "top level", "expected a table")
    _check_keys(data, {"link", "columns", "blocking"}, source, "top level")
    link = _typed(data, "link", dict, source, "top level", default={})
    _check_keys(link, _LINK_KEYS, source, "[link]")
    id_column = _typed(link, "id_column", str, source, "[link]", default="person_id")
    threshold = float(_typed(link, "threshold", (int, float), source, "[link]", default=0.5))
    if not 0.0 < threshold < 1.0:
        raise _fail(source, "[link].threshold", f"must be a probability strictly between 0 and 1, got {threshold}")
    review = _typed(link, "review_threshold", (int, float), source, "[link]")
    if review is not None:
        review = float(review)
        if not 0.0 < review <= threshold:
            raise _fail(source, "[link].review_threshold",
                        f"must be a probability above 0 and at most threshold ({threshold}), got {review}")
    max_pairs = _typed(link, "max_pairs_per_rule", int, source, "[link]", default=MAX_PAIRS_PER_RULE)
    if max_pairs < 1:
        raise _fail(source, "[link].max_pairs_per_rule", f"must be at least 1, got {max_pairs}")
    max_cluster = _typed(link, "max_cluster_size", int, source, "[link]", default=20)
    if max_cluster < 2:
        raise _fail(source, "[link].max_cluster_size", f"must be at least 2, got {max_cluster}")
    one_to_one = _typed(link, "one_to_one", bool, source, "[link]", default=True)
    u_sample = _typed(link, "u_sample", int, source, "[link]", default=1_000_000)
    if u_sample < 1000:
        raise _fail(source, "[link].u_sample", f"must be at least 1000, got {u_sample}")
    seed = _typed(link, "seed", int, source, "[link]", default=20270319)

    raw_cols = _typed(data, "columns", list, source, "top level", required=True)
    if not raw_cols:
        raise _fail(source, "columns", "at least one [[columns]] entry is needed")
    columns: list[ColumnSpec] = []
    seen: set[str] = set()
    for i, c in enumerate(raw_cols):
        where = f"columns[{i}]"
        if not isinstance(c, dict):
            raise _fail(source, where, "expected a table ([[columns]])")
        _check_keys(c, _COLUMN_KEYS, source, where)
        name = _typed(c, "name", str, source, where, required=True)
        where = f"columns[{i}] ({name})"
        if name in seen:
            raise _fail(source, where, "column listed twice")
        if name == id_column:
            raise _fail(source, where, f"the id column {id_column!r} cannot also be compared")
        seen.add(name)
        norm = _typed(c, "normaliser", str, source, where, required=True)
        if norm not in NORMALISERS:
            raise _fail(source, f"{where}.normaliser",
                        f"unknown normaliser {norm!r} (known: {', '.join(sorted(NORMALISERS))})")
        comp_name = _typed(c, "comparison", str, source, where, required=True)
        if comp_name not in LINK_COMPARISONS:
            raise _fail(source, f"{where}.comparison",
                        f"unknown comparison {comp_name!r} (known: {', '.join(sorted(LINK_COMPARISONS))})")
        thresholds = _typed(c, "thresholds", list, source, where)
        try:
            comp = make_comparison(comp_name, thresholds)
        except ValueError as exc:
            raise _fail(source, f"{where}.thresholds", str(exc)) from None
        if comp.kind != NORMALISERS[norm]:
            fitting = sorted(k for k, v in NORMALISERS.items() if v == comp.kind)
            raise _fail(source, f"{where}.comparison",
                        f"comparison {comp_name!r} reads {comp.kind} values, normaliser {norm!r} makes "
                        f"{NORMALISERS[norm]} (use one of: {', '.join(fitting)})")
        tf = _typed(c, "tf", bool, source, where, default=False)
        if tf and comp.kind not in ("strings", "date"):
            raise _fail(source, f"{where}.tf", f"term-frequency adjustment needs text or date values, not {comp.kind}")
        tf_key = _typed(c, "tf_key", str, source, where, default="")
        tf_levels = _typed(c, "tf_levels", list, source, where)
        if (tf_key or tf_levels is not None) and not tf:
            raise _fail(source, where, "tf_key and tf_levels need tf = true")
        if tf_key not in KEY_TRANSFORMS[comp.kind]:
            allowed = ", ".join(t or "(whole value)" for t in KEY_TRANSFORMS[comp.kind])
            raise _fail(source, f"{where}.tf_key", f"transform {tf_key!r} does not apply to {comp.kind} values "
                        f"(allowed: {allowed})")
        if tf_levels is not None:
            if (not tf_levels or not all(isinstance(k, int) and not isinstance(k, bool) for k in tf_levels)
                    or not all(0 < k < comp.n_levels for k in tf_levels) or len(set(tf_levels)) != len(tf_levels)):
                raise _fail(source, f"{where}.tf_levels", f"expected distinct agreeing levels 1..{comp.n_levels - 1} "
                            f"of comparison {comp_name!r}, got {tf_levels!r}")
            tf_levels = tuple(sorted(tf_levels))
        fixed = {}
        for key in ("m", "u"):
            v = _typed(c, key, list, source, where)
            if v is None:
                continue
            if (len(v) != comp.n_levels or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v)
                    or not all(0.0 < x < 1.0 for x in v) or abs(sum(v) - 1.0) > 1e-6):
                raise _fail(source, f"{where}.{key}", f"expected {comp.n_levels} probabilities (levels 0.."
                            f"{comp.n_levels - 1}) strictly between 0 and 1 that sum to 1, got {v!r}")
            fixed[key] = tuple(float(x) for x in v)
        group = _typed(c, "group", str, source, where)
        columns.append(ColumnSpec(name, norm, comp, tf, group or None, tf_key, tf_levels or (), fixed.get("m"),
                                  fixed.get("u")))

    by_name = {c.name: c for c in columns}
    raw_rules = _typed(data, "blocking", list, source, "top level", required=True)
    if not raw_rules:
        raise _fail(source, "blocking", "at least one [[blocking]] rule is needed")
    rules: list[RuleSpec] = []
    for i, r in enumerate(raw_rules):
        where = f"blocking[{i}]"
        if not isinstance(r, dict):
            raise _fail(source, where, "expected a table ([[blocking]])")
        _check_keys(r, _RULE_KEYS, source, where)
        keys = _typed(r, "keys", list, source, where, required=True)
        if not keys or not all(isinstance(k, str) for k in keys):
            raise _fail(source, f"{where}.keys", "expected a non-empty list of strings")
        parsed = []
        for k in keys:
            col, _, transform = k.partition(":")
            if col not in by_name:
                raise _fail(source, f"{where}.keys", f"{k!r}: no [[columns]] entry named {col!r}")
            kind = by_name[col].kind
            if transform not in KEY_TRANSFORMS[kind]:
                allowed = ", ".join(t or "(whole value)" for t in KEY_TRANSFORMS[kind])
                raise _fail(source, f"{where}.keys", f"{k!r}: transform {transform!r} does not apply to "
                            f"{kind} values (allowed: {allowed})")
            parsed.append((col, transform))
        name = _typed(r, "name", str, source, where, default=" + ".join(keys))
        unordered = _typed(r, "unordered", bool, source, where, default=False)
        rules.append(RuleSpec(name, tuple(parsed), unordered))
    return LinkConfig(tuple(columns), tuple(rules), id_column, threshold, review, max_pairs, max_cluster, one_to_one,
                      u_sample, seed, source, data)


def load_config(path: str | Path | None = None) -> LinkConfig:
    """The configuration in the TOML file ``path``, or :data:`DEFAULT_CONFIG` when None."""
    if path is None:
        return parse_config(tomllib.loads(DEFAULT_CONFIG), "<default config>")
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"{p}: no such file")
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{p}: not UTF-8 text") from None
    return parse_config(data, str(p))
