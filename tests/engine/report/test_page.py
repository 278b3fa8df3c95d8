"""report.html: self-contained, complete, explains scores, and never shows a My Number in clear."""
from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
import types
import xml.etree.ElementTree as ET

import numpy as np
import pyarrow as pa
import pytest

from jukimatch.engine.model import estimate_u, fit, probability
from jukimatch.engine.reconcile.decide import REASONS, Thresholds
from jukimatch.engine.report.page import write_report

# The comparison layout of engine.reconcile.features (FIELDS, N_LEVELS), written out so that this test does
# not depend on the comparison kernels being importable.
FIELDS = ("name_alpha", "name_kanji", "name_kana", "birth_date", "sex", "address")
N_LEVELS = (6, 5, 5, 6, 2, 5)
HELD = "123456789018"  # a My Number held by a matched person: must never appear in clear
OTHER = "987654321098"


def _levels(rng: np.random.Generator, n: int, match_share: float) -> np.ndarray:
    out = np.empty((n, len(FIELDS)), dtype=np.int8)
    is_match = rng.random(n) < match_share
    for f, k in enumerate(N_LEVELS):
        hi = rng.integers(max(k - 2, 0), k, size=n)
        lo = rng.integers(0, max(k - 2, 1), size=n)
        out[:, f] = np.where(is_match, hi, lo)
    out[rng.random(out.shape) < 0.05] = -1
    return out


def _row(model, person: str, rank: int | None, lv: np.ndarray | None, reasons: list[str], **extra) -> dict:
    row = {"person_id": person, "reasons": reasons, "candidate_rank": rank or 0,
           "response_row": None if lv is None else 7, "my_number_masked": None if lv is None else "********9018"}
    lw = model.level_weights()
    total = model.prior_weight()
    left = {"name_alpha": "NGUYEN VAN AN", "name_kanji": "阮 文安", "name_kana": "グエン ヴァン アン",
            "birth_date": "1990-04-01", "sex": "1", "address": "東京都新宿区西新宿2-8-1"}
    for f, name in enumerate(FIELDS):
        row[f"{name}_l"] = left[name]
        level = -1 if lv is None else int(lv[f])
        row[f"{name}_r"] = None if lv is None else row[f"{name}_l"]
        row[f"level_{name}"] = level
        w = float(lw[f][level + 1]) if level >= 0 else 0.0
        row[f"weight_{name}"] = w
        total += w
    row["match_weight"] = None if lv is None else total
    row["match_probability"] = None if lv is None else float(probability(np.array([total]))[0])
    row.update(extra)
    return row


def _schema(with_decision: bool) -> pa.Schema:
    cols = [("person_id", pa.string()), ("reasons", pa.list_(pa.string())), ("candidate_rank", pa.int64()),
            ("response_row", pa.int64()), ("my_number_masked", pa.string()), ("match_weight", pa.float64()),
            ("match_probability", pa.float64())]
    for name in FIELDS:
        cols += [(f"{name}_l", pa.string()), (f"{name}_r", pa.string()), (f"level_{name}", pa.int8()),
                 (f"weight_{name}", pa.float64())]
    if with_decision:
        cols.append(("decision", pa.string()))
    return pa.schema(cols)


