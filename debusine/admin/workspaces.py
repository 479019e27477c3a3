"""`create-workspace`, `list-workspaces`, `workspace-inheritance`."""

from __future__ import annotations

import argparse
import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from debusine.admin.common import (
    CommandError,
    Output,
    UsageError,
    add_command,
    add_output_options,
    flush_unique,
    get_group,
    get_scope,
    get_workspace,
    non_negative_int,
    scoped_name,
)
from debusine.admin.roles import grant_workspace_role
from debusine.models import Scope, Workspace, WorkspaceChain, WorkspaceRoles
from debusine.models.validation import RESERVED_WORKSPACE_NAMES, validate_name


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = add_command(
        subparsers,
        "create-workspace",
        create_workspace,
        help="create a workspace in a scope",
        description="Create the workspace NAME in SCOPE, with its singleton "
        "collections (debian:archive, debian:package-build-logs and "
        "debusine:task-history, each named `_`) unless "
        "--no-singleton-collections is given. Workspaces are private unless "
        "--public is given.",
        epilog="examples:\n"
        "  debusine-admin create-workspace debusine/developers --owners-group Devs\n"
        "  debusine-admin create-workspace debian/experiments --public "
        "--default-expiration-delay 30",
    )
    parser.add_argument(
        "workspace",
        metavar="SCOPE/NAME",
        type=scoped_name("name"),
        help="the scope and the new workspace's name",
    )
    parser.add_argument(
        "--owners-group",
        metavar="GROUP",
        help="an existing group of the scope, given the owner role on the workspace",
    )
    visibility = parser.add_mutually_exclusive_group()
    visibility.add_argument(
        "--public",
        dest="public",
        action="store_true",
        default=False,
        help="anyone, even anonymous users, can see the workspace",
    )
    visibility.add_argument(
        "--private",
        dest="public",
        action="store_false",
        help="only the groups with a role on it can see the workspace (default)",
    )
    parser.add_argument(
        "--default-expiration-delay",
        metavar="DAYS",
        type=non_negative_int,
        default=0,
        help="how long new artifacts are kept, in days; 0 keeps them forever",
    )
    parser.add_argument(
        "--no-singleton-collections",
        dest="singleton_collections",
        action="store_false",
        help="do not create the singleton collections",
    )

    parser = add_command(
        subparsers,
        "list-workspaces",
        list_workspaces,
        help="list the workspaces",
        description="List the workspaces of SCOPE, or of every scope.",
    )
    parser.add_argument("scope", metavar="SCOPE", nargs="?", help="only this scope")
    add_output_options(parser)

    parser = add_command(
        subparsers,
        "workspace-inheritance",
        workspace_inheritance,
        help="show or change the workspaces a workspace inherits from",
        description="Change the ordered list of workspaces SCOPE/NAME inherits "
        "from (lookups that find nothing in a workspace continue in its parents, "
        "in order), then print it. Parents are SCOPE/WORKSPACE, or WORKSPACE for "
        "one in the same scope. --set replaces the list; --append, --prepend and "
        "--remove change it and may be combined. A workspace cannot inherit "
        "from itself or from one that inherits from it.",
        epilog="examples:\n"
        "  debusine-admin workspace-inheritance debian/developers\n"
        "  debusine-admin workspace-inheritance debian/developers "
        "--set base debusine/System\n"
        "  debusine-admin workspace-inheritance debian/developers --remove base",
    )
    parser.add_argument(
        "workspace",
        metavar="SCOPE/NAME",
        type=scoped_name("name"),
        help="the workspace",
    )
    for option, help_text in (
        ("--set", "inherit from exactly these workspaces, in this order"),
        ("--append", "add these workspaces at the end of the list"),
        ("--prepend", "add these workspaces at the start of the list"),
        ("--remove", "stop inheriting from these workspaces"),
    ):
        parser.add_argument(
            option,
            metavar="WORKSPACE",
            nargs="*" if option == "--set" else "+",
            action="extend",
            default=None,
            help=help_text,
            dest=option.removeprefix("--") + "_parents",
        )
    add_output_options(parser)


def find_workspace(session: Session, scope: Scope, name: str) -> Workspace | None:
    return session.scalar(
        select(Workspace).where(Workspace.scope_id == scope.id, Workspace.name == name)
    )


