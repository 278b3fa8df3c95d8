"""`jukimatch files ...`: encrypted exchange files and the hourly sweep.

Subcommands: ``keygen``, ``encrypt``, ``decrypt`` (the authorised consumer), ``mark-sent``,
``sweep`` (safe to run hourly, e.g. from cron: ``jukimatch files sweep --dir D --backup B``),
``verify-log``. Every operation is recorded in the folder's chained operation log, which the
sweep consults; a decrypted plaintext (created 0600) is logged too, so the sweep takes it.
Nothing prints or logs file contents. Errors about keys and files exit 2 with one line.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from jukimatch.api.console import Subparsers


def _cmd_keygen(args: argparse.Namespace) -> int:
    from jukimatch.engine.files.crypt import key_id, load_key, write_key_file

    path = write_key_file(args.out)
    print(f"wrote key {path} (id {key_id(load_key(path)).hex()}, readable by its owner only)")
    return 0


def _cmd_encrypt(args: argparse.Namespace) -> int:
    from jukimatch.engine.files.crypt import SUFFIX, encrypt_file, load_key
    from jukimatch.engine.files.exchange import record
    from jukimatch.engine.io import InputError

    key = load_key(args.key_file)
    src = Path(args.file)
    if not src.is_file():
        raise InputError(f"{src}: no such file")
    dst = Path(args.out) if args.out else src.with_name(src.name + SUFFIX)
    encrypt_file(src, dst, key)
    record(src, "encrypted", output=dst.name)
    print(f"encrypted {src} -> {dst}")
    return 0


def _cmd_decrypt(args: argparse.Namespace) -> int:
    from jukimatch.engine.files.crypt import SUFFIX, decrypt_file, load_key
    from jukimatch.engine.files.exchange import record
    from jukimatch.engine.io import InputError

    key = load_key(args.key_file)
    src = Path(args.file)
    if not src.is_file():
        raise InputError(f"{src}: no such file")
    if args.out:
        dst = Path(args.out)
    elif src.name.endswith(SUFFIX):
        dst = src.with_name(src.name[: -len(SUFFIX)])
    else:
        raise InputError(f"{src}: name does not end in {SUFFIX}; give --out")
    if dst.exists() and not args.force:
        raise InputError(f"{dst}: exists; give --force to replace it")
    n = decrypt_file(src, dst, key)
    record(src, "decrypted", output=dst.name)
    record(dst, "plaintext", source=src.name)
    print(f"decrypted {src} -> {dst} ({n:,} bytes)")
    return 0


def _cmd_mark_sent(args: argparse.Namespace) -> int:
    from jukimatch.engine.files.exchange import record
    from jukimatch.engine.io import InputError

    for f in args.files:
        p = Path(f)
        if not p.is_file():
            raise InputError(f"{p}: no such file")
        record(p, "sent")
        print(f"sent {p}")
    return 0


def _cmd_verify_log(args: argparse.Namespace) -> int:
    from jukimatch.engine.files.exchange import verify_log
    from jukimatch.engine.io import InputError

    if not Path(args.dir).is_dir():
        raise InputError(f"{args.dir}: no such folder")
    problem = verify_log(args.dir)
    print(problem or f"operation log of {args.dir} ok")
    return 1 if problem else 0


def _cmd_sweep(args: argparse.Namespace) -> int:
    from jukimatch.engine.files.exchange import BACKUP_DAYS, sweep
    from jukimatch.engine.io import InputError

    if not 0 < args.days <= BACKUP_DAYS:
        raise InputError(f"--days must lie in (0, {BACKUP_DAYS}]: backups are deleted after {BACKUP_DAYS} days, "
                         f"got {args.days}")
    try:
        actions = sweep(args.dir, args.backup, days=args.days, dry_run=args.dry_run)
    except (FileNotFoundError, ValueError) as exc:
        raise InputError(str(exc)) from None
    for line in actions:
        print(line)
    print(f"{'dry run: ' if args.dry_run else ''}{len(actions)} action(s)")
    return 0


def add_files_parser(subparsers: Subparsers) -> argparse.ArgumentParser:
    """Add ``files`` and its subcommands to the CLI's subparsers; return the ``files`` parser."""
    f: argparse.ArgumentParser = subparsers.add_parser("files", help="encrypted exchange files: keygen, encrypt, decrypt, mark-sent, sweep, "
                                             "verify-log")
    sub = f.add_subparsers(dest="files_command", required=True, parser_class=type(f))

    k = sub.add_parser("keygen", help="write a new 256-bit key file (mode 0600)")
    k.add_argument("--out", required=True, help="key file to create (never overwritten)")
    k.set_defaults(func=_cmd_keygen)

    e = sub.add_parser("encrypt", help="encrypt an exchange file (AES-256-GCM) and log it")
    e.add_argument("file")
    e.add_argument("--key-file", required=True)
    e.add_argument("--out", help="default: FILE.enc")
    e.set_defaults(func=_cmd_encrypt)

    d = sub.add_parser("decrypt", help="decrypt a .enc file for the authorised consumer and log it")
    d.add_argument("file")
    d.add_argument("--key-file", required=True)
    d.add_argument("--out", help="default: FILE without .enc")
    d.add_argument("--force", action="store_true", help="replace an existing output file")
    d.set_defaults(func=_cmd_decrypt)

    m = sub.add_parser("mark-sent", help="log files as sent (the sweep then backs them up)")
    m.add_argument("files", nargs="+")
    m.set_defaults(func=_cmd_mark_sent)

    s = sub.add_parser("sweep", help="move encrypted, sent and decrypted files to the backup folder; "
                                     "delete backups older than 10 days (hourly-safe)")
    s.add_argument("--dir", required=True, help="exchange folder (its operation log says what is done)")
    s.add_argument("--backup", required=True, help="backup folder")
    s.add_argument("--days", type=float, default=10.0, help="delete backups older than this (default and most: 10)")
    s.add_argument("--dry-run", action="store_true", help="print what would be done, change nothing")
    s.set_defaults(func=_cmd_sweep)

    v = sub.add_parser("verify-log", help="check the folder's operation log chain; exit 1 if broken")
    v.add_argument("--dir", required=True, help="exchange folder")
    v.set_defaults(func=_cmd_verify_log)
    return f


def main(argv: list[str] | None = None) -> int:
    """``python -m jukimatch.api.files_cli ...``: the same commands without the main CLI."""
    import sys

    from jukimatch.engine.io import InputError

    p = argparse.ArgumentParser(prog="jukimatch")
    sub = p.add_subparsers(dest="command", required=True)
    add_files_parser(sub)
    args = p.parse_args(argv)
    try:
        return int(args.func(args))
    except InputError as exc:
        print(f"jukimatch: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
