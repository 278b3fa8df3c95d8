"""Writing the generated tables: Parquet, or CSV in UTF-8 or CP932 (Shift_JIS).

All columns are strings, so CSV keeps leading zeros and dates exactly as generated.

CP932 cannot hold every character the register uses. Rather than crash or write ``?``,
each such character is replaced deliberately, and the same replacement is available as
``cp932_safe`` so a reader can compare what it read with what was meant:

1. a registered variant CP932 lacks becomes its standard form (𠮷 -> 吉, 黃 -> 黄, ...);
2. a simplified Chinese character becomes its Japanese 正字 (张 -> 張, 刘 -> 劉, ...);
3. hiragana ゔ becomes katakana ヴ;
4. a character CP932 encodes but decodes as another (U+2212 − -> U+FF0D －, 〜 -> ～)
   is written as the character it will be read back as;
5. anything else becomes the geta mark 〓 (U+3013), the customary placeholder for a
   character the character set lacks (never ``?``, which could be data).

So a CP932 file always reads back exactly as ``cp932_safe`` of the UTF-8 values; Parquet
and UTF-8 CSV are lossless.
"""
from __future__ import annotations

import codecs
import io as _io
from contextvars import ContextVar
from functools import cache
from pathlib import Path
from typing import Mapping

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from . import vocab

FORMATS = ("parquet", "csv")
ENCODINGS = {"utf-8": "utf-8", "utf8": "utf-8", "cp932": "cp932", "shift_jis": "cp932", "sjis": "cp932",
             "windows-31j": "cp932"}
GETA = "\u3013"
_ERRORS = "jukimatch.cp932"
_BATCH_ROWS = 100_000
_substituted: ContextVar[list[int] | None] = ContextVar("jukimatch_cp932_substituted", default=None)


def _encodable(ch: str) -> bool:
    try:
        ch.encode("cp932")
    except UnicodeEncodeError:
        return False
    return True


@cache
def _translation() -> dict[int, str]:
    """Characters CP932 maps to another character on reading (six of them: ¢ £ ¬ ‖ − 〜)."""
    table = {}
    for cp in range(0x80, 0x10000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        ch = chr(cp)
        try:
            back = ch.encode("cp932").decode("cp932")
        except UnicodeError:
            continue
        if back != ch:
            table[cp] = back
    return table


@cache
def _fallbacks() -> dict[str, str]:
    """Replacements for characters CP932 cannot encode (rules 1-3 of the module doc)."""
    out: dict[str, str] = {"ゔ": "ヴ"}
    src, dst = vocab.variant_pairs()
    for a, b in zip(src, dst):
        # a variant missing from CP932 becomes whichever form of the pair CP932 holds
        if not _encodable(a) and _encodable(b):
            out.setdefault(a, b)
    seiji, simplified = vocab.simplified_pairs()
    for s, t in zip(simplified, seiji):
        if not _encodable(s) and _encodable(t):
            out.setdefault(s, t)
    return out


def _replace_unencodable(err: UnicodeError) -> tuple[str, int]:
    if not isinstance(err, UnicodeEncodeError):
        raise err
    bad = err.object[err.start: err.end]
    counter = _substituted.get()
    if counter is not None:
        counter[0] += len(bad)
    fb = _fallbacks()
    return "".join(fb.get(ch, GETA) for ch in bad), err.end


@cache
def _register() -> None:
    codecs.register_error(_ERRORS, _replace_unencodable)


def _encode_cp932(text: str) -> bytes:
    _register()
    for cp, back in _translation().items():  # a handful of characters; str.replace is a C scan
        ch = chr(cp)
        if ch in text:
            text = text.replace(ch, back)
    return text.encode("cp932", errors=_ERRORS)


def cp932_safe(text: str | None) -> str | None:
    """``text`` as it reads back from a CP932 file written by ``write_population``."""
    if text is None:
        return None
    return _encode_cp932(text).decode("cp932")


def _csv_options(header: bool) -> pacsv.WriteOptions:
    return pacsv.WriteOptions(include_header=header, quoting_style="needed")


def _write_csv(table: pa.Table, path: Path, encoding: str) -> int:
    """Write ``table`` as CSV; returns how many characters CP932 could not hold."""
    if encoding == "utf-8":
        pacsv.write_csv(table, path, write_options=_csv_options(True))
        return 0
    counter = [0]
    token = _substituted.set(counter)
    try:
        with open(path, "wb") as fh:
            for start in range(0, max(table.num_rows, 1), _BATCH_ROWS):
                buf = _io.BytesIO()
                pacsv.write_csv(table.slice(start, _BATCH_ROWS), buf, write_options=_csv_options(start == 0))
                fh.write(_encode_cp932(buf.getvalue().decode("utf-8")))
    finally:
        _substituted.reset(token)
    return counter[0]


def write_population(
    tables: Mapping[str, pa.Table],
    out_dir: str | Path,
    *,
    fmt: str = "parquet",
    encoding: str = "utf-8",
    substitutions: dict[str, int] | None = None,
) -> dict[str, Path]:
    """Write each table to ``out_dir/<name>.<fmt>``; returns the paths by table name.

    ``encoding`` applies to CSV (``utf-8`` or ``cp932``); Parquet is always UTF-8. Pass a
    dict as ``substitutions`` to receive, per table, how many characters CP932 replaced.
    """
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {FORMATS}, got {fmt!r}")
    enc = ENCODINGS.get(str(encoding).lower())
    if enc is None:
        raise ValueError(f"encoding must be utf-8 or cp932, got {encoding!r}")
    if fmt == "parquet" and enc != "utf-8":
        raise ValueError("Parquet is always UTF-8; the cp932 encoding applies to CSV only")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for name, table in tables.items():
        path = out / f"{name}.{fmt}"
        if fmt == "parquet":
            pq.write_table(table, path, compression="zstd")
            replaced = 0
        else:
            replaced = _write_csv(table, path, enc)
        if substitutions is not None:
            substitutions[name] = replaced
        paths[name] = path
    return paths


def read_table(path: str | Path, *, encoding: str = "utf-8") -> pa.Table:
    """Read back a table written by ``write_population``, every column as text."""
    path = Path(path)
    if path.suffix == ".parquet":
        return pq.read_table(path)
    enc = ENCODINGS.get(str(encoding).lower(), encoding)
    with open(path, "rb") as fh:
        header = fh.readline().decode(enc).strip().split(",")
    columns = [h.strip('"') for h in header]
    return pacsv.read_csv(
        path,
        read_options=pacsv.ReadOptions(encoding=enc),
        convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in columns},
                                             strings_can_be_null=True, quoted_strings_can_be_null=False),
    )
