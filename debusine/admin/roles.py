"""`grant-role`, `revoke-role`, `list-roles`: roles of groups on scopes and workspaces.

Roles are granted to groups, and a group belongs to one scope: a role on a
workspace takes a group of the workspace's scope.
"""

from __future__ import annotations

import argparse
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from debusine.admin.common import (
    HelpFormatter,
    Output,
    add_command,
    add_output_options,
    flush_unique,
    get_group,
    get_scope,
    get_workspace,
    scoped_name,
)
from debusine.models import (
    Group,
    Scope,
    ScopeRole,
    ScopeRoles,
    Workspace,
    WorkspaceRole,
    WorkspaceRoles,
)

EPILOG = """\
examples:
  debusine-admin grant-role scope debusine owner Admins
  debusine-admin grant-role workspace debusine/System contributor Devs QA
  debusine-admin revoke-role workspace debusine/System contributor QA
  debusine-admin list-roles workspace debusine/System
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    for name, func, help_text, description in (
        (
            "grant-role",
            grant_role,
            "grant a role on a scope or a workspace to groups",
            "Grant ROLE on a scope or a workspace to each GROUP. Granting a role "
            "a group already has does nothing.",
        ),
        (
            "revoke-role",
            revoke_role,
            "revoke a role on a scope or a workspace from groups",
            "Revoke ROLE on a scope or a workspace from each GROUP. Revoking a "
            "role a group does not have does nothing.",
        ),
    ):
        parser = add_command(
            subparsers,
            name,
            func,
            help=help_text,
            description=description,
            epilog=EPILOG,
        )
        targets = parser.add_subparsers(
            title="targets",
            help="what the role is on",
            metavar="{scope,workspace}",
            dest="target",
            required=True,
        )
        on_scope = targets.add_parser(
            "scope",
            help="a role on a scope",
            description=f"{description} Scope roles: " + ", ".join(ScopeRoles) + ".",
            formatter_class=HelpFormatter,
        )
        on_scope.add_argument("scope", metavar="SCOPE", help="the scope's name")
        on_scope.add_argument(
            "role",
            metavar="ROLE",
            choices=[r.value for r in ScopeRoles],
            help="the role: " + ", ".join(ScopeRoles),
        )
        on_scope.add_argument(
            "groups", metavar="GROUP", nargs="+", help="groups of the scope"
        )
        on_scope.set_defaults(parser=on_scope)
        on_workspace = targets.add_parser(
            "workspace",
            help="a role on a workspace",
            description=f"{description} Workspace roles: "
            + ", ".join(WorkspaceRoles)
            + ".",
            formatter_class=HelpFormatter,
        )
        on_workspace.add_argument(
            "workspace",
            metavar="SCOPE/WORKSPACE",
            type=scoped_name("workspace"),
            help="the workspace",
        )
        on_workspace.add_argument(
            "role",
            metavar="ROLE",
            choices=[r.value for r in WorkspaceRoles],
            help="the role: " + ", ".join(WorkspaceRoles),
        )
        on_workspace.add_argument(
            "groups",
            metavar="GROUP",
            nargs="+",
            help="groups of the workspace's scope",
        )
        on_workspace.set_defaults(parser=on_workspace)

    parser = add_command(
        subparsers,
        "list-roles",
        list_roles,
        help="list the roles granted on a scope or a workspace",
        epilog=EPILOG,
    )
    targets = parser.add_subparsers(
        title="targets",
        help="what the role is on",
        metavar="{scope,workspace}",
        dest="target",
        required=True,
    )
    on_scope = targets.add_parser(
        "scope",
        help="the roles on a scope",
        formatter_class=HelpFormatter,
        description="List the roles granted on a scope.",
    )
    on_scope.add_argument("scope", metavar="SCOPE", help="the scope's name")
    add_output_options(on_scope)
    on_workspace = targets.add_parser(
        "workspace",
        help="the roles on a workspace",
        formatter_class=HelpFormatter,
        description="List the roles granted on a workspace.",
    )
    on_workspace.add_argument(
        "workspace",
        metavar="SCOPE/WORKSPACE",
        type=scoped_name("workspace"),
        help="the workspace",
    )
    add_output_options(on_workspace)


def _find_grant(
    session: Session, target: Scope | Workspace, group: Group, role: str
) -> ScopeRole | WorkspaceRole | None:
    """The role row granting `role` on `target` to `group`, if any."""
    if isinstance(target, Workspace):
        return session.scalar(
            select(WorkspaceRole).where(
                WorkspaceRole.workspace_id == target.id,
                WorkspaceRole.group_id == group.id,
                WorkspaceRole.role == WorkspaceRoles(role),
            )
        )
    return session.scalar(
        select(ScopeRole).where(
            ScopeRole.scope_id == target.id,
            ScopeRole.group_id == group.id,
            ScopeRole.role == ScopeRoles(role),
        )
    )


def _grant(
    session: Session, target: Scope | Workspace, group: Group, role: str
) -> bool:
    """Grant `role` on `target` to `group`; False if it already had it."""
    if _find_grant(session, target, group, role) is not None:
        return False
    if isinstance(target, Workspace):
        session.add(
            WorkspaceRole(workspace=target, group=group, role=WorkspaceRoles(role))
        )
        label = target.full_name
    else:
        session.add(ScopeRole(scope=target, group=group, role=ScopeRoles(role)))
        label = target.name
    flush_unique(session, f"group {group.name} was just granted {role} on {label}")
    return True


def grant_scope_role(
    session: Session, scope: Scope, group: Group, role: ScopeRoles
) -> bool:
    """Grant `role` on `scope` to `group`; False if it already had it."""
    return _grant(session, scope, group, role)


def grant_workspace_role(
    session: Session, workspace: Workspace, group: Group, role: WorkspaceRoles
) -> bool:
    """Grant `role` on `workspace` to `group`; False if it already had it."""
    return _grant(session, workspace, group, role)


def _target(
    session: Session, args: argparse.Namespace
) -> tuple[Scope, Scope | Workspace, str]:
    """(the scope of the groups, the object, its display name)."""
    if args.target == "scope":
        scope = get_scope(session, args.scope)
        return scope, scope, f"scope {scope.name}"
    workspace = get_workspace(session, *args.workspace)
    return workspace.scope, workspace, f"workspace {workspace.full_name}"


def grant_role(args: argparse.Namespace, session: Session, out: Output) -> None:
    scope, target, label = _target(session, args)
    groups = [get_group(session, scope, name) for name in args.groups]
    for group in groups:
        granted = _grant(session, target, group, args.role)
        verb = "Granted" if granted else "Already granted:"
        out.line(f"{verb} {args.role} on {label} to group {group.name}")


def revoke_role(args: argparse.Namespace, session: Session, out: Output) -> None:
    scope, target, label = _target(session, args)
    groups = [get_group(session, scope, name) for name in args.groups]
    for group in groups:
        grant = _find_grant(session, target, group, args.role)
        if grant is None:
            out.line(f"Group {group.name} has no {args.role} role on {label}")
            continue
        session.delete(grant)
        out.line(f"Revoked {args.role} on {label} from group {group.name}")
    session.flush()


def list_roles(args: argparse.Namespace, session: Session, out: Output) -> None:
    _scope, target, label = _target(session, args)
    rows: list[dict[str, Any]]
    if isinstance(target, Workspace):
        rows = [
            {"role": role.value, "group": name}
            for role, name in session.execute(
                select(WorkspaceRole.role, Group.name)
                .join(Group, WorkspaceRole.group_id == Group.id)
                .where(WorkspaceRole.workspace_id == target.id)
                .order_by(WorkspaceRole.role, Group.name)
            )
        ]
    else:
        rows = [
            {"role": role.value, "group": name}
            for role, name in session.execute(
                select(ScopeRole.role, Group.name)
                .join(Group, ScopeRole.group_id == Group.id)
                .where(ScopeRole.scope_id == target.id)
                .order_by(ScopeRole.role, Group.name)
            )
        ]
    out.records(rows, [("role", "Role"), ("group", "Group")], title=f"Roles on {label}")
