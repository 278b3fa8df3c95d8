"""Encrypted exchange files: AES-256-GCM in fixed-size segments (the STREAM construction).

Why AES-GCM from ``cryptography`` rather than Parquet modular encryption: the files this
project exchanges are not only Parquet (Juki-net batches arrive as CSV, summaries are
JSON), Parquet modular encryption needs a KMS client that wraps keys — which would itself be
AES from somewhere — and it leaves the file footer's structure readable. One envelope for
any file, authenticated end to end, is simpler to audit: a wrong key, a flipped bit, a
truncated or reordered file are all refused, never decrypted into garbage.

Layout of a ``.enc`` file (all integers big-endian)::

    magic   8  b"JKMENC1\\n"
    key id  8  HMAC-SHA256(key, "jukimatch key id")[:8]: tells a wrong key from a damaged file
    salt   16  random; the file key is HKDF-SHA256(key, salt, "jukimatch file v1")
    seg     4  plaintext bytes per segment
    then segments of ``seg`` plaintext bytes (the last one shorter, possibly empty), each
    AES-GCM encrypted with nonce = segment counter (8 bytes) ‖ 0 0 0 ‖ last-segment flag,
    the header as associated data, and its 16-byte tag appended.

Memory is bounded by one segment (1 MiB). The key file holds 32 bytes: raw, 64 hex digits
or base64 text; one that others may read draws a warning, one that others may write is
refused (someone could swap the key). Plaintext outputs are created 0600. Nothing here logs
file contents.
"""
from __future__ import annotations

import base64
import binascii
import hmac
import io
import os
import stat
import struct
import warnings
from contextlib import contextmanager
from hashlib import sha256
from pathlib import Path
from typing import IO, Iterator

from jukimatch.engine.files.atomic import atomic_file
from jukimatch.engine.io import InputError

MAGIC = b"JKMENC1\n"
SUFFIX = ".enc"
SEGMENT = 1 << 20
_TAG = 16
_HEADER = struct.Struct(">8s8s16sI")


class CryptError(InputError):
    """A key or an encrypted file that cannot be used (one line, no secret in it; exit 2)."""


class KeyFileWarning(UserWarning):
    """A secret file that the group or others may read."""


