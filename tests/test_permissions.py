"""The permission layer: workspace roles, implications, and the SQL filter."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from debusine.models import (
    GroupMembership,
    ScopeRole,
    ScopeRoles,
    User,
    Workspace,
    WorkspaceRole,
    WorkspaceRoles,
)
from debusine.permissions import (
    ANONYMOUS,
    Actor,
    can_configure_workspace,
    can_create_artifacts,
    can_create_work_requests,
    can_display_workspace,
    is_scope_owner,
    visible_workspaces,
    workspace_roles,
)
from tests.factories import GroupFactory, UserFactory, WorkerFactory, WorkspaceFactory

OWNER, CONTRIBUTOR, VIEWER = (
    WorkspaceRoles.OWNER,
    WorkspaceRoles.CONTRIBUTOR,
    WorkspaceRoles.VIEWER,
)


def member_with_role(
    session: Session, workspace: Workspace, role: WorkspaceRoles
) -> User:
    user = UserFactory()
    group = GroupFactory(scope=workspace.scope)
    session.add(GroupMembership(group=group, user=user))
    session.add(WorkspaceRole(workspace=workspace, group=group, role=role))
    session.flush()
    return user


def scope_owner(session: Session, workspace: Workspace) -> User:
    user = UserFactory()
    group = GroupFactory(scope=workspace.scope)
    session.add(GroupMembership(group=group, user=user))
    session.add(ScopeRole(scope=workspace.scope, group=group, role=ScopeRoles.OWNER))
    session.flush()
    return user


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (OWNER, {OWNER, CONTRIBUTOR, VIEWER}),
        (CONTRIBUTOR, {CONTRIBUTOR, VIEWER}),
        (VIEWER, {VIEWER}),
    ],
)
def test_roles_imply_lesser_roles(
    db_session: Session, role: WorkspaceRoles, expected: set[WorkspaceRoles]
) -> None:
    workspace = WorkspaceFactory()
    user = member_with_role(db_session, workspace, role)
    assert workspace_roles(db_session, Actor(user=user), workspace) == expected


def test_scope_owner_owns_every_workspace_of_the_scope(db_session: Session) -> None:
    workspace = WorkspaceFactory()
    other = WorkspaceFactory()
    user = scope_owner(db_session, workspace)
    actor = Actor(user=user)
    assert is_scope_owner(db_session, actor, workspace.scope)
    assert OWNER in workspace_roles(db_session, actor, workspace)
    assert workspace_roles(db_session, actor, other) == set()


def test_public_workspace_is_viewable_by_anyone(db_session: Session) -> None:
    public = WorkspaceFactory(public=True)
    private = WorkspaceFactory(public=False)
    assert can_display_workspace(db_session, ANONYMOUS, public)
    assert not can_display_workspace(db_session, ANONYMOUS, private)
    assert not can_create_artifacts(db_session, ANONYMOUS, public)


def test_role_in_another_workspace_grants_nothing(db_session: Session) -> None:
    workspace = WorkspaceFactory()
    other = WorkspaceFactory(scope=workspace.scope)
    user = member_with_role(db_session, other, OWNER)
    assert workspace_roles(db_session, Actor(user=user), workspace) == set()


def test_membership_of_a_group_without_roles_grants_nothing(
    db_session: Session,
) -> None:
    workspace = WorkspaceFactory()
    user = UserFactory()
    db_session.add(
        GroupMembership(group=GroupFactory(scope=workspace.scope), user=user)
    )
    db_session.flush()
    assert not can_display_workspace(db_session, Actor(user=user), workspace)


def test_superuser_may_do_everything(db_session: Session) -> None:
    workspace = WorkspaceFactory()
    actor = Actor(user=UserFactory(is_superuser=True))
    assert can_configure_workspace(db_session, actor, workspace)
    assert can_create_work_requests(db_session, actor, workspace)


def test_worker_sees_and_creates_artifacts_but_not_work_requests(
    db_session: Session,
) -> None:
    workspace = WorkspaceFactory()
    actor = Actor(worker=WorkerFactory())
    assert can_display_workspace(db_session, actor, workspace)
    assert can_create_artifacts(db_session, actor, workspace)
    assert not can_create_work_requests(db_session, actor, workspace)
    assert not can_configure_workspace(db_session, actor, workspace)


@pytest.mark.parametrize(
    ("role", "display", "artifacts", "work_requests", "configure"),
    [
        (VIEWER, True, False, False, False),
        (CONTRIBUTOR, True, True, True, False),
        (OWNER, True, True, True, True),
    ],
)
def test_predicates_by_role(
    db_session: Session,
    role: WorkspaceRoles,
    display: bool,
    artifacts: bool,
    work_requests: bool,
    configure: bool,
) -> None:
    workspace = WorkspaceFactory()
    actor = Actor(user=member_with_role(db_session, workspace, role))
    assert can_display_workspace(db_session, actor, workspace) is display
    assert can_create_artifacts(db_session, actor, workspace) is artifacts
    assert can_create_work_requests(db_session, actor, workspace) is work_requests
    assert can_configure_workspace(db_session, actor, workspace) is configure


def test_visible_workspaces_filter_matches_the_predicate(db_session: Session) -> None:
    public = WorkspaceFactory(public=True)
    private = WorkspaceFactory()
    granted = WorkspaceFactory()
    owned_scope = WorkspaceFactory()
    user = member_with_role(db_session, granted, VIEWER)
    group = GroupFactory(scope=owned_scope.scope)
    db_session.add(GroupMembership(group=group, user=user))
    db_session.add(
        ScopeRole(scope=owned_scope.scope, group=group, role=ScopeRoles.OWNER)
    )
    db_session.flush()
    ids = {public.id, private.id, granted.id, owned_scope.id}

    def visible(actor: Actor) -> set[int]:
        rows = db_session.scalars(
            select(Workspace.id).where(Workspace.id.in_(ids), visible_workspaces(actor))
        )
        return set(rows)

    actor = Actor(user=user)
    assert visible(actor) == {public.id, granted.id, owned_scope.id}
    assert visible(ANONYMOUS) == {public.id}
    assert visible(Actor(worker=WorkerFactory())) == ids
    for workspace in (public, private, granted, owned_scope):
        assert (workspace.id in visible(actor)) == can_display_workspace(
            db_session, actor, workspace
        )
