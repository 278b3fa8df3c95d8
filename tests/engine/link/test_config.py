"""Link configuration: the shipped ones parse, every mistake is one clear line."""
from __future__ import annotations

import tomllib
from importlib import resources

import pytest

from jukimatch.engine.io import InputError
from jukimatch.engine.link.config import DEFAULT_CONFIG, ConfigError, load_config, parse_config

BASE = """
[link]
id_column = "id"
[[columns]]
name = "surname"
normaliser = "text"
comparison = "jaro_winkler"
tf = true
[[blocking]]
keys = ["surname:prefix3"]
"""


def _parse(extra: str = "", base: str = BASE):
    return parse_config(tomllib.loads(base + extra), "cfg.toml")


def test_default_and_shipped_configs_parse():
    cfg = load_config(None)
    assert [c.name for c in cfg.columns][:3] == ["name_alpha", "name_kanji", "name_kana"]
    assert cfg.groups() == {"name": [0, 1, 2, 3, 4]}  # names, nationality, resident class
    assert cfg.id_column == "person_id" and cfg.threshold == 0.5 and cfg.review_threshold == 0.001
    assert cfg.column("name_alpha").tf_key == "sorted_tokens" and cfg.column("name_alpha").tf_levels == (4, 5)
    assert cfg.column("birth_date").tf_levels == (4, 5) and cfg.column("sex").tf_levels == ()
    assert cfg.column("my_number").normaliser == "my_number" and cfg.column("my_number").u[1] < 1e-5
    febrl = resources.files("jukimatch.bench").joinpath("configs/febrl4.toml")
    cfg = parse_config(tomllib.loads(febrl.read_text()), "febrl4.toml")
    assert cfg.id_column == "rec_id" and len(cfg.columns) == 10 and cfg.rules[0].unordered
    assert "[[blocking]]" in DEFAULT_CONFIG


@pytest.mark.parametrize("extra, expected", [
    ('[[columns]]\nname = "x"\nnormaliser = "rot13"\ncomparison = "exact"\n',
     "cfg.toml: columns[1] (x).normaliser: unknown normaliser 'rot13'"),
    ('[[columns]]\nname = "x"\nnormaliser = "date"\ncomparison = "exact"\n',
     "cfg.toml: columns[1] (x).comparison: comparison 'exact' reads strings values, normaliser 'date' makes date"),
    ('[[columns]]\nname = "x"\nnormaliser = "text"\ncomparison = "soundex"\n',
     "cfg.toml: columns[1] (x).comparison: unknown comparison 'soundex'"),
    ('[[columns]]\nname = "x"\nnormaliser = "text"\ncomparison = "edit_distance"\nthresholds = [2, 1]\n',
     "cfg.toml: columns[1] (x).thresholds: thresholds must be strictly increasing"),
    ('[[columns]]\nname = "surname"\nnormaliser = "text"\ncomparison = "exact"\n',
     "cfg.toml: columns[1] (surname): column listed twice"),
    ('[[blocking]]\nkeys = ["given"]\n', "cfg.toml: blocking[1].keys: 'given': no [[columns]] entry named 'given'"),
    ('[[blocking]]\nkeys = ["surname:year"]\n', "cfg.toml: blocking[1].keys: 'surname:year': transform 'year'"),
    ('[[blocking]]\nkeys = ["surname"]\nspeed = 3\n', "cfg.toml: blocking[1]: unknown key 'speed'"),
    ('[[columns]]\nname = "x"\nnormaliser = "sex"\ncomparison = "sex"\ntf = true\n',
     "cfg.toml: columns[1] (x).tf: term-frequency adjustment needs text or date values"),
    ('[[columns]]\nname = "x"\nnormaliser = "text"\ncomparison = "exact"\ntf_key = "nospace"\n',
     "cfg.toml: columns[1] (x): tf_key and tf_levels need tf = true"),
    ('[[columns]]\nname = "x"\nnormaliser = "text"\ncomparison = "exact"\ntf = true\ntf_key = "year"\n',
     "cfg.toml: columns[1] (x).tf_key: transform 'year' does not apply to strings values"),
    ('[[columns]]\nname = "x"\nnormaliser = "text"\ncomparison = "exact"\ntf = true\ntf_levels = [0, 1]\n',
     "cfg.toml: columns[1] (x).tf_levels: expected distinct agreeing levels 1..1"),
    ('[[columns]]\nname = "x"\nnormaliser = "text"\ncomparison = "exact"\nm = [0.5, 0.6]\n',
     "cfg.toml: columns[1] (x).m: expected 2 probabilities (levels 0..1) strictly between 0 and 1 that sum to 1"),
    ('[[columns]]\nname = "x"\nnormaliser = "text"\ncomparison = "exact"\nu = [1.0]\n',
     "cfg.toml: columns[1] (x).u: expected 2 probabilities"),
])
def test_config_errors_are_one_clear_line(extra, expected):
    with pytest.raises(ConfigError) as err:
        _parse(extra)
    msg = str(err.value)
    assert msg.startswith(expected), msg
    assert "\n" not in msg
    assert isinstance(err.value, InputError)  # the CLI exits 2 on it


@pytest.mark.parametrize("base, expected", [
    (BASE.replace('id_column = "id"', 'threshold = 1.5'), "cfg.toml: [link].threshold: must be a probability"),
    (BASE.replace('id_column = "id"', 'threshold = 0.5\nreview_threshold = 0.9'),
     "cfg.toml: [link].review_threshold: must be a probability above 0 and at most threshold (0.5), got 0.9"),
    (BASE.replace('id_column = "id"', 'id_column = 3'), "cfg.toml: [link].id_column: expected a string, got 3"),
    (BASE.replace('tf = true', 'tf = "yes"'), "cfg.toml: columns[0] (surname).tf: expected true/false"),
    (BASE.split("[[blocking]]")[0], "cfg.toml: top level: missing key 'blocking'"),
    (BASE.replace('[link]', '[linking]').replace('id_column = "id"', ''), "cfg.toml: top level: unknown key 'linking'"),
])
def test_link_section_errors(base, expected):
    with pytest.raises(ConfigError, match=None) as err:
        _parse(base=base)
    assert str(err.value).startswith(expected), str(err.value)


def test_file_errors(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[link\nid_column = 1\n")
    with pytest.raises(ConfigError) as err:
        load_config(bad)
    assert str(err.value).startswith(f"{bad}: not valid TOML") and "\n" not in str(err.value)


def test_tf_and_fixed_probabilities_parse():
    cfg = _parse('[[columns]]\nname = "kana"\nnormaliser = "kana"\ncomparison = "name_kana"\ntf = true\n'
                 'tf_key = "nospace"\ntf_levels = [4, 3]\n'
                 '[[columns]]\nname = "card"\nnormaliser = "alnum"\ncomparison = "exact"\nm = [0.8, 0.2]\n'
                 'u = [0.9999, 0.0001]\n')
    kana, card = cfg.column("kana"), cfg.column("card")
    assert kana.tf_key == "nospace" and kana.tf_levels == (3, 4)
    assert card.m == (0.8, 0.2) and card.u == (0.9999, 0.0001) and not card.tf
    assert cfg.column("surname").tf_levels == (cfg.column("surname").comparison.exact_level,)
    d = cfg.to_dict()["columns"]
    assert d[1]["tf_levels"] == [3, 4] and d[2]["m"] == [0.8, 0.2] and cfg.to_dict()["review_threshold"] is None
