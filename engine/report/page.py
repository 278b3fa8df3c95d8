"""report.html: one self-contained page that lets a person trust (or distrust) a reconciliation run.

A run decides whose My Number gets registered; the people signing that off need to see, in one
file they can mail or archive, that no row was lost, why each decision was taken, what the
model learned, and how individual scores came about (Splink-style waterfalls). Hence:

- one HTML file, no external resources: plots are PNGs rendered with Matplotlib's Agg canvas
  (never pyplot, so no global backend is switched) and inlined as base64;
- plots draw binned counts (one ``np.bincount`` per field, one for the weight histogram) —
  never one mark per pair — so the page stays small and fast at millions of pairs;
- no My Number in clear: the ``my_number`` column of decisions is never read, candidates show
  only ``my_number_masked``, and every data string is scrubbed of 12-digit runs before it is
  escaped (a number typed into a name or address field must not leak through the report).

Matplotlib is imported inside :func:`write_report`, so ``import jukimatch.engine`` stays light.
"""
from __future__ import annotations

import base64
import html
import io
import math
import textwrap
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from jukimatch.engine.masking import mask
from jukimatch.engine.model import Model, weight_of
from jukimatch.engine.outcomes import DECISIONS, MATCH, NO_MATCH, REASONS, REVIEW

__all__ = ["write_report"]