@pytest.fixture(scope="module")
def run_inputs():
    rng = np.random.default_rng(7)
    levels = _levels(rng, 3000, 0.7)
    u = estimate_u(_levels(rng, 5000, 0.0), list(N_LEVELS))
    model = fit(levels, u, list(FIELDS), n_levels=list(N_LEVELS))
    weight, _ = model.score(levels)
    pair_decision = np.where(weight > 10, "match", np.where(weight > -4, "review", "no_match")).astype(object)

    top = np.array([k - 1 for k in N_LEVELS], dtype=np.int8)
    mid = np.array([2, 2, 2, 3, 1, 1], dtype=np.int8)
    review_rows = [
        _row(model, "P0002", 1, mid, ["uncertain"]),
        _row(model, "P0003", 1, top, ["ambiguous"]),
        _row(model, "P0003", 2, mid, ["ambiguous"]),
        _row(model, "P0004", None, None, ["response_invalid"]),  # no candidate: nulls on the right
        _row(model, "P0005", 1, mid, ["number_shared"], name_alpha_r="<script>alert(1)</script>",
             address_r=f"東京都 {OTHER} 番地"),  # a number typed into an address must be masked
    ]
    review = pa.Table.from_pylist(review_rows, schema=_schema(False))
    sample_rows = [dict(r, decision="review") for r in (*review_rows[:3], review_rows[4])]
    sample_rows += [_row(model, f"P001{i}", 1, top, ["strong_unique"], decision="match") for i in range(3)]
    sample = pa.Table.from_pylist(sample_rows, schema=_schema(True))

    dec = ["match", "match", "review", "review", "review", "review", "no_match", "pending", "rejected"]
    decisions = pa.table({
        "person_id": [f"P{i:04d}" for i in range(len(dec))],
        "decision": dec,
        "my_number": [HELD, OTHER] + [None] * (len(dec) - 2),
        "match_probability": [0.9999, 0.9999, 0.5, 0.5, None, 0.5, 0.01, None, None],
        "match_weight": [14.0, 14.0, 0.0, 0.0, None, 0.0, -7.0, None, None],
        "candidates": pa.array([1, 1, 1, 2, 0, 1, 1, 0, 0], pa.int32()),
        "reasons": [["strong_unique"], ["strong_unique"], ["uncertain"], ["ambiguous"], ["response_invalid"],
                    ["number_shared"], ["weak_candidates"], ["unanswered"], ["birth_date:unparseable"]],
    })
    counts = {d: dec.count(d) for d in ("match", "review", "no_match", "pending", "rejected")}
    summary = {
        "inputs": {"residents": "/data/residents.parquet", "responses": "/data/responses.parquet"},
        "rows": {"residents_in": len(dec), "decisions_out": len(dec), "responses_in": 12,
                 "responses_compared": 9, "responses_not_found": 1, "responses_rejected": 1,
                 "responses_set_aside": 1, "conserved": True},
        "decisions": counts,
        "reasons": {"strong_unique": 2, "uncertain": 1, "ambiguous": 1, "response_invalid": 1, "number_shared": 1,
                    "weak_candidates": 1, "unanswered": 1, "birth_date:unparseable": 1},
        # the prior the pipeline scored with is recorded in the thresholds; here: the model's own
        "thresholds": {**Thresholds().to_dict(), "prior_bits": model.prior_weight()},
        "model": model.to_dict(),
        "model_reused": False,
        "timings_s": {"read": 0.12, "validate": 0.03, "normalise": 0.5, "compare": 1.2, "fit": 0.05,
                      "decide": 0.02, "write": 0.3},
    }
    return dict(summary=summary, decisions=decisions, review=review, levels=levels, weight=weight,
                pair_decision=pair_decision, model=model, sample=sample)


def _write(tmp_path, **kw) -> str:
    path = tmp_path / "report.html"
    write_report(path, **kw)
    return path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def doc(run_inputs, tmp_path_factory) -> str:
    """The report of the full synthetic run, rendered once for the tests that only read it."""
    return _write(tmp_path_factory.mktemp("report"), **run_inputs)


def test_self_contained_with_every_section(doc, run_inputs):
    assert doc.startswith("<!DOCTYPE html>") and doc.rstrip().endswith("</html>")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", doc)
    assert "<script" not in doc.lower() and "<link" not in doc.lower()
    assert doc.count("<svg ") >= 4 and "data:image" not in doc
    for section in ("summary", "reasons", "weights", "levels", "model", "timings", "waterfalls"):
        assert f'id="{section}"' in doc
    assert "Rows in = rows out" in doc and "NOT CONSERVED" not in doc
    # decision counts, reasons with their explanations, prior, EM iterations, timings
    for d, c in run_inputs["summary"]["decisions"].items():
        assert re.search(rf">{d}</b></td><td class=\"n\">{c}</td>", doc)
    assert REASONS["number_shared"] in doc and "input row rejected: field birth_date" in doc
    model = run_inputs["model"]
    assert 0.01 < model.prior < 0.99 and f"{model.prior:.6g}" in doc and f"{model.prior_weight():.3f} bits" in doc
    assert f"<td class=\"n\">{model.info['iterations']}</td>" in doc
    assert "compare</td><td class=\"n\">1.200</td>" in doc
    assert f"{np.log2(0.999 / 0.001):.2f} bits" in doc  # the match threshold in bits
    assert len(doc) < 1_500_000


