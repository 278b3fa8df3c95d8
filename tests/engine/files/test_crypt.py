"""Protected files: AES-256-GCM round trips, wrong keys and damaged files refused in one line,
reconcile's encrypted outputs, and no number in clear where it must not be."""
import json
import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from jukimatch.api import reconcile
from jukimatch.api.files_cli import main as files_main
from jukimatch.engine.files import crypt
from jukimatch.engine.files.exchange import read_log


@pytest.fixture
def key(tmp_path):
    return crypt.write_key_file(tmp_path / "key.hex")


def _pop(tmp_path):
    res = tmp_path / "res.csv"
    res.write_text("person_id,name_alpha,birth_date,sex,address,my_number\n"
                   "A1,NGUYEN VAN AN,1990-01-02,1,東京都新宿区西新宿2-8-1,\n"
                   "A2,TRAN THI BINH,1985-03-04,2,大阪府大阪市北区梅田1-1-1,621498320257\n"
                   "A3,LE VAN CUONG,1970-05-06,1,愛知県名古屋市中区三の丸3-1-1,\n")
    resp = tmp_path / "resp.csv"
    resp.write_text("person_id,status,my_number,name_alpha,birth_date,sex,address\n"
                    "A1,found,123456789018,NGUYEN VAN AN,1990-01-02,1,東京都新宿区西新宿2-8-1\n"
                    "A2,found,621498320257,TRAN THI BINH,1985-03-04,2,大阪府大阪市北区梅田1-1-1\n")
    return res, resp


