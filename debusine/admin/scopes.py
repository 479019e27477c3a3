"""`create-scope`, `list-scopes`."""

from __future__ import annotations

import argparse

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from debusine.admin.common import (
    CommandError,
    Output,
    add_command,
    add_output_options,
    flush_unique,
)
from debusine.admin.roles import grant_scope_role
from debusine.models import Group, Scope, ScopeRoles, Workspace
from debusine.models.validation import RESERVED_SCOPE_NAMES, validate_name


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = add_command(
        subparsers,
        "create-scope",
        create_scope,
        help="create a scope",
        description="Create the scope NAME. A scope is a tenant of the instance: "
        "it has its own groups, workspaces and owners. With --with-owners-group, "
        "also create a group of that name in the scope and make it the scope's "
        "owner.",
        epilog="examples:\n"
        "  debusine-admin create-scope debian --label Debian "
        "--with-owners-group Admins",
    )
    parser.add_argument(
        "name",
        metavar="NAME",
        help="the scope's name: a letter, then letters, digits and + . _ -",
    )
    parser.add_argument(
        "--label", help="the name shown to users (default: NAME, capitalized)"
    )
    parser.add_argument("--icon", default="", help="the URL or static path of an icon")
    parser.add_argument(
        "--with-owners-group",
        metavar="GROUP",
        help="create the group GROUP in the scope, with the owner role on it",
    )

    parser = add_command(
        subparsers,
        "list-scopes",
        list_scopes,
        help="list the scopes",
        description="List the scopes with their label, icon and number of workspaces.",
    )
    add_output_options(parser)


def find_scope(session: Session, name: str) -> Scope | None:
    return session.scalar(select(Scope).where(Scope.name == name))


def default_label(name: str) -> str:
    return name[:1].upper() + name[1:]


def new_scope(
    session: Session, name: str, *, label: str | None = None, icon: str = ""
) -> Scope:
    """Add the scope `name`; a duplicate name or label is a CommandError."""
    validate_name("scope", name, RESERVED_SCOPE_NAMES)
    label = label if label is not None else default_label(name)
    if not label.strip():
        raise CommandError("a scope's label cannot be empty")
    if find_scope(session, name) is not None:
        raise CommandError(f"scope {name!r} already exists")
    if session.scalar(select(Scope).where(Scope.label == label)) is not None:
        raise CommandError(f"a scope labelled {label!r} already exists")
    scope = Scope(name=name, label=label, icon=icon)
    session.add(scope)
    flush_unique(
        session,
        f"scope {name!r} already exists",
        {"uq_scope_label": f"a scope labelled {label!r} already exists"},
    )
    return scope


def create_scope(args: argparse.Namespace, session: Session, out: Output) -> None:
    scope = new_scope(session, args.name, label=args.label, icon=args.icon)
    out.line(f"Created scope {scope.name}")
    if args.with_owners_group:
        group = Group(scope=scope, name=args.with_owners_group)
        session.add(group)
        session.flush()
        grant_scope_role(session, scope, group, ScopeRoles.OWNER)
        out.line(f"Created group {scope.name}/{group.name}, owner of the scope")


def list_scopes(args: argparse.Namespace, session: Session, out: Output) -> None:
    workspaces = (
        select(func.count(Workspace.id))
        .where(Workspace.scope_id == Scope.id)
        .scalar_subquery()
    )
    rows = [
        {
            "name": scope.name,
            "label": scope.label,
            "icon": scope.icon,
            "workspaces": count,
            "created_at": scope.created_at,
        }
        for scope, count in session.execute(
            select(Scope, workspaces).order_by(Scope.name)
        )
    ]
    out.records(
        rows,
        [
            ("name", "Name"),
            ("label", "Label"),
            ("icon", "Icon"),
            ("workspaces", "Workspaces"),
            ("created_at", "Created"),
        ],
    )