_COLORS = {
    MATCH: "#2e7d32", REVIEW: "#ef6c00", NO_MATCH: "#78909c",
    "pending": "#1565c0", "rejected": "#c62828", "all pairs": "#455a64",
}
_DPI = 90
_WIDTH = 700 / _DPI  # inches: plots ~700 px wide
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
img{max-width:100%}
"""


def write_report(path: str | Path, *, summary: dict, decisions: pa.Table, review: pa.Table, levels: np.ndarray,
                 weight: np.ndarray, pair_decision: np.ndarray | None, model: Model | None,
                 sample: pa.Table | None = None, blocking: dict | None = None, title: str | None = None,
                 reasons: dict[str, str] | None = None) -> None:
    """Write the self-contained ``report.html`` of one reconciliation run to ``path``.

    ``summary`` is the dict ``reconcile.run`` builds; ``decisions`` and ``review`` are the tables
    written beside it; ``levels`` (pairs × fields, int8, -1 = null), ``weight`` (bits) and
    ``pair_decision`` (the decision of each pair's person) describe every compared pair;
    ``model`` is the fitted or reused model (None when no pair was compared); ``sample`` is an
    optional table shaped like ``review`` plus a ``decision`` column with candidates of match
    and review persons to explain with waterfalls (without it, review rows only).
    ``blocking`` (optional, from a link run: ``{"rules": [{"name", "pairs", "new_pairs"}],
    "candidate_pairs": n, ...}``) adds a section on candidate generation; ``title`` replaces
    the page title.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    def new_fig(height_px: float) -> Figure:
        fig = Figure(figsize=(_WIDTH, height_px / _DPI), dpi=_DPI)
        FigureCanvasAgg(fig)
        return fig

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
        _weights_section(new_fig, summary, weight, groups, codes),
        _levels_section(new_fig, fields, labels, levels, groups, codes, model),
        _model_section(new_fig, fields, labels, model, scoring_prior),
        _timings_section(summary),
        *([_blocking_section(blocking)] if blocking else []),
        _waterfalls_section(new_fig, fields, labels, review, sample, model, scoring_prior),
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
    Path(path).write_text(doc, encoding="utf-8")


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


def _png(fig: Any, alt: str) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


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
    """Label safe for a plot: 'level text', or the bare level when the text needs glyphs the
    default font lacks (CJK); cut to ``width`` characters when given."""
    text = _label(labels, field, level)
    if level < 0:
        return "null"
    out = f"{level} {text}" if text and all(ord(c) < 0x2E80 for c in text) else str(level)
    return out[: width - 1] + "…" if width and len(out) > width else out


def _pair_groups(pair_decision: np.ndarray | None, n: int) -> tuple[list[str], np.ndarray]:
    """Decision groups present among pairs and a small int code per pair (index into groups)."""
    if pair_decision is None:
        return ["all pairs"], np.zeros(n, dtype=np.int8)
    pd = np.asarray(pair_decision, dtype=object)
    codes = np.full(n, -1, dtype=np.int8)
    groups: list[str] = []
    for d in DECISIONS:
        mask = pd == d
        if mask.any():
            codes[mask] = len(groups)
            groups.append(d)
    if (codes < 0).any():
        codes[codes < 0] = len(groups)
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


def _weights_section(new_fig, summary: dict, weight: np.ndarray, groups: list[str], codes: np.ndarray) -> str:
    head = '<section id="weights"><h2>Match weights of compared pairs, by decision</h2>'
    ok = np.isfinite(weight)
    if not ok.any():
        return head + "<p>No pairs were compared.</p></section>"
    w, c = weight[ok], codes[ok].astype(np.int64)
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
    idx = np.clip(((w - lo) / (hi - lo) * _BINS).astype(np.int64), 0, _BINS - 1)
    hist = np.bincount(c * _BINS + idx, minlength=len(groups) * _BINS).reshape(len(groups), _BINS)
    fig = new_fig(330)
    ax = fig.add_subplot()
    for g, name in enumerate(groups):
        if hist[g].any():
            ax.stairs(hist[g], edges, fill=True, alpha=0.35, color=_COLORS.get(name, "#000"))
            ax.stairs(hist[g], edges, color=_COLORS.get(name, "#000"), label=f"{name} ({hist[g].sum():,})")
    for x, text, col, ha in marks:
        ax.axvline(x, color=col, ls="--", lw=1)
        y = 0.99
        if ha == "right" and (x - lo) < 0.2 * (hi - lo):  # no room on the left: go right, lower down
            ha, y = "left", 0.84
        ax.text(x, y, f" {text} \n ({x:.1f} bits) ", color=col, fontsize=7, va="top", ha=ha,
                transform=ax.get_xaxis_transform())
    ax.set_yscale("log")
    ax.set_ylim(bottom=0.5)
    ax.set_xlabel("match weight (bits) = log2 of the odds of a match")
    ax.set_ylabel("pairs (log scale)")
    fig.legend(fontsize=8, loc="upper center", ncol=len(groups), frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    img = _png(fig, "match weight histogram by decision")
    stats = []
    for g, name in enumerate(groups):
        sel = w[c == g]
        if len(sel):
            q = np.percentile(sel, [5, 50, 95])
            stats.append([_e(name), _n(len(sel)), f"{q[0]:.1f}", f"{q[1]:.1f}", f"{q[2]:.1f}"])
    return (head + '<p class="muted">Each compared candidate pair, coloured by the decision taken for its person '
            "(a review person's weak runner-ups show up as low weights). Dashed lines: thresholds.</p>" + img
            + _table(["decision", "pairs", "p5 bits", "median", "p95"], stats, numeric=(1, 2, 3, 4)) + "</section>")


def _levels_section(new_fig, fields: list[str], labels: dict, levels: np.ndarray, groups: list[str],
                    codes: np.ndarray, model: Model | None) -> str:
    from matplotlib.ticker import MaxNLocator

    head = '<section id="levels"><h2>Comparison levels per field</h2>'
    if len(levels) == 0 or levels.shape[1] == 0:
        return head + "<p>No pairs were compared.</p></section>"
    n_f = levels.shape[1]
    top = int(levels.max()) + 1
    if model is not None:
        top = max(top, max(model.n_levels))
    width = top + 1  # slot 0 is null (-1)
    c64 = codes.astype(np.int64) * width
    counts = []
    for f in range(n_f):
        key = c64 + (levels[:, f].astype(np.int64) + 1)
        counts.append(np.bincount(key, minlength=len(groups) * width).reshape(len(groups), width))
    n_levels = model.n_levels if model is not None else [top] * n_f
    ncols = 2
    nrows = math.ceil(n_f / ncols)
    label_px, height = 150, 150 * nrows + 36
    fig = new_fig(height)
    axes_w = (700 - label_px - 10 - label_px) / ncols  # px per panel: labels left of each
    fig.subplots_adjust(left=label_px / 700, right=1 - 10 / 700, top=1 - 38 / height, bottom=22 / height,
                        wspace=label_px / axes_w, hspace=0.45)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for f in range(n_f):
        ax = axes[f // ncols][f % ncols]
        k = n_levels[f] + 1
        y = np.arange(k)
        left = np.zeros(k)
        for g, name in enumerate(groups):
            ax.barh(y, counts[f][g, :k], left=left, color=_COLORS.get(name, "#000"), height=0.8, label=name)
            left += counts[f][g, :k]
        ax.set_title(fields[f], fontsize=8, pad=3)
        ax.set_yticks(y, [_tick(labels, fields[f], lv - 1, width=26) for lv in y], fontsize=6)
        ax.invert_yaxis()
        ax.xaxis.set_major_locator(MaxNLocator(nbins=3))
        ax.tick_params(axis="both", labelsize=6, length=2)
        ax.xaxis.get_offset_text().set_fontsize(6)
    for j in range(n_f, nrows * ncols):
        axes[j // ncols][j % ncols].set_visible(False)
    handles, names = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, names, fontsize=7, frameon=False, loc="upper center", ncol=len(groups))
    img = _png(fig, "comparison level distribution per field")
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


def _model_section(new_fig, fields: list[str], labels: dict, model: Model | None,
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
    fig = new_fig(max(260, 15 * len(bars) + 12 * len(fields) + 60))
    ax = fig.add_subplot()
    y, ticks, ys, ws, cols = 0.0, [], [], [], []
    sep = []
    for f, name in enumerate(fields):
        for _, lv, w in (b for b in bars if b[0] == name):
            ys.append(y)
            ws.append(w)
            cols.append("#2e7d32" if w > 0 else "#c62828")
            ticks.append(f"{name}: {_tick(labels, name, lv)}")
            y += 1
        sep.append(y - 0.5 + 0.25)
        y += 0.5
    ax.barh(ys, ws, color=cols, height=0.8)
    ax.set_yticks(ys, ticks, fontsize=7)
    ax.invert_yaxis()
    for s in sep[:-1]:
        ax.axhline(s, color="#bbb", lw=0.6)
    ax.axvline(0, color="#333", lw=0.8)
    ax.set_xlabel("match weight log2(m/u) (bits)", fontsize=8)
    ax.tick_params(axis="x", labelsize=7)
    fig.tight_layout()
    img = _png(fig, "match weight per comparison level")
    return (head + _table(["parameter", "value"], facts, numeric=(1,)) + warn + img
            + '<p class="muted">m: share of true matches at this level; u: share of random non-matching pairs. '
            "A null level (−1) weighs 0.</p>" + table + "</section>")


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


class _WaterfallPainter:
    """One figure reused for every waterfall with the same number of bars.

    Text is what a small Matplotlib chart mostly costs (layout and glyphs, a few ms per
    label), so each bar carries its weight in its tick label instead of a separate annotation,
    the final weight and probability are written in HTML, and axes are built only once.
    """

    def __init__(self, new_fig, n_bars: int) -> None:
        from matplotlib.collections import LineCollection
        from matplotlib.ticker import MaxNLocator

        self.fig = new_fig(_WF_H)
        # fixed margins (px): tight_layout would cost more than the drawing itself
        self.fig.subplots_adjust(left=40 / 700, right=1 - 8 / 700, top=1 - 10 / _WF_H, bottom=70 / _WF_H)
        ax = self.fig.add_subplot()
        self.xs = np.arange(n_bars)
        self.bars = ax.bar(self.xs, np.zeros(n_bars), width=0.7)
        self.links = LineCollection([], colors="#999999", linewidths=0.6)
        ax.add_collection(self.links)
        ax.axhline(0, color="#333333", lw=0.6)
        ax.set_xticks(self.xs)
        ax.set_xlim(-0.6, n_bars - 0.4)
        ax.yaxis.set_major_locator(MaxNLocator(nbins=4))
        ax.grid(axis="y", color="#eeeeee", lw=0.6)
        ax.set_axisbelow(True)
        ax.tick_params(axis="both", labelsize=7, length=2)
        ax.set_ylabel("bits", fontsize=7, labelpad=1)
        self.ax = ax

    def render(self, bottoms: list[float], heights: list[float], colors: list[str], ticks: list[str]) -> str:
        for rect, b, h, c in zip(self.bars, bottoms, heights, colors):
            rect.set_y(b)
            rect.set_height(h)
            rect.set_facecolor(c)
        # connectors: from the end of one step to the start of the next
        self.links.set_segments([[(x - 0.65, b), (x - 0.35, b)] for x, b in zip(self.xs[1:-1], bottoms[1:-1])])
        self.ax.set_xticklabels(ticks, fontsize=7)
        ends = [0.0, *bottoms, *(b + h for b, h in zip(bottoms, heights))]
        lo, hi = min(ends), max(ends)
        pad = 0.08 * (hi - lo) or 1.0
        self.ax.set_ylim(lo - pad, hi + pad)
        return _png(self.fig, "match weight waterfall")


def _waterfall(painters: dict, new_fig, row: dict, fields: list[str], labels: dict, prior_w: float | None) -> str:
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
    steps = []
    for n, lv in zip(names, lvs):
        t = _tick(labels, n, lv)
        lines = textwrap.wrap("level " + t if t.isdigit() else t, 16) or [""]
        steps.append("\n".join(lines[:2]) + ("…" if len(lines) > 2 else "") + "\n" * (2 - min(len(lines), 2)))
    ticks = ([f"prior\n\n\n{prior:+.1f}"]
             + [f"{n}\n{t}\n{w:+.1f}" for n, t, w in zip(names, steps, ws)]
             + [f"final\n\n\n{total:+.1f}"])
    if len(heights) not in painters:
        painters[len(heights)] = _WaterfallPainter(new_fig, len(heights))
    img = painters[len(heights)].render(bottoms, heights, cols, ticks)
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


def _waterfalls_section(new_fig, fields: list[str], labels: dict, review: pa.Table, sample: pa.Table | None,
                        model: Model | None, scoring_prior: float | None = None) -> str:
    head = ('<section id="waterfalls"><h2>Why these scores: waterfalls</h2><p class="muted">The prior weight, then '
            "each field's weight (its level for the two values shown) added up to the final match weight; "
            "probability = 1 / (1 + 2<sup>−weight</sup>).</p>")
    prior_w = scoring_prior if scoring_prior is not None else (model.prior_weight() if model is not None else None)
    painters: dict[int, _WaterfallPainter] = {}
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
            out.append(_waterfall(painters, new_fig, row, fields, labels, prior_w))
    out.append("</section>")
    return "".join(out)