def new_workspace(
    session: Session,
    scope: Scope,
    name: str,
    *,
    public: bool = False,
    default_expiration_delay: dt.timedelta = dt.timedelta(0),
    singleton_collections: bool = True,
) -> Workspace:
    """Add the workspace `name` to `scope`; a duplicate is a CommandError."""
    validate_name("workspace", name, RESERVED_WORKSPACE_NAMES)
    message = f"workspace {scope.name}/{name} already exists"
    if find_workspace(session, scope, name) is not None:
        raise CommandError(message)
    workspace = Workspace(
        scope=scope,
        name=name,
        public=public,
        default_expiration_delay=default_expiration_delay,
    )
    session.add(workspace)
    flush_unique(session, message)
    if singleton_collections:
        workspace.create_singleton_collections(session)
    return workspace


def create_workspace(args: argparse.Namespace, session: Session, out: Output) -> None:
    scope_name, name = args.workspace
    scope = get_scope(session, scope_name)
    owners = get_group(session, scope, args.owners_group) if args.owners_group else None
    workspace = new_workspace(
        session,
        scope,
        name,
        public=args.public,
        default_expiration_delay=dt.timedelta(days=args.default_expiration_delay),
        singleton_collections=args.singleton_collections,
    )
    visibility = "public" if workspace.public else "private"
    out.line(f"Created {visibility} workspace {workspace.full_name}")
    if owners is not None:
        grant_workspace_role(session, workspace, owners, WorkspaceRoles.OWNER)
        out.line(f"Granted owner on {workspace.full_name} to group {owners.name}")


def list_workspaces(args: argparse.Namespace, session: Session, out: Output) -> None:
    query = (
        select(Workspace)
        .join(Scope, Workspace.scope_id == Scope.id)
        .options(
            selectinload(Workspace.parent_links)
            .selectinload(WorkspaceChain.parent)
            .selectinload(Workspace.scope)
        )
        .order_by(Scope.name, Workspace.name)
    )
    if args.scope:
        query = query.where(Workspace.scope_id == get_scope(session, args.scope).id)
    rows = [
        {
            "scope": workspace.scope.name,
            "name": workspace.name,
            "public": workspace.public,
            "default_expiration_delay": workspace.default_expiration_delay,
            "expiration_delay": workspace.expiration_delay,
            "inherits": [parent.full_name for parent in workspace.inherits],
            "created_at": workspace.created_at,
        }
        for workspace in session.scalars(query)
    ]
    out.records(
        rows,
        [
            ("scope", "Scope"),
            ("name", "Name"),
            ("public", "Public"),
            ("default_expiration_delay", "Artifacts kept"),
            ("inherits", "Inherits from"),
        ],
    )


def _parent(session: Session, child: Workspace, name: str) -> Workspace:
    scope_name, slash, ws_name = name.rpartition("/")
    if not slash:
        scope_name = child.scope.name
    if not scope_name or not ws_name:
        raise UsageError(f"{name!r} is not of the form [SCOPE/]WORKSPACE")
    return get_workspace(session, scope_name, ws_name)


def workspace_inheritance(
    args: argparse.Namespace, session: Session, out: Output
) -> None:
    if args.set_parents is not None and (
        args.append_parents or args.prepend_parents or args.remove_parents
    ):
        raise UsageError(
            "--set cannot be combined with --append, --prepend or --remove"
        )
    workspace = get_workspace(session, *args.workspace)

    def resolve(names: list[str] | None) -> list[Workspace]:
        return [_parent(session, workspace, name) for name in names or []]

    current = list(workspace.inherits)
    if args.set_parents is not None:
        chain = resolve(args.set_parents)
    else:
        prepend, append = resolve(args.prepend_parents), resolve(args.append_parents)
        remove = {parent.id for parent in resolve(args.remove_parents)}
        chain = [
            parent for parent in prepend + current + append if parent.id not in remove
        ]
    if [p.id for p in chain] != [p.id for p in current]:
        workspace.set_inheritance(session, chain)
        session.expire(workspace, ["parent_links"])

    rows = [
        {"order": order, "workspace": parent.full_name}
        for order, parent in enumerate(workspace.inherits, start=1)
    ]
    out.records(
        rows,
        [("order", "#"), ("workspace", "Inherits from")],
        title=f"{workspace.full_name} inherits from",
    )
