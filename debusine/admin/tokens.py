"""`create-token`, `list-tokens`, `enable-token`, `disable-token`, `delete-token`.

A token's key is printed once, when it is created: only its sha256 is stored.
"""

from __future__ import annotations

import argparse
import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from debusine.admin.common import (
    CommandError,
    Output,
    add_command,
    add_output_options,
    flush_unique,
    get_token,
    get_user,
    positive_int,
)
from debusine.models import Token, User, Worker


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = add_command(
        subparsers,
        "create-token",
        create_token,
        help="create an API token for a user and print its key",
        description="Create an enabled API token for USERNAME and print its key "
        "on stdout, alone on its line. The key is shown only this once: only its "
        "hash is stored.",
        epilog="examples:\n"
        "  debusine-admin create-token alice --comment 'CI of project X'\n"
        "  KEY=$(debusine-admin create-token alice --expires-in 30)",
    )
    parser.add_argument("username", metavar="USERNAME", help="the token's owner")
    parser.add_argument("--comment", default="", help="what the token is for")
    parser.add_argument(
        "--expires-in",
        metavar="DAYS",
        type=positive_int,
        help="the token expires after this many days (default: never)",
    )

    parser = add_command(
        subparsers,
        "list-tokens",
        list_tokens,
        help="list the API tokens (never their keys)",
        description="List the API tokens of every user and worker, or of one "
        "user. Keys are never shown: they are not stored.",
    )
    parser.add_argument("--user", metavar="USERNAME", help="only this user's tokens")
    add_output_options(parser)

    for name, func, help_text in (
        ("enable-token", enable_token, "enable an API token"),
        (
            "disable-token",
            disable_token,
            "disable an API token (it can be enabled again)",
        ),
        ("delete-token", delete_token, "delete an API token for good"),
    ):
        parser = add_command(
            subparsers,
            name,
            func,
            help=help_text,
            description=help_text[0].upper() + help_text[1:] + ", given its ID "
            "(see list-tokens). Workers' tokens are managed with "
            "enable-worker and disable-worker.",
            epilog=f"example:\n  debusine-admin {name} 42",
        )
        parser.add_argument(
            "token_id", metavar="ID", type=positive_int, help="the token's id"
        )


def new_token(
    session: Session,
    user: User | None,
    *,
    comment: str = "",
    expires_in: dt.timedelta | None = None,
) -> tuple[Token, str]:
    """Add an enabled token; return it and its key (to show once)."""
    expire_at = dt.datetime.now(dt.UTC) + expires_in if expires_in else None
    token, key = Token.generate(
        user=user, comment=comment, enabled=True, expire_at=expire_at
    )
    session.add(token)
    flush_unique(session, "a token with the same key exists: try again")
    return token, key


def create_token(args: argparse.Namespace, session: Session, out: Output) -> None:
    user = get_user(session, args.username)
    if user.is_system:
        raise CommandError(f"{user.username} is the system user: it cannot have tokens")
    expires_in = dt.timedelta(days=args.expires_in) if args.expires_in else None
    _token, key = new_token(session, user, comment=args.comment, expires_in=expires_in)
    out.line(key)


def list_tokens(args: argparse.Namespace, session: Session, out: Output) -> None:
    worker = aliased(Worker)
    query = (
        select(Token, User.username, worker.name)
        .outerjoin(User, Token.user_id == User.id)
        .outerjoin(
            worker,
            (worker.token_id == Token.id) | (worker.activation_token_id == Token.id),
        )
        .order_by(Token.id)
    )
    if args.user:
        query = query.where(Token.user_id == get_user(session, args.user).id)
    rows = [
        {
            "id": token.id,
            "user": username,
            "worker": worker_name,
            "comment": token.comment,
            "enabled": token.enabled,
            "created_at": token.created_at,
            "expire_at": token.expire_at,
            "last_seen_at": token.last_seen_at,
        }
        for token, username, worker_name in session.execute(query)
    ]
    out.records(
        rows,
        [
            ("id", "ID"),
            ("user", "User"),
            ("worker", "Worker"),
            ("comment", "Comment"),
            ("enabled", "Enabled"),
            ("created_at", "Created"),
            ("expire_at", "Expires"),
            ("last_seen_at", "Last seen"),
        ],
    )


def _worker_of(session: Session, token: Token) -> Worker | None:
    return session.scalar(
        select(Worker).where(
            (Worker.token_id == token.id) | (Worker.activation_token_id == token.id)
        )
    )


def _set_enabled(session: Session, token_id: int, enabled: bool) -> Token:
    token = get_token(session, token_id)
    worker = _worker_of(session, token)
    if worker is not None:
        verb = "enable-worker" if enabled else "disable-worker"
        raise CommandError(
            f"token {token_id} belongs to worker {worker.name}: use {verb}"
        )
    token.enabled = enabled
    session.flush()
    return token


def enable_token(args: argparse.Namespace, session: Session, out: Output) -> None:
    _set_enabled(session, args.token_id, True)
    out.line(f"Enabled token {args.token_id}")


def disable_token(args: argparse.Namespace, session: Session, out: Output) -> None:
    _set_enabled(session, args.token_id, False)
    out.line(f"Disabled token {args.token_id}")


def delete_token(args: argparse.Namespace, session: Session, out: Output) -> None:
    token = get_token(session, args.token_id)
    worker = _worker_of(session, token)
    if worker is not None:
        raise CommandError(
            f"token {args.token_id} belongs to worker {worker.name}: "
            "disable the worker instead"
        )
    session.delete(token)
    session.flush()
    out.line(f"Deleted token {args.token_id}")
