"""bench/alternate.py: two versions alternated base-new, new-base; medians; outputs compared."""
from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

import pytest

from jukimatch.bench.alternate import Run, faster_pairs, main, medians

FAKE = """#!{python}
import json, pathlib, sys
import pyarrow as pa, pyarrow.parquet as pq
out = pathlib.Path(sys.argv[sys.argv.index("--out") + 1])
out.mkdir(parents=True)
with open({log!r}, "a") as f:
    f.write({name!r} + " " + " ".join(sys.argv[1:sys.argv.index("--out")]) + "\\n")
pq.write_table(pa.table({{"decision": [{decision!r}]}}), out / "decisions.parquet")
(out / "summary.json").write_text(json.dumps({{"timings_s": {{"read": 0.1, "total": 0.2}}}}))
"""


def _version(root: Path, name: str, log: Path, decision: str = "match") -> Path:
    exe = root / name / ".venv" / "bin" / "jukimatch"
    exe.parent.mkdir(parents=True)
    exe.write_text(FAKE.format(python=sys.executable, log=str(log), name=name, decision=decision))
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    return root / name


def test_versions_alternate_and_equal_outputs_pass(tmp_path, capsys):
    log = tmp_path / "log"
    base, new = _version(tmp_path, "old", log), _version(tmp_path, "cur", log)
    code = main(["--base", str(base), "--new", str(new), "--pairs", "3", "--work", str(tmp_path / "w"),
                 "--json", str(tmp_path / "r.json"), "--", "reconcile", "--no-report"])
    assert code == 0
    # base-new, new-base, base-new: drift in load favours neither; the command passed on as given
    assert log.read_text().split("\n")[:-1] == [f"{v} reconcile --no-report" for v in
                                                 ("old", "cur", "cur", "old", "old", "cur")]
    printed = capsys.readouterr().out
    assert "same   decisions.parquet" in printed and "new faster in" in printed
    result = json.loads((tmp_path / "r.json").read_text())
    assert len(result["runs"]) == 6 and result["medians"]["base"]["read"] == 0.1
    assert all(r["user"] > 0 and r["wall"] > 0 for r in result["runs"])  # each child's own CPU, measured
    assert result["same_outputs"] == {"decisions.parquet": True}


def test_outputs_that_differ_fail_the_comparison(tmp_path, capsys):
    log = tmp_path / "log"
    base, new = _version(tmp_path, "old", log), _version(tmp_path, "cur", log, decision="review")
    assert main(["--base", str(base), "--new", str(new), "--pairs", "1", "--work", str(tmp_path / "w"),
                 "--", "reconcile"]) == 1
    assert "DIFFER decisions.parquet" in capsys.readouterr().out


def test_medians_and_pairs():
    runs = [Run("base", 10.0, 100, 1, 1, {"read": 2.0}), Run("new", 9.0, 90, 1, 1, {"read": 1.0}),
            Run("new", 12.0, 90, 1, 1, {"read": 3.0}), Run("base", 11.0, 100, 1, 1, {"read": 2.0}),
            Run("base", 13.0, 100, 1, 1, {"read": 4.0}), Run("new", 8.0, 90, 1, 1, {"read": 1.0})]
    med = medians(runs)
    assert med["base"]["wall"] == 11.0 and med["new"]["wall"] == 9.0 and med["new"]["read"] == 1.0
    assert (med["base"]["min_wall"], med["base"]["max_wall"]) == (10.0, 13.0)
    assert faster_pairs(runs) == (2, 3)  # 9<10, 12>11, 8<13


def test_a_command_with_its_own_output_folder_or_no_venv_is_refused(tmp_path):
    with pytest.raises(SystemExit):
        main(["--base", str(tmp_path), "--new", str(tmp_path), "--", "reconcile", "--out", "o"])
    with pytest.raises(SystemExit):
        main(["--base", str(tmp_path), "--new", str(tmp_path), "--", "reconcile"])
