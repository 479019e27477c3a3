"""`bootstrap`: the idempotent first setup of an instance (used by `make run`)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from debusine.admin.common import CommandError, Output, add_command, after_commit
from debusine.admin.groups import new_group, set_membership
from debusine.admin.roles import grant_scope_role
from debusine.admin.scopes import find_scope, new_scope
from debusine.admin.tokens import new_token
from debusine.admin.users import find_user, new_user
from debusine.admin.workspaces import find_workspace, new_workspace
from debusine.models import Group, GroupMembershipRoles, ScopeRoles

ADMINS_GROUP = "Admins"
TOKEN_FILE_NAME = "admin-token"  # noqa: S105 - a file name, not a secret


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = add_command(
        subparsers,
        "bootstrap",
        bootstrap,
        help="set up a new instance (safe to run again)",
        description=f"""\
Set up what a new instance needs, creating only what is missing:
  - the scope (debusine.default_scope, else `debusine`);
  - its workspace (debusine.default_workspace, else `System`), with its
    singleton collections;
  - the group {ADMINS_GROUP} of the scope, with the owner role on it;
  - the superuser ADMIN, an admin of that group;
  - if the token file does not exist yet, an API token of ADMIN, whose key
    is written to the token file (mode 0600); its path is printed.
Running it again changes nothing.""",
        epilog="examples:\n"
        "  debusine-admin bootstrap\n"
        "  debusine-admin bootstrap --scope debian --workspace developers "
        "--admin root --token-file ~/.config/debusine/token",
    )
    parser.add_argument(
        "--scope",
        help="the scope's name (default: the debusine.default_scope "
        "setting, else debusine)",
    )
    parser.add_argument(
        "--workspace",
        help="the workspace's name (default: the "
        "debusine.default_workspace setting, else System)",
    )
    parser.add_argument(
        "--admin",
        metavar="USERNAME",
        default="admin",
        help="the administrator's user name",
    )
    parser.add_argument(
        "--token-file",
        metavar="PATH",
        help=f"where to write the administrator's token key (default: "
        f"{TOKEN_FILE_NAME} in debusine.data_dir)",
    )


def write_secret(path: Path, content: str) -> None:
    """Create `path` readable by its owner only; never replace an existing file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as error:
        raise CommandError(f"cannot create {path}: {error.strerror}") from None
    with os.fdopen(descriptor, "w") as stream:
        stream.write(content)


def bootstrap(args: argparse.Namespace, session: Session, out: Output) -> None:
    settings = args.settings
    scope_name = args.scope or settings.get("debusine.default_scope") or "debusine"
    workspace_name = (
        args.workspace or settings.get("debusine.default_workspace") or "System"
    )
    token_file = Path(
        args.token_file
        or Path(settings.get("debusine.data_dir") or "var") / TOKEN_FILE_NAME
    ).absolute()
    if token_file.exists() and not token_file.is_file():
        raise CommandError(f"{token_file} exists and is not a file")
    if not token_file.exists():
        # Refuse early what would fail after the commit.
        parent = _existing_parent(token_file)
        if not parent.is_dir():
            raise CommandError(
                f"cannot create {token_file}: {parent} is not a directory"
            )
        if not os.access(parent, os.W_OK | os.X_OK):
            raise CommandError(f"cannot create {token_file}: permission denied")

    scope = find_scope(session, scope_name)
    if scope is None:
        scope = new_scope(session, scope_name)
        out.line(f"Created scope {scope.name}")

    workspace = find_workspace(session, scope, workspace_name)
    if workspace is None:
        workspace = new_workspace(session, scope, workspace_name)
        out.line(f"Created workspace {workspace.full_name}")
    elif added := workspace.create_singleton_collections(session):
        categories = ", ".join(c.category for c in added)
        out.line(f"Created the collections {categories} in {workspace.full_name}")

    group = session.scalar(
        select(Group).where(Group.scope_id == scope.id, Group.name == ADMINS_GROUP)
    )
    if group is None:
        group = new_group(session, scope, ADMINS_GROUP)
        out.line(f"Created group {scope.name}/{group.name}")
    if grant_scope_role(session, scope, group, ScopeRoles.OWNER):
        out.line(f"Granted owner on scope {scope.name} to group {group.name}")

    user = find_user(session, args.admin)
    if user is None:
        user = new_user(session, args.admin, is_superuser=True)
        out.line(f"Created superuser {user.username}")
    elif not user.is_superuser or not user.is_active:
        user.is_superuser = user.is_active = True
        out.line(f"Made {user.username} an active superuser")
    if set_membership(session, group, user, GroupMembershipRoles.ADMIN):
        out.line(f"Made {user.username} an admin of {scope.name}/{group.name}")
    session.flush()

    if token_file.exists():
        return
    _token, key = new_token(session, user, comment="debusine-admin bootstrap")

    def write_token() -> None:
        write_secret(token_file, key + "\n")
        out.line(f"Wrote the API token of {user.username} to {token_file}")

    # Only once the token is committed: a file with a key the database does
    # not know would stop the next bootstrap from making a working one.
    after_commit(session, write_token)


def _existing_parent(path: Path) -> Path:
    for parent in path.parents:
        if parent.exists():
            return parent
    return Path("/")
