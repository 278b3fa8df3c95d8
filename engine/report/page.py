"""report.html: one self-contained page that lets a person trust (or distrust) a reconciliation run.

A run decides whose My Number gets registered; the people signing that off need to see, in one
file they can mail or archive, that no row was lost, why each decision was taken, what the
model learned, and how individual scores came about (Splink-style waterfalls). Hence:

- one HTML file, no external resources: plots are inline SVG written here by hand (rects,
  paths and text; no plotting library), so the page costs milliseconds to write at 1M pairs,
  stays sharp at any zoom, and the reconcile path imports nothing heavy for it;
- plots draw binned counts (one ``np.bincount`` per field, one for the weight histogram) —
  never one mark per pair — so the page stays small and fast at millions of pairs; the
  waterfalls are a capped sample (``_WATERFALLS`` per decision);
- no My Number in clear: the ``my_number`` column of decisions is never read, candidates show
  only ``my_number_masked``, and every data string — in tables and in plots alike — is scrubbed
  of 12-digit runs before it is escaped (a number typed into a name or address field must not
  leak through the report);
- written like the run's other outputs: atomically and owner-only (0600).
"""
from __future__ import annotations

import html
import math
import textwrap
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from jukimatch.engine.files.atomic import atomic_write_bytes
from jukimatch.engine.masking import mask
from jukimatch.engine.model import Model, weight_of
from jukimatch.engine.outcomes import DECISIONS, MATCH, NO_MATCH, REASONS, REVIEW

__all__ = ["write_report"]