def check_secret_file(path: str | Path) -> None:
    """Refuse a world-writable secret file; warn when group or others may read it."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise CryptError(f"{path}: cannot read key file ({exc.strerror})") from None
    if mode & stat.S_IWOTH:
        raise CryptError(f"{path}: key file is writable by others (mode {stat.S_IMODE(mode):o}); refusing it — "
                         "chmod 600 and make a new key")
    if mode & (stat.S_IRGRP | stat.S_IROTH | stat.S_IWGRP):
        warnings.warn(f"{path}: key file is readable or writable beyond its owner (mode {stat.S_IMODE(mode):o}); "
                      "chmod 600", KeyFileWarning, stacklevel=3)


def _aesgcm():
    try:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    except ImportError:  # pragma: no cover - cryptography is a core dependency
        raise CryptError("encryption needs the 'cryptography' package: pip install cryptography") from None
    return AESGCM


def new_key() -> bytes:
    return os.urandom(32)


def write_key_file(path: str | Path, key: bytes | None = None) -> Path:
    """Write a new (or the given) key as 64 hex digits to a file readable by its owner only;
    an existing file is never overwritten (:class:`~jukimatch.engine.io.InputError`)."""
    path = Path(path)
    key = key or new_key()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise InputError(f"{path}: exists; a key is never overwritten") from None
    with os.fdopen(fd, "w") as f:
        f.write(key.hex() + "\n")
    return path


def load_key(path: str | Path) -> bytes:
    """The 32-byte key in ``path`` (raw bytes, hex or base64 text)."""
    path = Path(path)
    check_secret_file(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CryptError(f"{path}: cannot read key file ({exc.strerror})") from None
    if len(data) == 32:
        return data
    text = data.strip()
    for decode in (bytes.fromhex, base64.b64decode):
        try:
            key = decode(text.decode("ascii"))
        except (ValueError, binascii.Error, UnicodeDecodeError):
            continue
        if len(key) == 32:
            return key
    raise CryptError(f"{path}: not a key file (expected 32 bytes: raw, 64 hex digits or base64)")


def key_id(key: bytes) -> bytes:
    return hmac.new(key, b"jukimatch key id", sha256).digest()[:8]


def _file_key(key: bytes, salt: bytes) -> bytes:
    # HKDF-SHA256 (RFC 5869) with one output block.
    prk = hmac.new(salt, key, sha256).digest()
    return hmac.new(prk, b"jukimatch file v1" + b"\x01", sha256).digest()


def _nonce(counter: int, last: bool) -> bytes:
    return struct.pack(">Q3xB", counter, 1 if last else 0)


class EncryptingWriter(io.RawIOBase):
    """A write-only binary file that encrypts into ``raw`` segment by segment."""

    def __init__(self, raw, key: bytes, segment: int = SEGMENT):
        super().__init__()
        self._raw = raw
        salt = os.urandom(16)
        self._header = _HEADER.pack(MAGIC, key_id(key), salt, segment)
        self._aead = _aesgcm()(_file_key(key, salt))
        self._seg = segment
        self._buf = bytearray()
        self._counter = 0
        self._pos = 0
        raw.write(self._header)

    def writable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def write(self, data) -> int:
        if self.closed:
            raise ValueError("write to a closed EncryptingWriter")
        mv = memoryview(data).cast("B")
        self._buf += mv
        self._pos += len(mv)
        while len(self._buf) > self._seg:  # keep at least one byte back: the last segment is flagged
            self._emit(bytes(self._buf[: self._seg]), last=False)
            del self._buf[: self._seg]
        return len(mv)

    def _emit(self, plain: bytes, last: bool) -> None:
        self._raw.write(self._aead.encrypt(_nonce(self._counter, last), plain, self._header))
        self._counter += 1

    def close(self) -> None:
        if not self.closed:
            self._emit(bytes(self._buf), last=True)
            self._buf.clear()
        super().close()


def _read_exact(f, n: int) -> bytes:
    out = bytearray()
    while len(out) < n:
        b = f.read(n - len(out))
        if not b:
            break
        out += b
    return bytes(out)


def is_encrypted(path: str | Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(len(MAGIC)) == MAGIC
    except OSError:
        return False


def decrypt_stream(src, dst, key: bytes, *, name: str = "file") -> int:
    """Decrypt ``src`` (binary file) into ``dst``; return plaintext bytes written.

    Raises :class:`CryptError` for a wrong key or a damaged, truncated or foreign file; on a
    damaged file some plaintext may already be in ``dst`` — write it to a temporary file.
    """
    header = _read_exact(src, _HEADER.size)
    if len(header) < _HEADER.size or not header.startswith(MAGIC):
        raise CryptError(f"{name}: not a jukimatch encrypted file")
    _, kid, salt, seg = _HEADER.unpack(header)
    if not hmac.compare_digest(kid, key_id(key)):
        raise CryptError(f"{name}: wrong key (the file was encrypted with key id {kid.hex()}, "
                         f"the key given has id {key_id(key).hex()})")
    if seg < 1 or seg > 1 << 30:
        raise CryptError(f"{name}: damaged header")
    from cryptography.exceptions import InvalidTag

    aead = _aesgcm()(_file_key(key, salt))
    counter, total = 0, 0
    block = _read_exact(src, seg + _TAG)
    while True:
        nxt = _read_exact(src, seg + _TAG) if len(block) == seg + _TAG else b""
        last = not nxt
        if len(block) < _TAG:
            raise CryptError(f"{name}: truncated")
        try:
            plain = aead.decrypt(_nonce(counter, last), block, header)
        except InvalidTag:
            raise CryptError(f"{name}: damaged or truncated (segment {counter} fails authentication)") from None
        dst.write(plain)
        total += len(plain)
        counter += 1
        if last:
            return total
        block = nxt


def encrypt_file(src: str | Path, dst: str | Path, key: bytes) -> None:
    """Encrypt a file to ``dst`` (written to a temporary name, then renamed)."""
    with open(src, "rb") as fin, atomic_file(dst) as fout:
        w = EncryptingWriter(fout, key)
        while chunk := fin.read(SEGMENT):
            w.write(chunk)
        w.close()


def decrypt_file(src: str | Path, dst: str | Path, key: bytes) -> int:
    """Decrypt ``src`` to ``dst``; nothing is left at ``dst`` unless all of it authenticates."""

    src = Path(src)
    with open(src, "rb") as fin, atomic_file(dst) as fout:
        return decrypt_stream(fin, fout, key, name=str(src))


ROW_GROUP = 1 << 20  # rows per Parquet row group: pyarrow's default for a whole table
#: Columns holding a value of their own per row, numbers among them: written plain (a
#: dictionary would be built, then dropped: a third of the decisions' encoding time),
#: uncompressed (Snappy shrinks random digits by a third, at two thirds of the other columns'
#: encoding time) and without min/max statistics, which would put a My Number in the footer.
IDENTIFIER_COLUMNS = frozenset({"person_id", "my_number", "card_number"})


def _column_options(schema) -> dict:
    """``ParquetWriter`` options: dictionaries and Snappy for every column but the identifiers;
    statistics for the numbers only. A text column's smallest and largest value skip no row
    group here (every group holds every decision, and names and reasons are spread through
    the file), and working them out took a tenth of the decisions' encoding."""
    import pyarrow as pa

    coded, numbers, compression = [], [], {}
    for f in schema:
        listed = pa.types.is_list(f.type) or pa.types.is_large_list(f.type)
        leaf, kind = (f"{f.name}.list.element", f.type.value_type) if listed else (f.name, f.type)
        compression[leaf] = "none" if f.name in IDENTIFIER_COLUMNS else "snappy"
        if f.name not in IDENTIFIER_COLUMNS:
            coded.append(leaf)
            if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
                numbers.append(leaf)
    return {"use_dictionary": coded, "write_statistics": numbers, "compression": compression}


