"""Link configuration: the shipped ones parse, every mistake is one clear line."""
from __future__ import annotations

import tomllib
from importlib import resources

import pytest

from jukimatch.engine.io import InputError
from jukimatch.engine.link_config import DEFAULT_CONFIG, ConfigError, load_config, parse_config

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
    assert cfg.groups() == {"name": [0, 1, 2]}
    assert cfg.id_column == "person_id" and cfg.threshold == 0.5
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
