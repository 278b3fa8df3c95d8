"""The default profile's output is pinned: profiles add phenomena, they never move the default.

The digests were computed before profiles existed (commit b8aff77). The truth table may gain
columns; today's columns, and every other table, must hash the same.
"""
import hashlib
import json

import pytest

from jukimatch.datasets import load_profile, make_population
from jukimatch.datasets.profile import DEFAULT_PROFILE, profile_names

LEGACY_TRUTH = ("person_id", "true_my_number", "case", "discrepancies", "held_number_kind",
                "duplicate_of", "lookalike_kind", "lookalike_my_number")
PINNED = {
    (0, 2000): "a2b3ffc2452df7cca1b79d05b31622a2087b2b7a09b686c3f7844f6cb543c62c",
    (1, 3000): "c3e69b46e30b2b05b1e5096bb298ceba7f38cc8d8839011ed98a89941ee4ae13",
}


def _digest(tables) -> str:
    h = hashlib.sha256()
    for name in sorted(tables):
        t = tables[name]
        if name == "truth":
            t = t.select(list(LEGACY_TRUTH))
        h.update(name.encode())
        for col in t.column_names:
            h.update(col.encode())
            for v in t[col].to_pylist():
                h.update(b"\x00" if v is None else b"\x01" + v.encode())
    return h.hexdigest()


@pytest.mark.parametrize(("seed", "n"), sorted(PINNED))
def test_default_output_is_byte_identical_to_before_profiles(seed, n):
    assert _digest(make_population(n, seed=seed)) == PINNED[(seed, n)]
    assert _digest(make_population(n, seed=seed, profile="default")) == PINNED[(seed, n)]
    assert _digest(make_population(n, seed=seed, profile=str(DEFAULT_PROFILE))) == PINNED[(seed, n)]


def test_profiles_by_name_and_unknown_name():
    assert "default" in profile_names() and len(profile_names()) >= 6
    for name in profile_names():
        assert load_profile(name).source.endswith(f"{name}.toml")
    with pytest.raises(ValueError, match="profile not found: nosuch"):
        load_profile("nosuch")


def test_cli_generate_by_profile_name(tmp_path, capsys):
    from jukimatch.api.cli import main

    assert main(["generate", "--residents", "1500", "--out", str(tmp_path / "c"), "--profile", "clustered"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["profile"].endswith("clustered.toml") and out["cases"]["absent_namesake"] > 0
    assert main(["generate", "--residents", "10", "--out", str(tmp_path / "x"), "--profile", "nosuch"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--profile: profile not found: nosuch" in err
