"""CLI hooks: ``jukimatch review load|export`` and ``jukimatch users add|list|revoke|rotate``.

Bad usage raises :class:`~jukimatch.engine.io.InputError`
(one line, exit 2). A token is printed once, as the last word of the last line.
"""
from __future__ import annotations

import argparse
import json
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from jukimatch.engine.io import InputError


def _store(path: str, *, must_exist: bool = True) -> Any:
    from jukimatch.api.service.store import Store

    p = Path(path)
    if must_exist and not p.is_file():
        raise InputError(f"{p}: no such store")
    return Store(p)


@contextmanager
def _users(path: str, *, must_exist: bool = True) -> Iterator[Any]:
    """The store, for a users command: a refusal of the user functions (unknown user, bad
    role) is bad usage, one line naming the store."""
    with _store(path, must_exist=must_exist) as store:
        try:
            yield store
        except ValueError as exc:
            raise InputError(f"{path}: {exc}") from None


def _key(path: str | None) -> bytes | None:
    if not path:
        return None
    from jukimatch.engine.files.crypt import load_key

    return load_key(path)


def add_review_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``jukimatch review``."""
    p: argparse.ArgumentParser = subparsers.add_parser("review", help="the review workbench's queue: load a run, export decisions",
                              description="Load a reconcile run's review queue into the store; export decisions.")
    sub = p.add_subparsers(dest="review_command", required=True)
    ld = sub.add_parser("load", help="load a run's review queue (idempotent)",
                        description="Load review.parquet of a reconcile run, with the candidates' numbers taken from "
                                    "the run's responses input. Loading the same run again does nothing.")
    ld.add_argument("--run", required=True, help="the reconcile output folder")
    ld.add_argument("--db", required=True, help="store file (created and migrated if new)")
    ld.add_argument("--residents", help="the run's residents file (default: as summary.json names it)")
    ld.add_argument("--responses", help="the run's responses file (default: as summary.json names it)")
    ld.add_argument("--key-file", help="key of an encrypted run (review.parquet.enc)")
    ld.set_defaults(func=_cmd_load)
    ex = sub.add_parser("export", help="write registrations.parquet (approved only) and pending.parquet",
                        description="Write the approved registrations and the persons to inquire again; print the "
                                    "counts still open.")
    ex.add_argument("--db", required=True, help="store file")
    ex.add_argument("--out", required=True, help="output folder")
    ex.add_argument("--encrypt-key-file", help="encrypt both files with this key (see `jukimatch files keygen`)")
    ex.set_defaults(func=_cmd_export)
    return p


def _cmd_load(args: argparse.Namespace) -> int:
    from .load import load_run

    with _store(args.db, must_exist=False) as store:
        res = load_run(store, args.run, key=_key(args.key_file), residents=args.residents, responses=args.responses)
    if res.already_loaded:
        print(f"run {res.run_id} already loaded: nothing to do")
    else:
        print(f"run {res.run_id}: {res.cases:,} cases, {res.candidates:,} candidates loaded; "
              f"{res.skipped_registered:,} persons already registered skipped; {res.superseded:,} earlier cases "
              f"superseded")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from .export import export

    with _store(args.db) as store:
        res = export(store, args.out, key=_key(args.encrypt_key_file))
    print(f"registrations {res['registrations']:,} -> {res['written']['registrations']}")
    print(f"pending {res['pending']:,} -> {res['written']['pending']}")
    print(f"still open: {res['open']:,} to decide, {res['proposed']:,} awaiting approval")
    return 0


def add_users_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``jukimatch users``."""
    from jukimatch.api.service.auth import ROLES, TOKEN_DAYS

    p: argparse.ArgumentParser = subparsers.add_parser("users", help="users and their tokens (stored hashed)",
                              description="Add users, list them, revoke or rotate their tokens.")
    sub = p.add_subparsers(dest="users_command", required=True)
    a = sub.add_parser("add", help="add a user (or a new token for one); prints the token once")
    a.add_argument("--db", required=True, help="store file (created and migrated if new)")
    a.add_argument("--name", required=True, help="user id, written into every audit entry")
    a.add_argument("--role", required=True, choices=ROLES)
    a.add_argument("--requester", help="requester code (gateway users only)")
    a.add_argument("--expires", type=float, default=TOKEN_DAYS, help=f"token lifetime in days (default {TOKEN_DAYS:g})")
    a.set_defaults(func=_cmd_add)
    ls = sub.add_parser("list", help="users, roles, live tokens and their nearest expiry")
    ls.add_argument("--db", required=True)
    ls.add_argument("--json", action="store_true", help="print JSON")
    ls.set_defaults(func=_cmd_list)
    for name, helptext, func in (("revoke", "revoke every token of a user", _cmd_revoke),
                                 ("rotate", "revoke a user's tokens and print a new one", _cmd_rotate)):
        s = sub.add_parser(name, help=helptext)
        s.add_argument("--db", required=True)
        s.add_argument("--name", required=True)
        if name == "rotate":
            s.add_argument("--expires", type=float, default=TOKEN_DAYS, help="token lifetime in days")
        s.set_defaults(func=func)
    return p


def _cmd_add(args: argparse.Namespace) -> int:
    from jukimatch.api.service.auth import add_user

    with _users(args.db, must_exist=False) as store:
        token = add_user(store, args.name, args.role, requester_code=args.requester, expires_days=args.expires)
    print(f"user {args.name} (role {args.role}) token, expires in {args.expires:g} days, shown once: {token}")
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    from jukimatch.api.service.auth import list_users

    with _users(args.db) as store:
        users = list_users(store)
    if args.json:
        print(json.dumps(users, indent=2))
        return 0
    for u in users:
        print(f"{u['user_id']}\t{u['role']}\t{u['requester_code'] or '-'}\tlive tokens {u['live_tokens']}"
              f"\texpires {u['expires_at'] or ('never' if u['live_tokens'] else '-')}")
    return 0


def _cmd_revoke(args: argparse.Namespace) -> int:
    from jukimatch.api.service.auth import revoke_user

    with _users(args.db) as store:
        n = revoke_user(store, args.name)
    print(f"user {args.name}: {n} token(s) revoked")
    return 0


def _cmd_rotate(args: argparse.Namespace) -> int:
    from jukimatch.api.service.auth import rotate_user

    with _users(args.db) as store:
        token = rotate_user(store, args.name, expires_days=args.expires)
    print(f"user {args.name}: old tokens revoked; new token, shown once: {token}")
    return 0