def test_waterfalls_explain_sampled_pairs(doc, run_inputs):
    sample = run_inputs["sample"].to_pylist()
    assert doc.count('class="wf waterfall"') == 7  # 4 review candidates + 3 matches, all scored
    review_part, match_part = doc.split('id="waterfalls-match"')
    row = sample[1]  # P0003, best candidate
    assert "P0003" in review_part and f"<b>{row['match_weight']:+.2f}</b>" in review_part
    assert "P0010" in match_part and "strong_unique" in match_part
    # each field appears with its two values, level and weight
    assert "NGUYEN VAN AN" in doc and "東京都新宿区西新宿2-8-1" in doc
    assert f"{row['weight_birth_date']:+.2f}" in review_part
    assert f"{run_inputs['model'].prior_weight():+.2f}" in review_part


def test_never_shows_a_my_number_in_clear(doc, run_inputs):
    assert HELD not in doc and OTHER not in doc
    assert "********9018" in doc  # the masked column is shown
    assert "東京都 ********1098 番地" in doc  # a number typed into an address is masked too
    # no data run of 12 digits anywhere, plots included
    assert not re.search(r"(?<![0-9])[0-9]{12}(?![0-9])", doc)


def test_data_is_escaped(doc):
    assert "<script>" not in doc
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in doc


def test_without_sample_uses_review_rows(tmp_path, run_inputs):
    doc = _write(tmp_path, **dict(run_inputs, sample=None))
    # four scored review rows; the bare one (no candidate) has no score to explain
    assert doc.count('class="wf waterfall"') == 4
    assert "No scored match pair to show (no sample of matches was passed)" in doc
    assert "P0004" not in doc.split('id="waterfalls"')[1]


def test_no_model_and_no_pairs(tmp_path, run_inputs):
    bare = [w is None for w in run_inputs["review"]["match_weight"].to_pylist()]
    review = run_inputs["review"].filter(pa.array(bare))
    summary = dict(run_inputs["summary"], model=None)
    doc = _write(tmp_path, summary=summary, decisions=run_inputs["decisions"], review=review,
                 levels=np.zeros((0, len(FIELDS)), np.int8), weight=np.zeros(0), pair_decision=None, model=None)
    for section in ("summary", "reasons", "weights", "levels", "model", "timings", "waterfalls"):
        assert f'id="{section}"' in doc
    assert "No pairs were compared" in doc and "No model" in doc
    assert "<svg" not in doc and HELD not in doc


def test_empty_run(tmp_path):
    summary = {"rows": {"residents_in": 0, "decisions_out": 0, "conserved": True},
               "decisions": {}, "reasons": {}, "thresholds": Thresholds().to_dict(), "model": None,
               "timings_s": {}}
    decisions = pa.table({"person_id": pa.array([], pa.string()), "decision": pa.array([], pa.string()),
                          "my_number": pa.array([], pa.string())})
    doc = _write(tmp_path, summary=summary, decisions=decisions, review=_schema(False).empty_table(),
                 levels=np.zeros((0, 6), np.int8), weight=np.zeros(0), pair_decision=None, model=None)
    assert "Rows in = rows out" in doc


def test_lost_rows_are_loud(tmp_path, run_inputs):
    summary = dict(run_inputs["summary"])
    summary["rows"] = dict(summary["rows"], residents_in=10, conserved=False)
    doc = _write(tmp_path, **dict(run_inputs, summary=summary))
    assert 'class="bad"' in doc and "ROWS NOT CONSERVED" in doc and "10 resident rows in, 9" in doc
    assert "Rows in = rows out" not in doc


def test_level_labels_from_compare_when_present(tmp_path, run_inputs, monkeypatch):
    fake = types.ModuleType("jukimatch.engine.compare.levels")
    fake.LEVEL_LABELS = {"date": {3: "year and month equal"}, "sex": {0: "differ", 1: "equal"}}
    monkeypatch.setitem(sys.modules, "jukimatch.engine.compare.levels", fake)
    doc = _write(tmp_path, **run_inputs)
    assert "year and month equal" in doc and "<td>equal</td>" in doc


def _svgs(doc: str) -> list[ET.Element]:
    """Every inline plot, parsed as XML: a malformed one raises here."""
    return [ET.fromstring(m) for m in re.findall(r"<svg .*?</svg>", doc, flags=re.S)]


SVG = "{http://www.w3.org/2000/svg}"


