"""`create-group`, `list-groups`, `group-members`."""

from __future__ import annotations

import argparse
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from debusine.admin.common import (
    CommandError,
    Output,
    UsageError,
    add_command,
    add_output_options,
    flush_unique,
    get_group,
    get_scope,
    get_user,
    scoped_name,
)
from debusine.models import (
    Group,
    GroupAuditLog,
    GroupMembership,
    GroupMembershipRoles,
    Scope,
    User,
)
from debusine.models.validation import validate_name


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = add_command(
        subparsers,
        "create-group",
        create_group,
        help="create a group in a scope",
        description="Create the group GROUP in SCOPE. Roles on the scope and on "
        "its workspaces are granted to groups (see grant-role).",
        epilog="examples:\n  debusine-admin create-group debusine/Developers",
    )
    parser.add_argument(
        "group",
        metavar="SCOPE/GROUP",
        type=scoped_name("group"),
        help="the scope and the new group's name",
    )

    parser = add_command(
        subparsers,
        "list-groups",
        list_groups,
        help="list the groups",
        description="List the groups of SCOPE, or of every scope, with their "
        "number of members.",
    )
    parser.add_argument("scope", metavar="SCOPE", nargs="?", help="only this scope")
    add_output_options(parser)

    parser = add_command(
        subparsers,
        "group-members",
        group_members,
        help="show or change the members of a group",
        description="Change the members of SCOPE/GROUP, then print them. --add "
        "and --remove may be combined; --set replaces the whole membership and "
        "cannot be combined with them. Added users become plain members, or "
        "group admins (who may manage the group's members) with --admin; "
        "adding a member again sets their role. Removing a user who is not a "
        "member does nothing.",
        epilog="examples:\n"
        "  debusine-admin group-members debusine/Developers\n"
        "  debusine-admin group-members debusine/Developers --add alice bob\n"
        "  debusine-admin group-members debusine/Admins --add carol --admin\n"
        "  debusine-admin group-members debusine/Developers --set alice --yaml",
    )
    parser.add_argument(
        "group", metavar="SCOPE/GROUP", type=scoped_name("group"), help="the group"
    )
    parser.add_argument(
        "--add",
        metavar="USER",
        nargs="+",
        action="extend",
        default=[],
        help="add these users",
    )
    parser.add_argument(
        "--remove",
        metavar="USER",
        nargs="+",
        action="extend",
        default=[],
        help="remove these users",
    )
    parser.add_argument(
        "--set",
        metavar="USER",
        nargs="*",
        action="extend",
        dest="set_users",
        help="make these users the only members (none: empty the group)",
    )
    parser.add_argument(
        "--admin",
        action="store_true",
        help="added or set users are group admins rather than plain members",
    )
    add_output_options(parser)


def new_group(session: Session, scope: Scope, name: str) -> Group:
    """Add the group `name` to `scope`; a duplicate is a CommandError."""
    validate_name("group", name)
    message = f"group {scope.name}/{name} already exists"
    exists = session.scalar(
        select(Group).where(Group.scope_id == scope.id, Group.name == name)
    )
    if exists is not None:
        raise CommandError(message)
    group = Group(scope=scope, name=name)
    session.add(group)
    flush_unique(session, message)
    return group


def create_group(args: argparse.Namespace, session: Session, out: Output) -> None:
    scope_name, name = args.group
    scope = get_scope(session, scope_name)
    group = new_group(session, scope, name)
    out.line(f"Created group {scope.name}/{group.name}")


def list_groups(args: argparse.Namespace, session: Session, out: Output) -> None:
    members = (
        select(func.count())
        .select_from(GroupMembership)
        .where(GroupMembership.group_id == Group.id)
        .scalar_subquery()
    )
    query = (
        select(Group, Scope.name, members)
        .join(Scope, Group.scope_id == Scope.id)
        .order_by(Scope.name, Group.name)
    )
    if args.scope:
        query = query.where(Group.scope_id == get_scope(session, args.scope).id)
    rows = [
        {
            "scope": scope_name,
            "name": group.name,
            "members": count,
            "ephemeral": group.ephemeral,
            "created_at": group.created_at,
        }
        for group, scope_name, count in session.execute(query)
    ]
    out.records(
        rows,
        [
            ("scope", "Scope"),
            ("name", "Name"),
            ("members", "Members"),
            ("ephemeral", "Ephemeral"),
        ],
    )


def set_membership(
    session: Session, group: Group, user: User, role: GroupMembershipRoles
) -> bool:
    """Make `user` a member of `group` with `role`; False if nothing changed."""
    membership = session.get(GroupMembership, (group.id, user.id))
    if membership is None:
        session.add(GroupMembership(group=group, user=user, role=role))
        return True
    if membership.role != role:
        membership.role = role
        return True
    return False


def group_members(args: argparse.Namespace, session: Session, out: Output) -> None:
    if args.set_users is not None and (args.add or args.remove):
        raise UsageError("--set cannot be combined with --add or --remove")
    if args.admin and not (args.add or args.set_users):
        raise UsageError("--admin needs --add or --set")
    scope_name, name = args.group
    group = get_group(session, get_scope(session, scope_name), name)
    role = GroupMembershipRoles.ADMIN if args.admin else GroupMembershipRoles.MEMBER

    def users(names: list[str]) -> list[User]:
        return [get_user(session, username) for username in dict.fromkeys(names)]

    to_add = users(args.set_users if args.set_users is not None else args.add)
    to_remove = users(args.remove)
    if overlap := {u.username for u in to_add} & {u.username for u in to_remove}:
        raise UsageError("users both added and removed: " + ", ".join(sorted(overlap)))
    if args.set_users is not None:
        keep = {user.id for user in to_add}
        to_remove = [m.user for m in group.memberships if m.user_id not in keep]

    added = [
        user.username for user in to_add if set_membership(session, group, user, role)
    ]
    removed = []
    for user in to_remove:
        membership = session.get(GroupMembership, (group.id, user.id))
        if membership is not None:
            session.delete(membership)
            removed.append(user.username)
    if added or removed:
        changes: dict[str, Any] = {"source": "debusine-admin"}
        if added:
            changes["added"] = added
            changes["role"] = role.value
        if removed:
            changes["removed"] = removed
        session.add(GroupAuditLog(group_id=group.id, actor_id=None, changes=changes))
    flush_unique(session, f"the members of {scope_name}/{name} changed meanwhile")
    session.expire(group, ["memberships"])

    rows = [
        {"username": username, "role": member_role.value}
        for username, member_role in session.execute(
            select(User.username, GroupMembership.role)
            .join(GroupMembership, GroupMembership.user_id == User.id)
            .where(GroupMembership.group_id == group.id)
            .order_by(User.username)
        )
    ]
    out.records(
        rows,
        [("username", "User"), ("role", "Role")],
        title=f"Members of {scope_name}/{name}",
    )