def write_parquet(table, path: str | Path, key: bytes | None, *, schema=None) -> Path:
    """Write ``table`` as Parquet to ``path`` atomically; encrypted to ``path + .enc`` with a key.

    ``table`` may also be an iterable of tables (with ``schema``), written one row group at a
    time so that the whole is never in memory. Returns the path written. The plaintext never
    touches the disk when a key is given.
    """
    import pyarrow.parquet as pq

    path = Path(path)
    target = path if key is None else path.with_name(path.name + SUFFIX)
    # created 0600: decisions carry My Numbers
    with atomic_file(target) as f, encrypted_into(f, key) as sink:
        if schema is None:
            pq.write_table(table, sink, **_column_options(table.schema))
        else:
            with pq.ParquetWriter(sink, schema, **_column_options(schema)) as writer:
                for part in table:
                    writer.write_table(part, row_group_size=ROW_GROUP)
    return target


@contextmanager
def encrypted_into(f: IO[bytes], key: bytes | None) -> Iterator[IO[bytes]]:
    """``f`` itself, or with ``key`` a writer that encrypts into it (segment by segment: the
    plaintext never reaches ``f``); its last segment is written on leaving."""
    if key is None:
        yield f
        return
    sink = EncryptingWriter(f, key)
    yield sink  # type: ignore[misc]
    sink.close()


def create_private(path: str | Path) -> IO[bytes]:
    """``path`` created (or emptied) for writing, readable by its owner only: a file of
    intermediate rows (names, numbers) that is never an output, so no atomic rename."""
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb", buffering=1 << 20)


def read_parquet(path: str | Path, key: bytes | None = None):
    """Read a Parquet file, decrypting it in memory first when it is encrypted."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    if not is_encrypted(path):
        return pq.read_table(path)
    if key is None:
        raise CryptError(f"{path}: encrypted; a key file is needed")
    return pq.read_table(pa.BufferReader(decrypt_to_memory(path, key)))


def decrypt_to_memory(path: str | Path, key: bytes | None) -> memoryview:
    """The plaintext of an encrypted file, in memory (a writable view: nothing on disk)."""
    if key is None:
        raise CryptError(f"{path}: encrypted; a key file is needed")
    buf = io.BytesIO()
    with open(path, "rb") as f:
        decrypt_stream(f, buf, key, name=str(path))
    return buf.getbuffer()


__all__ = ["CryptError", "EncryptingWriter", "create_private", "encrypted_into", "KeyFileWarning", "MAGIC", "SUFFIX", "check_secret_file", "decrypt_file",
           "decrypt_stream", "decrypt_to_memory", "encrypt_file", "is_encrypted", "key_id", "load_key", "new_key", "read_parquet",
           "write_key_file", "write_parquet"]