def test_plots_are_well_formed_svg(doc):
    plots = _svgs(doc)
    # weights, levels, model, and one waterfall per explained pair
    assert len(plots) == 3 + doc.count('class="wf waterfall"')
    titles = [p.get("aria-label") for p in plots]
    assert titles[:3] == ["match weight histogram by decision", "comparison level distribution per field",
                          "match weight per comparison level"]
    assert set(titles[3:]) == {"match weight waterfall"}
    for p in plots:
        assert p.tag == f"{SVG}svg" and p.get("viewBox", "").startswith("0 0 700 ")
        assert p.find(f"{SVG}title") is not None  # read out by a screen reader, shown on hover
        marks = p.findall(f"{SVG}rect") + p.findall(f"{SVG}path")
        assert marks and all(float(r.get("width", "1")) >= 0 and float(r.get("height", "1")) >= 0
                             for r in p.findall(f"{SVG}rect"))


def test_plots_say_what_they_show(doc, run_inputs):
    weights, levels, model_plot, first_wf = _svgs(doc)[:4]
    texts = lambda p: ["".join(t.itertext()) for t in p.iter(f"{SVG}text")]  # noqa: E731
    counts = {d: int((run_inputs["pair_decision"] == d).sum()) for d in ("match", "review", "no_match")}
    for d, n in counts.items():  # the legend counts every pair of its decision
        assert (f"{d} ({n:,})" in texts(weights)) == (n > 0)
    assert any(t.startswith("match ≥ p") for t in texts(weights))  # the thresholds are marked
    assert set(FIELDS) <= set(texts(levels)) and "null" in texts(levels)
    assert any(t.startswith("name_alpha: 5") for t in texts(model_plot))  # a bar per level, labelled
    assert {"prior", "final", *FIELDS} <= set(texts(first_wf))


def test_report_is_owner_only(tmp_path, run_inputs):
    _write(tmp_path, **run_inputs)
    assert stat.S_IMODE(os.stat(tmp_path / "report.html").st_mode) == 0o600


def test_drawn_without_matplotlib(tmp_path):
    """The reconcile and link paths import no plotting library, and the report draws without one."""
    path = tmp_path / "report.html"
    code = f"""
import sys, importlib.abc
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "matplotlib":
            raise ImportError("matplotlib imported")
sys.meta_path.insert(0, Block())
import numpy as np, pyarrow as pa
import jukimatch.engine.reconcile.local, jukimatch.engine.link.report
from jukimatch.engine.report.page import write_report
rng = np.random.default_rng(1)
write_report({str(path)!r}, summary={{"rows": {{"residents_in": 0, "decisions_out": 0, "conserved": True}},
             "decisions": {{}}, "reasons": {{}}, "timings_s": {{}}}},
             decisions=pa.table({{"person_id": pa.array([], pa.string()), "decision": pa.array([], pa.string())}}),
             review=pa.table({{"person_id": pa.array([], pa.string())}}), levels=rng.integers(-1, 3, (50, 2)),
             weight=rng.normal(0, 9, 50), pair_decision=None, model=None)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert path.read_text(encoding="utf-8").count("<svg ") == 2  # weights and levels; no model to draw


@pytest.mark.parametrize("n_fields", [6, 12])  # 12 fields: too many for one key, a bincount per field
def test_level_counts_match_a_naive_count(n_fields):
    from jukimatch.engine.report.page import _level_counts

    rng = np.random.default_rng(11)
    levels = rng.integers(-1, 5, size=(2000, n_fields)).astype(np.int8)
    codes = rng.integers(0, 3, size=2000).astype(np.int8)
    counts = _level_counts(levels, codes, 3, 6)
    for f in range(n_fields):
        naive = np.zeros((3, 6), np.int64)
        for g, lv in zip(codes, levels[:, f]):
            naive[g, lv + 1] += 1
        assert (counts[f] == naive).all()


def test_percentiles_from_the_histogram_equal_numpys():
    from jukimatch.engine.report.page import _BINS, _percentiles

    rng = np.random.default_rng(5)
    for n in (1, 2, 7, 1000):
        w = np.concatenate([rng.normal(20, 15, n), np.full(n, 3.0)])  # ties too
        codes = rng.integers(0, 2, len(w))
        lo, hi = w.min() - 0.5, w.max() + 0.5
        idx = np.clip(((w - lo) * (_BINS / (hi - lo))).astype(np.intp), 0, _BINS - 1) + codes * _BINS
        hist = np.bincount(idx, minlength=2 * _BINS).reshape(2, _BINS)
        for g in range(2):
            if hist[g].any():
                got = _percentiles(w, idx, hist[g], g * _BINS, (5, 50, 95))
                assert np.allclose(got, np.percentile(w[codes == g], [5, 50, 95]), rtol=0, atol=1e-9)
