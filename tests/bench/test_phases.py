"""bench/phases.py: phases placed on the clock by the summary, costs from the samples at their ends."""
from __future__ import annotations

import json
import sys

import pytest

from jukimatch.bench.phases import Sample, main, phases

GIB_PAGES = 2**30 // 4096


def test_phases_take_their_costs_from_the_samples_at_their_ends():
    samples = [Sample(t / 10, user=t / 10, system=t / 20, pages=t * GIB_PAGES) for t in range(0, 41)]
    rows = phases({"read": 1.0, "compare": 2.0, "fit": 0.01, "total": 3.01}, samples, summary_at=3.51, end=4.0)
    assert [r["phase"] for r in rows] == ["start", "read", "compare", "fit", "exit"]
    start, read, compare, fit, exit_ = rows
    assert start["seconds"] == pytest.approx(0.5) and exit_["seconds"] == pytest.approx(0.49)
    assert read["cores"] == pytest.approx(1.5) and read["system"] == pytest.approx(0.5)
    assert read["pages_gib"] == pytest.approx(10) and compare["pages_gib"] == pytest.approx(20)
    assert fit["cores"] is None  # shorter than two samples


def test_a_run_is_sampled_and_its_summary_read(tmp_path, capsys):
    out = tmp_path / "out"
    child = ("import json, pathlib, time; o = pathlib.Path(r'%s'); o.mkdir(); time.sleep(0.3); "
             "(o / 'summary.json').write_text(json.dumps({'timings_s': {'read': 0.1, 'write': 0.1, 'total': 0.2}}))"
             % out)
    main(["--every", "0.02", "--json", str(tmp_path / "rows.json"), "--", sys.executable, "-c", child, "--out", str(out)])
    printed = capsys.readouterr().out
    assert "read" in printed and "write" in printed and "wall" in printed
    rows = json.loads((tmp_path / "rows.json").read_text())["rows"]
    assert [r["phase"] for r in rows] == ["start", "read", "write", "exit"]
    assert all(r["seconds"] >= 0 and r["pages_gib"] >= 0 for r in rows)


def test_a_command_without_an_output_folder_is_refused(capsys):
    with pytest.raises(SystemExit):
        main(["--", "jukimatch", "reconcile", "--residents", "r.csv"])
    assert "--out" in capsys.readouterr().err