def test_parquet_round_trip_and_file_round_trip(tmp_path, key):
    k = crypt.load_key(key)
    t = pa.table({"my_number": [f"{i:012d}" for i in range(50_000)], "x": list(range(50_000))})
    p = crypt.write_parquet(t, tmp_path / "t.parquet", k)
    assert p.name == "t.parquet.enc" and not (tmp_path / "t.parquet").exists()
    assert b"000000049999" not in p.read_bytes()
    assert crypt.read_parquet(p, k).equals(t)
    for size in (0, 1, crypt.SEGMENT - 1, crypt.SEGMENT, crypt.SEGMENT + 1, 3 * crypt.SEGMENT):
        src = tmp_path / f"plain{size}"
        src.write_bytes(bytes(range(256)) * (size // 256) + bytes(size % 256))
        crypt.encrypt_file(src, tmp_path / "c.enc", k)
        assert crypt.decrypt_file(tmp_path / "c.enc", tmp_path / "back", k) == size
        assert (tmp_path / "back").read_bytes() == src.read_bytes()


def test_identifiers_are_written_plain_and_kept_out_of_the_footer(tmp_path):
    """No min/max statistics (they would put a My Number in the footer) and no dictionary
    for identifier columns; other columns, lists included, keep their dictionaries, and only
    numbers keep statistics (a text's min and max would skip no row group, and put a name in
    the footer); the rows round-trip, whole or written block by block."""
    numbers = [f"{i:012d}" for i in range(1000, 4000)]
    t = pa.table({"person_id": [f"P{i}" for i in range(3000)], "my_number": numbers,
                  "decision": ["match", "review", "no_match"] * 1000,
                  "reasons": pa.array([["namesake"], [], ["risk", "namesake"]] * 1000, pa.list_(pa.string())),
                  "name_alpha": ["NGUYEN VAN AN", "ZHANG WEI", "MARIA SANTOS"] * 1000,
                  "match_weight": [12.5, -3.0, 7.25] * 1000})
    whole = crypt.write_parquet(t, tmp_path / "whole.parquet", None)
    blocks = crypt.write_parquet(iter([t.slice(0, 1000), t.slice(1000)]), tmp_path / "blocks.parquet", None,
                                 schema=t.schema)
    for path in (whole, blocks):
        meta = pq.ParquetFile(path).metadata
        columns = {meta.row_group(0).column(i).path_in_schema: meta.row_group(0).column(i)
                   for i in range(meta.num_columns)}
        for name in ("person_id", "my_number"):
            assert not columns[name].is_stats_set and "RLE_DICTIONARY" not in columns[name].encodings
        for name in ("decision", "reasons.list.element", "name_alpha"):
            assert not columns[name].is_stats_set and "RLE_DICTIONARY" in columns[name].encodings
        assert columns["match_weight"].is_stats_set and columns["match_weight"].statistics.max == 12.5
        footer = path.read_bytes()[-(meta.serialized_size + 8):]
        assert not any(n.encode() in footer for n in (numbers[0], numbers[-1], "ZHANG WEI", "MARIA SANTOS"))
        assert pq.read_table(path).equals(t)


def test_key_formats(tmp_path):
    raw = crypt.new_key()
    import base64

    for name, data in (("raw", raw), ("hex", raw.hex().encode() + b"\n"), ("b64", base64.b64encode(raw))):
        (tmp_path / name).write_bytes(data)
        os.chmod(tmp_path / name, 0o600)
        assert crypt.load_key(tmp_path / name) == raw
    (tmp_path / "short").write_text("abcd")
    os.chmod(tmp_path / "short", 0o600)
    with pytest.raises(crypt.CryptError, match="not a key file"):
        crypt.load_key(tmp_path / "short")


def test_wrong_key_damage_and_truncation_refused(tmp_path, key):
    k = crypt.load_key(key)
    src = tmp_path / "f.csv"
    src.write_bytes(b"person_id,my_number\nA1,123456789018\n" * 40_000)
    enc = tmp_path / "f.csv.enc"
    crypt.encrypt_file(src, enc, k)
    with pytest.raises(crypt.CryptError, match="wrong key"):
        crypt.decrypt_file(enc, tmp_path / "out", crypt.new_key())
    assert not (tmp_path / "out").exists()  # nothing half-decrypted is left behind
    data = bytearray(enc.read_bytes())
    data[-40] ^= 1
    (tmp_path / "bad.enc").write_bytes(bytes(data))
    with pytest.raises(crypt.CryptError, match="damaged"):
        crypt.decrypt_file(tmp_path / "bad.enc", tmp_path / "out", k)
    segs = enc.read_bytes()[: 36 + crypt.SEGMENT + 16]  # the header and the first whole segment only
    (tmp_path / "cut.enc").write_bytes(segs)
    with pytest.raises(crypt.CryptError):
        crypt.decrypt_file(tmp_path / "cut.enc", tmp_path / "out", k)
    assert not (tmp_path / "out").exists()


def test_cli_encrypt_decrypt_and_wrong_key_exit_2(tmp_path, key, capsys):
    src = tmp_path / "batch.csv"
    src.write_text("person_id,my_number\nA1,123456789018\n")
    assert files_main(["files", "encrypt", str(src), "--key-file", str(key)]) == 0
    enc = tmp_path / "batch.csv.enc"
    assert enc.exists()
    other = crypt.write_key_file(tmp_path / "other.hex")
    capsys.readouterr()
    assert files_main(["files", "decrypt", str(enc), "--key-file", str(other), "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "wrong key" in err[0] and other.read_text().strip() not in err[0]
    assert files_main(["files", "decrypt", str(enc), "--key-file", str(key), "--out", str(tmp_path / "x")]) == 0
    assert (tmp_path / "x").read_text() == src.read_text()
    ops = [(e["op"], e["file"]) for e in read_log(tmp_path)]
    assert ops == [("encrypted", "batch.csv"), ("decrypted", "batch.csv.enc"), ("plaintext", "x")]
    assert oct(os.stat(tmp_path / "x").st_mode & 0o777) == "0o600"  # the plaintext is its owner's only
    log = (tmp_path / ".jukimatch-exchange.jsonl").read_text()
    assert "123456789018" not in log and "123456789018" not in capsys.readouterr().out


def test_reconcile_writes_protected_outputs_encrypted(tmp_path, key):
    res, resp = _pop(tmp_path)
    plain = reconcile(res, resp, tmp_path / "plain", report=False)
    out = tmp_path / "enc"
    s = reconcile(res, resp, out, report=True, encrypt_key_file=key)
    assert s["encrypted"] == ["decisions", "pending", "review"]
    for name in ("decisions", "review", "pending"):
        assert not (out / f"{name}.parquet").exists()
        enc = out / f"{name}.parquet.enc"
        assert crypt.is_encrypted(enc)
        assert crypt.read_parquet(enc, crypt.load_key(key)).equals(pq.read_table(tmp_path / "plain" / f"{name}.parquet"))
    assert s["decisions"] == plain["decisions"] and s["decisions"]["match"] >= 1
    for name in ("decisions", "review", "pending", "rejected"):  # plaintext with numbers: the owner's only
        assert oct(os.stat(tmp_path / "plain" / f"{name}.parquet").st_mode & 0o777) == "0o600", name
    for f in out.iterdir():  # numbers in clear nowhere: not in the summary, the report, the model
        if f.is_file():
            assert b"123456789018" not in f.read_bytes() and b"621498320257" not in f.read_bytes(), f.name
    assert json.loads((out / "summary.json").read_text())["outputs"]["decisions"] == "decisions.parquet.enc"
    # a later run without a key replaces the encrypted files: never two versions side by side
    reconcile(res, resp, out, report=False)
    assert (out / "decisions.parquet").exists() and not (out / "decisions.parquet.enc").exists()
    reconcile(res, resp, out, report=False, encrypt_key_file=key)
    assert not (out / "decisions.parquet").exists()


def test_reconcile_with_an_unusable_key_stops_before_work(tmp_path):
    res, resp = _pop(tmp_path)
    (tmp_path / "bad.key").write_text("not a key")
    os.chmod(tmp_path / "bad.key", 0o600)
    from jukimatch.engine.io import InputError

    with pytest.raises(InputError, match="not a key file"):
        reconcile(res, resp, tmp_path / "o", encrypt_key_file=tmp_path / "bad.key")
    assert not (tmp_path / "o").exists()