_COLORS = {
    MATCH: "#2e7d32", REVIEW: "#ef6c00", NO_MATCH: "#78909c",
    "pending": "#1565c0", "rejected": "#c62828", "all pairs": "#455a64",
}
_W = 700  # plot width, px (the page is 780 px wide)
_BINS = 120
_WATERFALLS = 8  # per decision shown
_WF_H = 250  # waterfall height, px
# Field → short kind, the other key LEVEL_LABELS may use.
_KIND = {"name_alpha": "alpha", "name_kanji": "kanji", "name_kana": "kana",
         "birth_date": "date", "sex": "sex", "address": "address"}

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI","Hiragino Sans","Noto Sans JP",sans-serif;
max-width:780px;margin:1.5em auto;padding:0 1em;color:#212121}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.2em;border-bottom:1px solid #ccc;margin-top:1.8em}
h3{font-size:1em;margin:1.2em 0 .3em}
table{border-collapse:collapse;margin:.4em 0 .8em;font-size:13px}
th,td{border:1px solid #ddd;padding:2px 7px;text-align:left;vertical-align:top}
th{background:#f5f5f5}td.n{text-align:right;font-variant-numeric:tabular-nums}
.ok{background:#e8f5e9;border:2px solid #2e7d32;padding:.5em .8em;font-weight:600}
.bad{background:#ffebee;border:3px solid #c62828;padding:.6em .8em;font-weight:700;color:#b71c1c;font-size:1.1em}
.warn{background:#fff8e1;border:1px solid #f9a825;padding:.4em .8em}
.muted{color:#666;font-size:12px}code{font-size:12px}
.bar{display:inline-block;height:10px;background:#90a4ae;vertical-align:middle}
mark{background:#fff3c4}.wf{border:1px solid #e0e0e0;padding:.3em .8em;margin:.8em 0}
svg.plot{display:block;max-width:100%;height:auto;margin:.5em 0}
svg.plot text{font-size:11px;fill:#333}svg.plot .s{font-size:9px}svg.plot .b{font-weight:600}
"""


def write_report(path: str | Path, *, summary: dict, decisions: pa.Table, review: pa.Table, levels: np.ndarray,
                 weight: np.ndarray, pair_decision: np.ndarray | None, model: Model | None,
                 sample: pa.Table | None = None, blocking: dict | None = None, title: str | None = None,
                 reasons: dict[str, str] | None = None) -> None:
    """Write the self-contained ``report.html`` of one reconciliation run to ``path``.

    ``summary`` is the dict ``reconcile.run`` builds; ``decisions`` and ``review`` are the tables
    written beside it; ``levels`` (pairs × fields, int8, -1 = null), ``weight`` (bits) and
    ``pair_decision`` (the decision of each pair's person: strings, or int codes into
    ``DECISIONS``) describe every compared pair;
    ``model`` is the fitted or reused model (None when no pair was compared); ``sample`` is an
    optional table shaped like ``review`` plus a ``decision`` column with candidates of match
    and review persons to explain with waterfalls (without it, review rows only).
    ``blocking`` (optional, from a link run: ``{"rules": [{"name", "pairs", "new_pairs"}],
    "candidate_pairs": n, ...}``) adds a section on candidate generation; ``title`` replaces
    the page title.
    """
    levels = np.asarray(levels)
    weight = np.asarray(weight, dtype=np.float64)
    if levels.ndim != 2:
        levels = levels.reshape(len(weight), -1) if levels.size else np.zeros((len(weight), 0), np.int8)
    if len(levels) != len(weight):
        raise ValueError(f"levels has {len(levels)} pairs but weight has {len(weight)}")
    if pair_decision is not None and len(pair_decision) != len(weight):
        raise ValueError(f"pair_decision has {len(pair_decision)} entries but weight has {len(weight)}")
    if model is None and summary.get("model"):
        model = Model.from_dict(summary["model"])
    fields = _fields(model, review, levels)
    labels = _level_labels(fields)
    groups, codes = _pair_groups(pair_decision, len(weight))
    scoring_prior = (summary.get("thresholds") or {}).get("prior_bits")

    parts = [
        _header(summary, decisions, review),
        _reasons_section(summary, {**REASONS, **(reasons or {})}),
        *([_risk_section(summary)] if summary.get("expected_wrong_numbers") else []),
        _weights_section(summary, weight, groups, codes),
        _levels_section(fields, labels, levels, groups, codes, model),
        _model_section(fields, labels, model, scoring_prior),
        _timings_section(summary),
        *([_blocking_section(blocking)] if blocking else []),
        _waterfalls_section(fields, labels, review, sample, model, scoring_prior),
        '<p class="muted">Privacy: My Numbers are never shown in clear; candidates show the last four '
        "digits only, and any run of 12 digits in the data shown here is masked the same way.</p>",
    ]
    doc = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{html.escape(title or 'jukimatch reconciliation report')}</title><style>{_CSS}</style></head><body>\n"
        + "\n".join(parts)
        + "\n</body></html>\n"
    )
    atomic_write_bytes(Path(path), doc.encode("utf-8"))


# --- small helpers --------------------------------------------------------------------------

def _e(value: Any) -> str:
    """Data → HTML text: None shown as an em dash, numbers scrubbed, everything escaped."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return '<span class="muted">—</span>'
    return html.escape(mask(str(value)), quote=True)


def _n(x: int | float) -> str:
    return f"{x:,}" if isinstance(x, (int, np.integer)) else f"{x:,.4g}"


def _bits(p: float) -> float:
    """Match probability → match weight in bits, w = log2(p / (1 - p))."""
    return weight_of(p)


def _fmt_prob(w: float) -> str:
    """Probability of a weight, with the distance to 1 spelled out when it is close to 1."""
    if w is None or not math.isfinite(w):
        return "—"
    q = 1.0 / (1.0 + 2.0 ** min(w, 1000.0))  # 1 - p, exact in the tail
    if q < 1e-3:
        return f"1 − {q:.1e}"
    return f"{1.0 - q:.4f}"


def _fmt_share(p: float) -> str:
    """A share in [0, 1] readable at both ends (EM priors often sit within 1e-9 of 1)."""
    if 1.0 - p < 1e-4:
        return f"1 − {1.0 - p:.1e}"
    return f"{p:.2e}" if p < 1e-4 else f"{p:.6g}"


# --- inline SVG -------------------------------------------------------------------------------
# A plot here is a few dozen rects, paths and labels over pre-binned counts: written by hand it
# costs microseconds, where a plotting library costs ~0.1 s a figure and ~0.5 s to import.

def _f(x: float) -> str:
    """A coordinate with one decimal, ``.0`` dropped: the SVG stays small."""
    s = f"{x:.1f}"
    return s[:-2] if s.endswith(".0") else s


def _t(value: Any) -> str:
    """Text for an SVG label: masked like every data string, then escaped for XML."""
    return html.escape(mask(str(value)), quote=True)


class _Svg:
    """One plot: elements appended in drawing order, rendered as an inline ``<svg>``."""

    def __init__(self, width: float, height: float, alt: str) -> None:
        self.w, self.h, self.alt = width, height, alt
        self.parts: list[str] = []

    def rect(self, x: float, y: float, w: float, h: float, fill: str, tip: str | None = None) -> None:
        body = f"<title>{_t(tip)}</title></rect>" if tip else "/>"
        self.parts.append(f'<rect x="{_f(x)}" y="{_f(y)}" width="{_f(max(w, 0.0))}" '
                          f'height="{_f(max(h, 0.0))}" fill="{fill}"' + (">" + body if tip else body))

    def line(self, x1: float, y1: float, x2: float, y2: float, stroke: str = "#333", width: float = 1.0,
             dash: str | None = None) -> None:
        d = f' stroke-dasharray="{dash}"' if dash else ""
        self.parts.append(f'<line x1="{_f(x1)}" y1="{_f(y1)}" x2="{_f(x2)}" y2="{_f(y2)}" stroke="{stroke}" '
                          f'stroke-width="{width}"{d}/>')

    def path(self, d: str, fill: str = "none", stroke: str = "none", extra: str = "") -> None:
        self.parts.append(f'<path d="{d}" fill="{fill}" stroke="{stroke}"{extra}/>')

    def text(self, x: float, y: float, text: Any, anchor: str = "start", cls: str = "", fill: str = "",
             rotate: bool = False) -> None:
        """A label whose middle sits at ``y``; ``rotate`` turns it to read bottom-up (y axes)."""
        attrs = f' text-anchor="{anchor}"' if anchor != "start" else ""
        attrs += f' class="{cls}"' if cls else ""
        attrs += f' style="fill:{fill}"' if fill else ""
        attrs += f' transform="rotate(-90 {_f(x)} {_f(y)})"' if rotate else ""
        self.parts.append(f'<text x="{_f(x)}" y="{_f(y)}" dy=".35em"{attrs}>{_t(text)}</text>')

    def render(self) -> str:
        alt = _t(self.alt)
        return (f'<svg xmlns="http://www.w3.org/2000/svg" class="plot" viewBox="0 0 {_f(self.w)} {_f(self.h)}" '
                f'width="{_f(self.w)}" height="{_f(self.h)}" role="img" aria-label="{alt}"><title>{alt}</title>'
                + "".join(self.parts) + "</svg>")


def _scale(lo: float, hi: float, a: float, b: float):
    """The linear map of [lo, hi] onto pixels [a, b] (works on arrays too)."""
    k = (b - a) / ((hi - lo) or 1.0)
    return lambda v: a + (v - lo) * k


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About ``n`` round tick values (steps of 1, 2, 2.5 or 5 × 10^k) within [lo, hi]."""
    if not hi > lo:
        return [lo]
    raw = (hi - lo) / n
    mag = 10.0 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw * 0.999)
    first = math.ceil(lo / step - 1e-9)
    return [round(i * step, 10) for i in range(first, math.floor(hi / step + 1e-9) + 1)]


def _short(v: float) -> str:
    """An axis number: 400k, 1.5M, 12, −20 (a true minus sign)."""
    a = abs(v)
    text = f"{a / 1e6:g}M" if a >= 1e6 else f"{a / 1e3:g}k" if a >= 1e4 else f"{a:g}"
    return ("−" if v < 0 else "") + text


def _legend(svg: _Svg, y: float, items: list[tuple[str, str]]) -> None:
    """Colour swatches with their names, centred on one line at ``y`` (text width estimated)."""
    widths = [26 + 6.3 * len(text) for _, text in items]
    x = (svg.w - sum(widths)) / 2
    for (color, text), w in zip(items, widths):
        svg.rect(x, y - 5, 12, 10, color)
        svg.text(x + 16, y, text)
        x += w


def _x_axis(svg: _Svg, ticks: list[float], sx, y: float, top: float | None = None, cls: str = "") -> None:
    """Tick marks and numbers below ``y``; grid lines up to ``top`` when given."""
    for t in ticks:
        x = sx(t)
        if top is not None:
            svg.line(x, top, x, y, "#eee")
        svg.line(x, y, x, y + 3, "#666")
        svg.text(x, y + 11, _short(t), "middle", cls)


def _table(head: Iterable[str], rows: Iterable[Iterable[str]], numeric: Iterable[int] = ()) -> str:
    """Rows of already-escaped cells; column indexes in ``numeric`` are right-aligned."""
    num = set(numeric)
    h = "".join(f"<th>{c}</th>" for c in head)
    body = "".join(
        "<tr>" + "".join(f'<td class="n">{c}</td>' if i in num else f"<td>{c}</td>" for i, c in enumerate(r))
        + "</tr>"
        for r in rows
    )
    return f"<table><tr>{h}</tr>{body}</table>"


def _fields(model: Model | None, review: pa.Table, levels: np.ndarray) -> list[str]:
    """Field names from the model, else from the review columns, else ``field0..``."""
    if model is not None:
        return list(model.fields)
    names = [c[len("level_"):] for c in review.column_names if c.startswith("level_")]
    if names and (levels.shape[1] in (0, len(names))):
        return names
    return [f"field{i}" for i in range(levels.shape[1])]


def _level_labels(fields: list[str]) -> dict[str, Any]:
    """Level labels per field from ``engine.compare.LEVEL_LABELS`` when that module is importable."""
    try:
        from jukimatch.engine.compare.levels import LEVEL_LABELS  # optional: the report must not depend on compare at import
    except ImportError:
        return {}
    if not isinstance(LEVEL_LABELS, dict):
        return {}
    out = {}
    for f in fields:
        lab = LEVEL_LABELS.get(f) or LEVEL_LABELS.get(_KIND.get(f, f), {})
        out[f] = lab or {}
    return out


def _label(labels: dict[str, Any], field: str, level: int) -> str:
    """Text label of a level (empty when none is known); -1 is always 'null'."""
    if level < 0:
        return "null"
    lab = labels.get(field, {})
    try:
        text = lab.get(level) if isinstance(lab, dict) else lab[level]
    except (IndexError, TypeError):
        text = None
    return "" if text is None else str(text)


def _tick(labels: dict[str, Any], field: str, level: int, width: int = 0) -> str:
    """'level text' for a plot label (the bare level when no text is known); cut to ``width``
    characters when given."""
    if level < 0:
        return "null"
    text = _label(labels, field, level)
    out = f"{level} {text}" if text else str(level)
    return out[: width - 1] + "…" if width and len(out) > width else out


def _pair_groups(pair_decision: np.ndarray | None, n: int) -> tuple[list[str], np.ndarray]:
    """Decision groups present among pairs and a small int code per pair (index into groups).

    Each decision is looked for only among the pairs no earlier one claimed: most pairs are
    matches, so the other comparisons run over a few per cent of the pairs (an object array
    compares string by string: five full passes cost ~0.1 s at 1M pairs).
    """
    if pair_decision is None:
        return ["all pairs"], np.zeros(n, dtype=np.int8)
    if np.issubdtype(np.asarray(pair_decision).dtype, np.integer):  # codes into DECISIONS
        code = np.asarray(pair_decision, dtype=np.int64)
        present = np.bincount(code, minlength=len(DECISIONS)) > 0
        group_of = (np.cumsum(present) - 1).astype(np.int8)
        return [d for d, here in zip(DECISIONS, present) if here], group_of[code]
    rest = np.asarray(pair_decision, dtype=object)
    where = np.arange(n)
    codes = np.full(n, -1, dtype=np.int8)
    groups: list[str] = []
    found = {}
    for d in sorted(DECISIONS, key=lambda d: d != MATCH):  # matches first: the bulk
        hit = rest == d
        if hit.any():
            found[d] = where[hit]
            keep = ~hit
            rest, where = rest[keep], where[keep]
    for d in DECISIONS:  # groups in the usual order, whatever the order of the search
        if d in found:
            codes[found[d]] = len(groups)
            groups.append(d)
    if len(where):
        codes[where] = len(groups)
        groups.append("other")
    return groups, codes


# --- sections -------------------------------------------------------------------------------

def _header(summary: dict, decisions: pa.Table, review: pa.Table) -> str:
    rows = summary.get("rows", {})
    n_in, n_out = rows.get("residents_in"), rows.get("decisions_out")
    counts = summary.get("decisions", {})
    # Count again from the table itself: the report must not merely echo the summary.
    seen: dict[str, int] = {}
    if decisions.num_rows:
        vc = pc.value_counts(decisions.column("decision")).to_pylist()
        seen = {str(x["values"]): int(x["counts"]) for x in vc}
    problems = []
    if n_in is None or n_out is None or n_in != n_out:
        problems.append(f"{_e(n_in)} resident rows in, {_e(n_out)} decision rows out")
    if n_out is not None and decisions.num_rows != n_out:
        problems.append(f"the decisions table holds {_n(decisions.num_rows)} rows, the summary says {_e(n_out)}")
    if sum(counts.values()) != decisions.num_rows:
        problems.append(f"decision counts add up to {_n(sum(counts.values()))}, not {_n(decisions.num_rows)}")
    if seen and any(seen.get(k, 0) != v for k, v in counts.items()):
        problems.append("decision counts in the summary differ from the decisions table")
    if rows.get("conserved") is False and not problems:
        problems.append("response rows are not all accounted for (see the responses table below)")
    if problems or rows.get("conserved") is not True:
        why = "; ".join(problems or ["conservation not recorded in the summary"])
        banner = f'<p class="bad">✘ ROWS NOT CONSERVED — do not use this run: {why}.</p>'
    else:
        banner = (f'<p class="ok">✔ Rows in = rows out: {_n(n_in)} resident rows in, {_n(n_out)} decisions out; '
                  "every response row accounted for.</p>")
    total = max(decisions.num_rows, 1)
    drows = []
    for d in (*DECISIONS, *[k for k in counts if k not in DECISIONS]):
        c = int(counts.get(d, 0))
        width = round(200 * c / total)
        drows.append([f'<b style="color:{_COLORS.get(d, "#000")}">{_e(d)}</b>', _n(c), f"{100 * c / total:.2f}%",
                      f'<span class="bar" style="width:{width}px;background:{_COLORS.get(d, "#90a4ae")}"></span>'])
    drows.append(["<b>total</b>", f"<b>{_n(sum(int(v) for v in counts.values()))}</b>", "", ""])
    resp = [[_e(k.replace("_", " ")), _e(v)] for k, v in rows.items() if k.startswith("responses")]
    inputs = summary.get("inputs", {})
    reused = " (a saved model was reused)" if summary.get("model_reused") else ""
    n_review_persons = len(pc.unique(review.column("person_id"))) if review.num_rows else 0
    return (
        f"<h1>{_e(summary.get('report_title') or 'jukimatch reconciliation report')}</h1>"
        + "".join(f'<div class="muted">{_e(k)}: <code>{_e(v)}</code></div>' for k, v in inputs.items())
        + f'<section id="summary"><h2>Decisions</h2>{banner}'
        + _table(["decision", "persons", "share", ""], drows, numeric=(1, 2))
        + f"<p>Review queue: {_n(review.num_rows)} rows for {_n(n_review_persons)} persons{reused}.</p>"
        + "<h3>Responses</h3>" + _table(["responses", "rows"], resp, numeric=(1,))
        + _thresholds_table(summary)
        + "</section>"
    )


def _thresholds_table(summary: dict) -> str:
    th = summary.get("thresholds", {})
    rows = []
    for k, v in th.items():
        bits = f"{_bits(v):.2f} bits" if k.endswith("probability") and 0 < v < 1 else ""
        rows.append([_e(k.replace("_", " ")), _e(v), bits])
    if not rows:
        return ""
    return "<h3>Thresholds</h3>" + _table(["threshold", "value", "as match weight"], rows, numeric=(1, 2))


def _reasons_section(summary: dict, explanations: dict[str, str]) -> str:
    counts = summary.get("reasons", {})
    rows = []
    for code, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        if code in explanations:
            why = explanations[code]
        elif ":" in code:
            f, err = code.split(":", 1)
            why = f"input row rejected: field {f}, {err.replace('_', ' ')}"
        else:
            why = "(no explanation registered for this code)"
        rows.append([f"<code>{_e(code)}</code>", _n(int(c)), _e(why)])
    body = _table(["reason", "persons", "meaning"], rows, numeric=(1,)) if rows else "<p>No reasons recorded.</p>"
    return ('<section id="reasons"><h2>Reasons</h2><p class="muted">A person may carry several reasons; '
            f"counts therefore add up to more than the persons.</p>{body}</section>")


def _weights_section(summary: dict, weight: np.ndarray, groups: list[str], codes: np.ndarray) -> str:
    head = '<section id="weights"><h2>Match weights of compared pairs, by decision</h2>'
    ok = np.isfinite(weight)
    if not ok.any():
        return head + "<p>No pairs were compared.</p></section>"
    w, c = (weight, codes) if ok.all() else (weight[ok], codes[ok])
    lo, hi = float(w.min()), float(w.max())
    th = summary.get("thresholds", {})
    marks = []
    if "match_probability" in th:
        marks.append((_bits(th["match_probability"]), f"match ≥ p {th['match_probability']}", "#1b5e20", "left"))
    if "review_probability" in th:
        marks.append((_bits(th["review_probability"]), f"no_match < p {th['review_probability']}", "#37474f", "right"))
    lo = min([lo] + [m[0] for m in marks]) - 0.5
    hi = max([hi] + [m[0] for m in marks]) + 0.5
    edges = np.linspace(lo, hi, _BINS + 1)
    idx = ((w - lo) * (_BINS / (hi - lo))).astype(np.intp)
    np.clip(idx, 0, _BINS - 1, out=idx)
    idx += c.astype(np.intp) * _BINS
    hist = np.bincount(idx, minlength=len(groups) * _BINS).reshape(len(groups), _BINS)
    img = _weights_svg(hist, edges, groups, marks)
    stats = []
    for g, name in enumerate(groups):
        if hist[g].any():
            q = _percentiles(w, idx, hist[g], g * _BINS, (5, 50, 95))
            stats.append([_e(name), _n(int(hist[g].sum())), f"{q[0]:.1f}", f"{q[1]:.1f}", f"{q[2]:.1f}"])
    return (head + '<p class="muted">Each compared candidate pair, coloured by the decision taken for its person '
            "(a review person's weak runner-ups show up as low weights). Dashed lines: thresholds.</p>" + img
            + _table(["decision", "pairs", "p5 bits", "median", "p95"], stats, numeric=(1, 2, 3, 4)) + "</section>")


def _percentiles(w: np.ndarray, key: np.ndarray, counts: np.ndarray, first: int, qs: tuple) -> list[float]:
    """``np.percentile(w[group], qs)`` (linear), reading only the histogram bins that hold the
    order statistics: ``key`` is each weight's bin (``first`` + bin for this group) and
    ``counts`` the group's histogram. Binning keeps order, so the k-th smallest of the group
    is the (k − pairs in lower bins)-th smallest of its bin."""
    cum = np.cumsum(counts)
    n = int(cum[-1])
    cache: dict[int, np.ndarray] = {}

    def kth(k: int) -> float:
        b = int(np.searchsorted(cum, k, side="right"))
        if b not in cache:
            cache[b] = np.sort(w[key == first + b])
        return float(cache[b][k - (int(cum[b - 1]) if b else 0)])

    out = []
    for q in qs:
        h = (n - 1) * q / 100
        lo = math.floor(h)
        a, t = kth(lo), h - lo
        if t == 0:
            out.append(a)
            continue
        b = kth(lo + 1)
        out.append(a + (b - a) * t if t < 0.5 else b - (b - a) * (1 - t))
    return out


def _weights_svg(hist: np.ndarray, edges: np.ndarray, groups: list[str], marks: list) -> str:
    """Stepped histograms per decision on a log count axis, thresholds as dashed lines."""
    svg = _Svg(_W, 330, "match weight histogram by decision")
    x0, x1, y0, y1 = 62, _W - 12, 330 - 46, 30
    lo, hi = float(edges[0]), float(edges[-1])
    sx = _scale(lo, hi, x0, x1)
    top = max(int(hist.max()), 1)
    sy = _scale(math.log10(0.5), math.log10(top) + 0.3, y0, y1)
    for k in range(int(math.log10(top)) + 1):  # a grid line and a label per decade
        y = sy(k)
        svg.line(x0, y, x1, y, "#eee")
        svg.text(x0 - 5, y, _short(10 ** k), "end")
    _x_axis(svg, _ticks(lo, hi, 8), sx, y0)
    xs = [_f(x) for x in sx(edges)]
    for g, name in enumerate(groups):
        if not hist[g].any():
            continue
        ys = sy(np.log10(np.maximum(hist[g], 0.5)))  # an empty bin sits on the floor
        steps = "".join(f"V{_f(y)}H{x}" for y, x in zip(ys, xs[1:]))
        col = _COLORS.get(name, "#000")
        svg.path(f"M{xs[0]} {_f(y0)}{steps}V{_f(y0)}Z", col, col, ' fill-opacity=".3" stroke-width="1.2"')
    for x, text, col, anchor in marks:
        px = sx(x)
        svg.line(px, y1, px, y0, col, 1.2, "5 3")
        y = y1 + 10
        if anchor == "right" and px - x0 < 0.2 * (x1 - x0):  # no room on the left: go right, lower down
            anchor, y = "left", y1 + 40
        side, dx = ("end", -4) if anchor == "right" else ("start", 4)
        svg.text(px + dx, y, text, side, "s", col)
        svg.text(px + dx, y + 11, f"({x:.1f} bits)", side, "s", col)
    svg.line(x0, y0, x1, y0, "#666")
    svg.line(x0, y0, x0, y1, "#666")
    _legend(svg, 12, [(_COLORS.get(n, "#000"), f"{n} ({int(hist[g].sum()):,})")
                      for g, n in enumerate(groups) if hist[g].any()])
    svg.text((x0 + x1) / 2, 330 - 12, "match weight (bits) = log2 of the odds of a match", "middle")
    svg.text(14, (y0 + y1) / 2, "pairs (log scale)", "middle", rotate=True)
    return svg.render()


def _levels_section(fields: list[str], labels: dict, levels: np.ndarray, groups: list[str],
                    codes: np.ndarray, model: Model | None) -> str:
    head = '<section id="levels"><h2>Comparison levels per field</h2>'
    if len(levels) == 0 or levels.shape[1] == 0:
        return head + "<p>No pairs were compared.</p></section>"
    n_f = levels.shape[1]
    top = int(levels.max()) + 1
    if model is not None:
        top = max(top, max(model.n_levels))
    width = top + 1  # slot 0 is null (-1)
    counts = _level_counts(levels, codes, len(groups), width)
    n_levels = model.n_levels if model is not None else [top] * n_f
    img = _levels_svg(fields, labels, counts, n_levels, groups)
    rows = []
    total = len(levels)
    for f in range(n_f):
        for lv in range(-1, n_levels[f]):
            col = counts[f][:, lv + 1]
            n = int(col.sum())
            rows.append([_e(fields[f]), str(lv), _e(_label(labels, fields[f], lv)), _n(n), f"{100 * n / total:.2f}%"]
                        + [_n(int(v)) for v in col])
    table = _table(["field", "level", "label", "pairs", "share", *[_e(g) for g in groups]], rows,
                   numeric=tuple(range(3, 5 + len(groups))))
    return (head + '<p class="muted">How often each level occurs among compared pairs, stacked by decision. '
            "Level −1 (null) means a side was empty: no evidence either way.</p>" + img
            + f"<details><summary>Counts per level</summary>{table}</details></section>")


def _level_counts(levels: np.ndarray, codes: np.ndarray, n_groups: int, width: int) -> list[np.ndarray]:
    """Per field, pairs per (group, level + 1): a ``n_groups × width`` count table.

    Pairs repeat few level patterns (hundreds at 1M pairs), so one bincount over whole-row
    keys and a small decode beats one pass per field; with too many fields for one key, a
    bincount per field.
    """
    n_f = levels.shape[1]
    size = n_groups * width ** n_f
    if size > 1 << 22:
        base = codes.astype(np.intp) * width + 1  # slot of level -1 in each group's row
        return [np.bincount(base + levels[:, f], minlength=n_groups * width).reshape(n_groups, width)
                for f in range(n_f)]
    key = codes.astype(np.intp)
    for f in range(n_f):
        key *= width
        key += levels[:, f]
        key += 1
    hist = np.bincount(key, minlength=size)
    patterns = np.flatnonzero(hist)
    weights = hist[patterns]
    digits = []
    for _ in range(n_f):  # the last field is the lowest digit
        digits.append(patterns % width)
        patterns = patterns // width
    rows = patterns * width  # what is left is the group
    return [np.bincount(rows + d, weights=weights, minlength=n_groups * width).astype(np.int64)
            .reshape(n_groups, width) for d in reversed(digits)]


def _levels_svg(fields: list[str], labels: dict, counts: list[np.ndarray], n_levels: list[int],
                groups: list[str]) -> str:
    """One panel per field, two abreast: a bar per level (null first), stacked by decision."""
    row_h, head_h, axis_h, label_w = 13, 18, 20, 150
    col_w = _W / 2
    heights = [head_h + row_h * (n_levels[f] + 1) + axis_h for f in range(len(counts))]
    rows = [max(heights[i:i + 2]) for i in range(0, len(counts), 2)]
    svg = _Svg(_W, 26 + sum(rows) + 8 * len(rows), "comparison level distribution per field")
    _legend(svg, 10, [(_COLORS.get(g, "#000"), g) for g in groups])
    top = 26.0
    for f, name in enumerate(fields[:len(counts)]):
        if f and f % 2 == 0:
            top += rows[f // 2 - 1] + 8
        left = (f % 2) * col_w
        x0, x1 = left + label_w, left + col_w - 16
        k = n_levels[f] + 1
        cf = counts[f][:, :k]
        most = max(int(cf.sum(axis=0).max()), 1)
        sx = _scale(0, most * 1.04, x0, x1)
        svg.text((x0 + x1) / 2, top + 7, name, "middle", "b")
        y_base = top + head_h + row_h * k
        _x_axis(svg, _ticks(0, most, 4), sx, y_base, top + head_h, "s")
        for lv in range(k):
            y = top + head_h + row_h * lv
            svg.text(x0 - 4, y + row_h / 2, _tick(labels, name, lv - 1, width=28), "end", "s")
            x = x0
            for g, gname in enumerate(groups):
                n = int(cf[g, lv])
                if n:
                    w = sx(n) - x0
                    svg.rect(x, y + 1.5, w, row_h - 3, _COLORS.get(gname, "#000"),
                             f"{name} {_tick(labels, name, lv - 1)} · {gname}: {n:,}")
                    x += w
        svg.line(x0, top + head_h, x0, y_base, "#666")
        svg.line(x0, y_base, x1, y_base, "#666")
    return svg.render()


def _model_section(fields: list[str], labels: dict, model: Model | None,
                   scoring_prior: float | None = None) -> str:
    head = '<section id="model"><h2>Model: m, u and weights per field</h2>'
    if model is None:
        return head + "<p>No model: no pair was compared, so nothing was fitted.</p></section>"
    info = model.info or {}
    pw = model.prior_weight()
    facts = [
        ["prior λ (share of compared pairs that match)", _fmt_share(model.prior)],
        ["prior weight of EM", f"{pw:.3f} bits"],
        ["prior used for scoring", "—" if scoring_prior is None else
         f"{scoring_prior:.3f} bits (candidates are chosen for resembling the inquiry, so EM's λ is not used)"],
        ["EM iterations", _e(info.get("iterations", "—"))],
        ["EM converged", _e(info.get("converged", "—"))],
        ["pairs fitted on", _e(info.get("pairs", "—"))],
        ["distinct level patterns", _e(info.get("patterns", "—"))],
        ["random pairs for u", _e(info.get("u_sample_pairs", "—"))],
    ]
    warn = ""
    if info.get("converged") is False:
        warn = ('<p class="warn">EM stopped at its iteration limit without converging: '
                "treat the weights below with care.</p>")
    lw = model.level_weights()
    rows, bars = [], []
    for f, name in enumerate(fields):
        for lv in range(model.n_levels[f]):
            m, u, w = float(model.m[f][lv]), float(model.u[f][lv]), float(lw[f][lv + 1])
            rows.append([_e(name), str(lv), _e(_label(labels, name, lv)), f"{m:.4g}", f"{u:.4g}",
                         f"{m / u:.4g}", f"{w:+.2f}"])
            bars.append((name, lv, w))
    table = _table(["field", "level", "label", "m", "u", "m/u", "weight (bits)"], rows, numeric=(3, 4, 5, 6))
    img = _model_svg(fields, labels, bars)
    return (head + _table(["parameter", "value"], facts, numeric=(1,)) + warn + img
            + '<p class="muted">m: share of true matches at this level; u: share of random non-matching pairs. '
            "A null level (−1) weighs 0.</p>" + table + "</section>")


def _model_svg(fields: list[str], labels: dict, bars: list[tuple[str, int, float]]) -> str:
    """A horizontal bar per field level: its match weight, green for evidence for, red against."""
    row_h, gap, label_w = 15, 8, 280
    n_gaps = len(fields) - 1
    x0, x1, y_top = label_w, _W - 14, 8
    height = y_top + row_h * len(bars) + gap * n_gaps + 44
    svg = _Svg(_W, height, "match weight per comparison level")
    ws = [w for _, _, w in bars if math.isfinite(w)]
    lo, hi = min(min(ws, default=0.0), 0.0), max(max(ws, default=0.0), 0.0)
    pad = 0.04 * ((hi - lo) or 1.0)
    sx = _scale(lo - pad, hi + pad, x0, x1)
    y_base = height - 36
    _x_axis(svg, _ticks(lo, hi, 6), sx, y_base, y_top)
    y, z = float(y_top), sx(0.0)
    for f, name in enumerate(fields):
        if f:
            svg.line(x0 - label_w + 10, y + gap / 2, x1, y + gap / 2, "#ccc", 0.6)
            y += gap
        for _, lv, w in (b for b in bars if b[0] == name):
            x = sx(min(max(w, lo), hi))  # an infinite weight drawn to the edge
            label = f"{name}: {_tick(labels, name, lv)}"
            svg.text(x0 - 5, y + row_h / 2, label, "end", "s")
            svg.rect(min(x, z), y + 2, abs(x - z), row_h - 4, "#2e7d32" if w > 0 else "#c62828",
                     f"{label}: {w:+.2f} bits")
            # the value on the other side of zero, where it never collides with a label
            svg.text(z - 3 if w > 0 else z + 3, y + row_h / 2, f"{w:+.1f}", "end" if w > 0 else "start", "s", "#666")
            y += row_h
    svg.line(z, y_top, z, y_base, "#333")
    svg.line(x0, y_base, x1, y_base, "#666")
    svg.text((x0 + x1) / 2, height - 10, "match weight log2(m/u) (bits)", "middle")
    return svg.render()


def _risk_section(summary: dict) -> str:
    """Expected wrong numbers among the matches, the budget, and what each budget costs."""
    e = summary["expected_wrong_numbers"]
    rates = summary.get("namesakes") or {}
    head = ('<section id="risk"><h2>Expected wrong numbers</h2>'
            f'<p>Among the {_n(e["matches"])} automatic matches the run expects <b>{e["mean"]:.3g}</b> numbers '
            f'to belong to someone else (95 % interval {_n(e["low"])}–{_n(e["high"])}). Every match has a risk '
            f'at most {e["max_risk"]:.0e} (<code>--max-risk</code>); riskier ones are in review with '
            '<code>namesake_risk</code>.</p><p class="muted">The risk of each candidate comes from this run '
            "alone: among every person's best candidate, how often it is someone else (a look-alike or a "
            "namesake) — more often for a common name — and where such people live relative to the person, "
            "as the look-alikes Juki-net returned show.</p>")
    places = ""
    if rates.get("m_relation") and rates.get("u_relation"):
        rows = [[_e(k), _fmt_share(rates["m_relation"][k]), _fmt_share(rates["u_relation"].get(k, 0.0))]
                for k in rates["m_relation"] if k != "unknown"]
        places = ("<h3>Where the candidate lives, relative to the person</h3>"
                  + _table(["relation", "own record", "someone else"], rows, numeric=(1, 2)))
    curve = [c for c in summary.get("risk_curve", []) if c["max_risk"] >= 1e-9]
    rows = [[f'{c["max_risk"]:.0e}', _n(c["matches"]), _n(c["review_added"]), f'{c["expected_wrong_numbers"]:.3g}']
            for c in curve]
    table = ("<h3>What each budget costs</h3><p class=\"muted\">Matches, the reviews a budget adds over the "
             "loosest, and the wrong numbers to expect.</p>"
             + _table(["max risk", "matches", "review added", "expected wrong"], rows, numeric=(1, 2, 3)))
    return head + places + table + "</section>"


def _timings_section(summary: dict) -> str:
    t = {k: float(v) for k, v in summary.get("timings_s", {}).items()}
    total = t.get("total") or sum(v for k, v in t.items() if k != "total") or 1.0
    rows = []
    for k, v in t.items():
        width = 0 if k == "total" else round(200 * v / total)
        rows.append([_e(k), f"{v:.3f}", f"{100 * v / total:.1f}%",
                     f'<span class="bar" style="width:{width}px"></span>' if width else ""])
    body = _table(["phase", "seconds", "share", ""], rows, numeric=(1, 2)) if rows else "<p>No timings.</p>"
    return f'<section id="timings"><h2>Timings per phase</h2>{body}</section>'


def _blocking_section(blocking: dict) -> str:
    """Candidate pairs per blocking rule, as counted before any comparison (link runs)."""
    rules = blocking.get("rules", [])
    total = max(int(blocking.get("candidate_pairs", 0)), 1)
    rows = []
    for r in rules:
        new = int(r.get("new_pairs", 0))
        width = round(200 * new / total)
        rows.append([_e(r.get("name")), _n(int(r.get("pairs", 0))), _n(new), f"{100 * new / total:.1f}%",
                     f'<span class="bar" style="width:{width}px"></span>' if width else ""])
    rows.append(["<b>union</b>", "", f"<b>{_n(int(blocking.get('candidate_pairs', 0)))}</b>", "", ""])
    limit = blocking.get("max_pairs_per_rule")
    note = (f'<p class="muted">Each rule was counted before any pair was compared; a rule yielding more than '
            f"{_n(int(limit))} pairs would have been refused. “New” pairs are those no earlier rule found: the "
            "union holds each pair once.</p>" if limit else "")
    return ('<section id="blocking"><h2>Blocking</h2>'
            + _table(["rule", "pairs", "new pairs", "share of union", ""], rows, numeric=(1, 2, 3)) + note
            + "</section>")


# --- waterfalls -----------------------------------------------------------------------------

def _pick(table: pa.Table, decision: str, k: int) -> list[dict]:
    """Up to k rows of ``decision`` with a score, spread over reasons (round-robin), deterministic."""
    if table is None or table.num_rows == 0:
        return []
    t = table
    if "decision" in t.column_names:
        t = t.filter(pc.fill_null(pc.equal(t.column("decision"), decision), False))
    w = t.column("match_weight")
    t = t.filter(pc.fill_null(pc.and_(pc.is_valid(w), pc.invert(pc.is_nan(w))), False))
    if t.num_rows == 0:
        return []
    head = t.slice(0, 5000)  # enough to spread over reasons without reading a huge queue
    reasons = head.column("reasons").to_pylist() if "reasons" in head.column_names else [None] * head.num_rows
    buckets: dict[str, list[int]] = {}
    for i, r in enumerate(reasons):
        buckets.setdefault(r[0] if r else "", []).append(i)
    chosen: list[int] = []
    queues = [list(v) for v in buckets.values()]
    while len(chosen) < k and any(queues):
        for q in queues:
            if q and len(chosen) < k:
                chosen.append(q.pop(0))
    chosen.sort()
    return head.take(pa.array(chosen, pa.int64())).to_pylist()


def _waterfall_svg(bottoms: list[float], heights: list[float], colors: list[str], ticks: list[list[str]],
                   tips: list[str]) -> str:
    """Steps from the prior through each field's weight to the final weight, joined by thin
    connectors; under each bar its name, level (two lines at most) and weight."""
    n = len(heights)
    svg = _Svg(_W, _WF_H, "match weight waterfall")
    x0, x1, y0, y1 = 44, _W - 8, _WF_H - 66, 10
    ends = [0.0, *bottoms, *(b + h for b, h in zip(bottoms, heights))]
    lo, hi = min(ends), max(ends)
    pad = 0.08 * (hi - lo) or 1.0
    sy = _scale(lo - pad, hi + pad, y0, y1)
    for t in _ticks(lo - pad, hi + pad, 7):
        y = sy(t)
        svg.line(x0, y, x1, y, "#eee")
        svg.text(x0 - 4, y, _short(t), "end", "s")
    slot = (x1 - x0) / n
    bar = 0.7 * slot
    for i, (b, h, c, tick, tip) in enumerate(zip(bottoms, heights, colors, ticks, tips)):
        cx = x0 + slot * (i + 0.5)
        top, bot = sy(max(b, b + h)), sy(min(b, b + h))
        svg.rect(cx - bar / 2, top, bar, max(bot - top, 0.8), c, tip)
        if 0 < i < n - 1:  # connector from the previous step's end to this step's start
            svg.line(cx - slot + bar / 2, sy(b), cx - bar / 2, sy(b), "#999", 0.6)
        for j, line in enumerate(tick):
            if line:
                svg.text(cx, y0 + 10 + 11 * j, line, "middle", "s" + (" b" if j in (0, 3) else ""),
                         c if j == 3 else "")  # the weight in its bar's colour
    svg.line(x0, sy(0.0), x1, sy(0.0), "#333", 0.8)
    svg.line(x0, y1, x0, y0, "#666")
    svg.text(12, (y0 + y1) / 2, "bits", "middle", "s", rotate=True)
    return svg.render()


def _waterfall(row: dict, fields: list[str], labels: dict, prior_w: float | None) -> str:
    names = [f for f in fields if f"weight_{f}" in row]
    ws = [float(row.get(f"weight_{f}") or 0.0) for f in names]
    lvs = [int(row[f"level_{f}"]) if row.get(f"level_{f}") is not None else -1 for f in names]
    final = float(row["match_weight"])
    prior = prior_w if prior_w is not None else final - sum(ws)
    total = prior + sum(ws)
    cum = prior
    bottoms, heights, cols = [0.0], [prior], ["#607d8b"]
    for w in ws:
        bottoms.append(cum)
        heights.append(w)
        cols.append("#2e7d32" if w > 0 else ("#c62828" if w < 0 else "#bdbdbd"))
        cum += w
    bottoms.append(0.0)
    heights.append(total)
    cols.append("#263238")
    ticks = [["prior", "", "", f"{prior:+.1f}"]]
    tips = [f"prior: {prior:+.2f} bits"]
    cum = prior
    for n, lv, w in zip(names, lvs, ws):
        t = _tick(labels, n, lv)
        lines = textwrap.wrap("level " + t if t.isdigit() else t, 18) or [""]
        if len(lines) > 2:
            lines = [lines[0], lines[1][:17] + "…"]
        ticks.append([n, *lines, *[""] * (2 - len(lines)), f"{w:+.1f}"])
        cum += w
        tips.append(f"{n}: {t}, {w:+.2f} bits (cumulative {cum:+.2f})")
    ticks.append(["final", "", "", f"{total:+.1f}"])
    tips.append(f"final: {total:+.2f} bits")
    img = _waterfall_svg(bottoms, heights, cols, ticks, tips)
    trs = [["prior", "", "", "", f"{prior:+.2f}", f"{prior:+.2f}"]]
    cum = prior
    for n, lv, w in zip(names, lvs, ws):
        cum += w
        lab = _label(labels, n, lv)
        left, right = row.get(f"{n}_l"), row.get(f"{n}_r")
        differ = left is not None and right is not None and str(left).strip() != str(right).strip()
        trs.append([_e(n), _e(left), f"<mark>{_e(right)}</mark>" if differ else _e(right),
                    f"{lv}" + (f" {_e(lab)}" if lab and lv >= 0 else (" null" if lv < 0 else "")),
                    f"{w:+.2f}", f"{cum:+.2f}"])
    trs.append(["<b>final</b>", "", "", "", "", f"<b>{total:+.2f}</b>"])
    note = ""
    if abs(total - final) > 1e-6:
        note = (f'<p class="warn">The stored match weight is {final:+.4f} bits, the parts add up to '
                f"{total:+.4f}.</p>")
    reasons = ", ".join(f"<code>{_e(r)}</code>" for r in (row.get("reasons") or [])) or "—"
    title = (f"<b>{_e(row.get('person_id'))}</b> · {_e(row.get('decision', REVIEW))} · candidate "
             f"{_e(row.get('candidate_rank'))} · number {_e(row.get('my_number_masked'))} · reasons: {reasons}<br>"
             f"match weight <b>{total:+.2f} bits</b>, probability <b>{_fmt_prob(total)}</b>")
    return (f'<div class="wf waterfall"><div>{title}</div>{img}{note}'
            + _table(["field", "resident", "Juki-net", "level", "weight", "cumulative"], trs, numeric=(4, 5))
            + "</div>")


def _waterfalls_section(fields: list[str], labels: dict, review: pa.Table, sample: pa.Table | None,
                        model: Model | None, scoring_prior: float | None = None) -> str:
    head = ('<section id="waterfalls"><h2>Why these scores: waterfalls</h2><p class="muted">The prior weight, then '
            "each field's weight (its level for the two values shown) added up to the final match weight; "
            "probability = 1 / (1 + 2<sup>−weight</sup>).</p>")
    prior_w = scoring_prior if scoring_prior is not None else (model.prior_weight() if model is not None else None)
    out = [head]
    for decision, title in ((REVIEW, "Review candidates"), (MATCH, "Matches")):
        rows = _pick(sample, decision, _WATERFALLS) if sample is not None else []
        if not rows and decision == REVIEW:
            rows = _pick(review, decision, _WATERFALLS)
        out.append(f'<h3 id="waterfalls-{decision}">{title}</h3>')
        if not rows:
            why = "" if decision == REVIEW or sample is not None else " (no sample of matches was passed)"
            out.append(f"<p>No scored {decision} pair to show{why}.</p>")
            continue
        for row in rows:
            row.setdefault("decision", decision)
            out.append(_waterfall(row, fields, labels, prior_w))
    out.append("</section>")
    return "".join(out)
