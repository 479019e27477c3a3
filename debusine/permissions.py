"""Who may do what: the one permission layer used by the API, the UI and lookups.

Roles are granted to groups. A workspace role comes from a `WorkspaceRole`
of one of the user's groups, or is implied: scope owners own every workspace
of their scope, owners are contributors, contributors are viewers, and
everyone (anonymous included) views a public workspace. Superusers may do
everything; worker tokens may see every workspace and create artifacts
(they act for the work requests assigned to them).

Each check comes in two forms: a Python predicate on one object, and a SQL
clause to filter many, so that private workspaces leak through nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, false, or_, select, true
from sqlalchemy.orm import Session

from debusine.models import (
    GroupMembership,
    Scope,
    ScopeRole,
    ScopeRoles,
    User,
    Worker,
    WorkRequest,
    Workspace,
    WorkspaceRole,
    WorkspaceRoles,
)

if TYPE_CHECKING:
    from sqlalchemy import Select

# Each role and the roles it implies.
IMPLIED_WORKSPACE_ROLES: dict[WorkspaceRoles, frozenset[WorkspaceRoles]] = {
    WorkspaceRoles.OWNER: frozenset(WorkspaceRoles),
    WorkspaceRoles.CONTRIBUTOR: frozenset(
        {WorkspaceRoles.CONTRIBUTOR, WorkspaceRoles.VIEWER}
    ),
    WorkspaceRoles.VIEWER: frozenset({WorkspaceRoles.VIEWER}),
}


@dataclass(frozen=True)
class Actor:
    """Who acts: a user, a worker, or nobody (anonymous)."""

    user: User | None = None
    worker: Worker | None = None

    @property
    def is_anonymous(self) -> bool:
        return self.user is None and self.worker is None

    @property
    def is_superuser(self) -> bool:
        return self.user is not None and self.user.is_superuser


ANONYMOUS = Actor()


def _group_ids(user: User) -> Select[tuple[int]]:
    return select(GroupMembership.group_id).where(GroupMembership.user_id == user.id)


def is_scope_owner(session: Session, actor: Actor, scope: Scope) -> bool:
    if actor.is_superuser:
        return True
    if actor.user is None:
        return False
    return (
        session.scalar(
            select(ScopeRole.id).where(
                ScopeRole.scope_id == scope.id,
                ScopeRole.role == ScopeRoles.OWNER,
                ScopeRole.group_id.in_(_group_ids(actor.user)),
            )
        )
        is not None
    )


def workspace_roles(
    session: Session, actor: Actor, workspace: Workspace
) -> frozenset[WorkspaceRoles]:
    """Every role `actor` has on `workspace`, implied ones included."""
    if actor.is_superuser:
        return frozenset(WorkspaceRoles)
    roles: set[WorkspaceRoles] = set()
    if workspace.public:
        roles.add(WorkspaceRoles.VIEWER)
    if actor.user is not None:
        granted = session.scalars(
            select(WorkspaceRole.role).where(
                WorkspaceRole.workspace_id == workspace.id,
                WorkspaceRole.group_id.in_(_group_ids(actor.user)),
            )
        )
        roles.update(granted)
        if is_scope_owner(session, actor, workspace.scope):
            roles.add(WorkspaceRoles.OWNER)
    implied: set[WorkspaceRoles] = set()
    for role in roles:
        implied |= IMPLIED_WORKSPACE_ROLES[role]
    return frozenset(implied)


def has_workspace_role(
    session: Session, actor: Actor, workspace: Workspace, role: WorkspaceRoles
) -> bool:
    return role in workspace_roles(session, actor, workspace)


def can_display_workspace(session: Session, actor: Actor, workspace: Workspace) -> bool:
    if actor.worker is not None:
        return True
    return has_workspace_role(session, actor, workspace, WorkspaceRoles.VIEWER)


def can_create_artifacts(session: Session, actor: Actor, workspace: Workspace) -> bool:
    if actor.worker is not None:
        return True
    return has_workspace_role(session, actor, workspace, WorkspaceRoles.CONTRIBUTOR)


def can_create_work_requests(
    session: Session, actor: Actor, workspace: Workspace
) -> bool:
    return has_workspace_role(session, actor, workspace, WorkspaceRoles.CONTRIBUTOR)


def can_create_workflow_templates(
    session: Session, actor: Actor, workspace: Workspace
) -> bool:
    """Templates fix what contributors may start: the workspace's owners decide."""
    return has_workspace_role(session, actor, workspace, WorkspaceRoles.OWNER)


def can_start_workflows(session: Session, actor: Actor, workspace: Workspace) -> bool:
    return has_workspace_role(session, actor, workspace, WorkspaceRoles.CONTRIBUTOR)


def can_confirm_work_request(
    session: Session, actor: Actor, work_request: WorkRequest
) -> bool:
    """Who may accept or reject a `confirm` step: contributors and owners.

    Approving lets the workflow go on (e.g. to an upload): the same right
    as starting or retrying work there, more than viewing.
    """
    return has_workspace_role(
        session, actor, work_request.workspace, WorkspaceRoles.CONTRIBUTOR
    )


def can_provide_signature(actor: Actor, work_request: WorkRequest) -> bool:
    """Only the work request's creator signs for it (their key, their upload)."""
    return actor.user is not None and actor.user.id == work_request.created_by_id


def can_configure_workspace(
    session: Session, actor: Actor, workspace: Workspace
) -> bool:
    return has_workspace_role(session, actor, workspace, WorkspaceRoles.OWNER)


def visible_workspaces(actor: Actor) -> ColumnElement[bool]:
    """A SQL condition on `Workspace` true for the workspaces `actor` may see."""
    if actor.worker is not None or actor.is_superuser:
        return true()
    clauses: list[ColumnElement[bool]] = [Workspace.public.is_(True)]
    if actor.user is not None:
        groups = _group_ids(actor.user)
        clauses.append(
            Workspace.id.in_(
                select(WorkspaceRole.workspace_id).where(
                    WorkspaceRole.group_id.in_(groups)
                )
            )
        )
        clauses.append(
            Workspace.scope_id.in_(
                select(ScopeRole.scope_id).where(
                    ScopeRole.role == ScopeRoles.OWNER, ScopeRole.group_id.in_(groups)
                )
            )
        )
    return or_(*clauses) if clauses else false()
