"""`create-user`, `list-users`, `manage-user`."""

from __future__ import annotations

import argparse
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from debusine.admin.common import (
    CommandError,
    Output,
    UsageError,
    add_command,
    add_output_options,
    flush_unique,
    get_user,
)
from debusine.models import User
from debusine.models.validation import validate_name

# Deliberately loose: one @, something on each side, no spaces.
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+$")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = add_command(
        subparsers,
        "create-user",
        create_user,
        help="create a user",
        description="Create the user USERNAME. Users are global to the instance; "
        "they get permissions through the groups they are members of (see "
        "group-members) and sign in with single sign-on or API tokens (see "
        "create-token).",
        epilog="examples:\n"
        "  debusine-admin create-user alice alice@example.org "
        "--full-name 'Alice Liddell'\n"
        "  debusine-admin create-user root --superuser",
    )
    parser.add_argument("username", metavar="USERNAME", help="the user's login name")
    parser.add_argument(
        "email",
        metavar="EMAIL",
        nargs="?",
        default="",
        help="the user's email address; two users cannot share one",
    )
    parser.add_argument("--full-name", default="", help="the user's full name")
    parser.add_argument(
        "--superuser",
        action="store_true",
        help="give the user every permission on the instance",
    )

    parser = add_command(
        subparsers,
        "list-users",
        list_users,
        help="list the users",
        description="List the users, with their email address and status.",
    )
    add_output_options(parser)

    parser = add_command(
        subparsers,
        "manage-user",
        manage_user,
        help="change a user's email, name or status",
        description="Change the email address, full name, active status or "
        "superuser status of USERNAME. An inactive user can neither sign in nor "
        "use API tokens.",
        epilog="examples:\n"
        "  debusine-admin manage-user alice --email alice@example.com\n"
        "  debusine-admin manage-user mallory --inactive",
    )
    parser.add_argument("username", metavar="USERNAME", help="the user's login name")
    parser.add_argument("--email", help="the new email address")
    parser.add_argument("--full-name", help="the new full name")
    active = parser.add_mutually_exclusive_group()
    active.add_argument(
        "--active",
        dest="is_active",
        action="store_const",
        const=True,
        help="let the user sign in and use their tokens",
    )
    active.add_argument(
        "--inactive",
        dest="is_active",
        action="store_const",
        const=False,
        help="stop the user from signing in and using their tokens",
    )
    superuser = parser.add_mutually_exclusive_group()
    superuser.add_argument(
        "--superuser",
        dest="is_superuser",
        action="store_const",
        const=True,
        help="give the user every permission on the instance",
    )
    superuser.add_argument(
        "--no-superuser",
        dest="is_superuser",
        action="store_const",
        const=False,
        help="take the superuser status away",
    )


def find_user(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


def check_email(session: Session, email: str, user: User | None = None) -> None:
    if not email:
        return
    if not EMAIL_RE.match(email):
        raise CommandError(f"invalid email address {email!r}")
    other = session.scalar(
        select(User).where(User.email == email, User.is_system.is_(False))
    )
    if other is not None and other is not user:
        raise CommandError(
            f"email address {email!r} is already used by {other.username}"
        )


def new_user(
    session: Session,
    username: str,
    email: str = "",
    *,
    full_name: str = "",
    is_superuser: bool = False,
) -> User:
    """Add the user `username`; a duplicate username or email is a CommandError."""
    validate_name("user", username, max_length=150)
    if find_user(session, username) is not None:
        raise CommandError(f"user {username!r} already exists")
    check_email(session, email)
    user = User(
        username=username, email=email, full_name=full_name, is_superuser=is_superuser
    )
    session.add(user)
    flush_unique(
        session,
        f"user {username!r} already exists",
        {"uq_user_email_not_system": f"email address {email!r} is already used"},
    )
    return user


def create_user(args: argparse.Namespace, session: Session, out: Output) -> None:
    user = new_user(
        session,
        args.username,
        args.email,
        full_name=args.full_name,
        is_superuser=args.superuser,
    )
    out.line(
        f"Created user {user.username}" + (" (superuser)" if args.superuser else "")
    )


def list_users(args: argparse.Namespace, session: Session, out: Output) -> None:
    rows = [
        {
            "username": user.username,
            "email": user.email,
            "full_name": user.full_name,
            "active": user.is_active,
            "superuser": user.is_superuser,
            "system": user.is_system,
            "created_at": user.created_at,
        }
        for user in session.scalars(select(User).order_by(User.username))
    ]
    out.records(
        rows,
        [
            ("username", "Username"),
            ("email", "Email"),
            ("full_name", "Full name"),
            ("active", "Active"),
            ("superuser", "Superuser"),
            ("created_at", "Created"),
        ],
    )


def manage_user(args: argparse.Namespace, session: Session, out: Output) -> None:
    if (
        args.email is None
        and args.full_name is None
        and args.is_active is None
        and args.is_superuser is None
    ):
        raise UsageError(
            "nothing to change: give --email, --full-name, --active/--inactive "
            "or --superuser/--no-superuser"
        )
    user = get_user(session, args.username)
    if user.is_system:
        raise CommandError(f"{user.username} is the system user: it cannot be changed")
    changes = []
    if args.email is not None and args.email != user.email:
        check_email(session, args.email, user)
        user.email = args.email
        changes.append(f"email {args.email or '(none)'}")
    if args.full_name is not None and args.full_name != user.full_name:
        user.full_name = args.full_name
        changes.append(f"full name {args.full_name!r}")
    if args.is_active is not None and args.is_active != user.is_active:
        user.is_active = args.is_active
        changes.append("active" if args.is_active else "inactive")
    if args.is_superuser is not None and args.is_superuser != user.is_superuser:
        user.is_superuser = args.is_superuser
        changes.append("superuser" if args.is_superuser else "not superuser")
    flush_unique(session, f"email address {args.email!r} is already used")
    if changes:
        out.line(f"Updated user {user.username}: " + ", ".join(changes))
    else:
        out.line(f"User {user.username} unchanged")
