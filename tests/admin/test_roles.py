"""grant-role, revoke-role, list-roles."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from debusine.models import ScopeRole, ScopeRoles, WorkspaceRole, WorkspaceRoles
from tests import factories
from tests.admin.helpers import assert_error, assert_usage_error


@pytest.fixture
def setup(db_session):
    scope = factories.ScopeFactory(name="debian")
    workspace = factories.WorkspaceFactory(scope=scope, name="System")
    groups = {
        name: factories.GroupFactory(scope=scope, name=name)
        for name in ("Admins", "Devs", "QA")
    }
    other = factories.ScopeFactory(name="apertis")
    factories.GroupFactory(scope=other, name="Outsiders")
    return scope, workspace, groups


def scope_roles(db_session, scope):
    db_session.expire_all()
    return sorted(
        (r.role.value, r.group.name)
        for r in db_session.scalars(select(ScopeRole).where(ScopeRole.scope == scope))
    )


def workspace_roles(db_session, workspace):
    db_session.expire_all()
    return sorted(
        (r.role.value, r.group.name)
        for r in db_session.scalars(
            select(WorkspaceRole).where(WorkspaceRole.workspace == workspace)
        )
    )


def test_grant_scope_role(admin, db_session, setup):
    scope, _workspace, _groups = setup

    result = admin("grant-role", "scope", "debian", "owner", "Admins", "debian/Devs")

    assert result.code == 0, result
    assert result.out == (
        "Granted owner on scope debian to group Admins\n"
        "Granted owner on scope debian to group Devs\n"
    )
    assert scope_roles(db_session, scope) == [("owner", "Admins"), ("owner", "Devs")]

    again = admin("grant-role", "scope", "debian", "owner", "Admins")

    assert again.code == 0
    assert again.out == "Already granted: owner on scope debian to group Admins\n"
    assert scope_roles(db_session, scope) == [("owner", "Admins"), ("owner", "Devs")]


def test_grant_workspace_role(admin, db_session, setup):
    _scope, workspace, _groups = setup

    result = admin(
        "grant-role", "workspace", "debian/System", "contributor", "Devs", "QA"
    )
    admin("grant-role", "workspace", "debian/System", "viewer", "QA")

    assert result.code == 0, result
    assert "Granted contributor on workspace debian/System to group QA" in result.out
    assert workspace_roles(db_session, workspace) == [
        ("contributor", "Devs"),
        ("contributor", "QA"),
        ("viewer", "QA"),
    ]


def test_grant_role_group_of_other_scope(admin, unchanged, setup):
    check = unchanged()

    assert_error(
        admin("grant-role", "workspace", "debian/System", "owner", "apertis/Outsiders"),
        "group 'apertis/Outsiders' is not in scope 'debian'",
    )
    assert_error(
        admin("grant-role", "scope", "debian", "owner", "Outsiders"),
        "unknown group debian/Outsiders",
    )
    check()


def test_grant_role_unknown_objects(admin, unchanged, setup):
    check = unchanged()

    assert_error(
        admin("grant-role", "scope", "nowhere", "owner", "Admins"),
        "unknown scope 'nowhere'",
    )
    assert_error(
        admin("grant-role", "workspace", "debian/Nowhere", "owner", "Admins"),
        "unknown workspace debian/Nowhere",
    )
    # The first group is fine, the second unknown: nothing is granted.
    assert_error(
        admin("grant-role", "workspace", "debian/System", "owner", "Admins", "Nobody"),
        "unknown group debian/Nobody",
    )
    check()


def test_grant_role_bad_role(admin, setup):
    assert_usage_error(
        admin("grant-role", "scope", "debian", "contributor", "Admins"),
        "invalid choice: 'contributor'",
    )
    assert_usage_error(admin("grant-role", "group", "x", "owner", "Admins"))


def test_revoke_role(admin, db_session, setup):
    scope, workspace, groups = setup
    db_session.add(
        ScopeRole(scope=scope, group=groups["Admins"], role=ScopeRoles.OWNER)
    )
    db_session.add(
        WorkspaceRole(
            workspace=workspace, group=groups["Devs"], role=WorkspaceRoles.CONTRIBUTOR
        )
    )
    db_session.add(
        WorkspaceRole(
            workspace=workspace, group=groups["QA"], role=WorkspaceRoles.VIEWER
        )
    )

    ws = admin("revoke-role", "workspace", "debian/System", "contributor", "Devs", "QA")
    sc = admin("revoke-role", "scope", "debian", "owner", "Admins")

    assert ws.code == 0, ws
    assert ws.out == (
        "Revoked contributor on workspace debian/System from group Devs\n"
        "Group QA has no contributor role on workspace debian/System\n"
    )
    assert sc.out == "Revoked owner on scope debian from group Admins\n"
    assert scope_roles(db_session, scope) == []
    assert workspace_roles(db_session, workspace) == [("viewer", "QA")]


def test_revoke_role_unknown_group(admin, db_session, unchanged, setup):
    scope, _workspace, groups = setup
    db_session.add(
        ScopeRole(scope=scope, group=groups["Admins"], role=ScopeRoles.OWNER)
    )
    check = unchanged()

    assert_error(
        admin("revoke-role", "scope", "debian", "owner", "Admins", "Nobody"),
        "unknown group debian/Nobody",
    )
    check()


def test_list_roles(admin, db_session, setup):
    scope, workspace, groups = setup
    db_session.add(
        ScopeRole(scope=scope, group=groups["Admins"], role=ScopeRoles.OWNER)
    )
    for group, role in (
        ("QA", WorkspaceRoles.VIEWER),
        ("Devs", WorkspaceRoles.CONTRIBUTOR),
        ("Admins", WorkspaceRoles.OWNER),
    ):
        db_session.add(
            WorkspaceRole(workspace=workspace, group=groups[group], role=role)
        )

    on_scope = admin("list-roles", "scope", "debian")
    on_workspace = admin("list-roles", "workspace", "debian/System", "--yaml")

    assert on_scope.code == 0, on_scope
    lines = on_scope.out.splitlines()
    assert lines[0] == "Roles on scope debian"
    assert [line.split() for line in lines[3:]] == [["owner", "Admins"]]
    assert on_workspace.yaml() == [
        {"role": "contributor", "group": "Devs"},
        {"role": "owner", "group": "Admins"},
        {"role": "viewer", "group": "QA"},
    ]


def test_list_roles_unknown(admin, setup):
    assert_error(admin("list-roles", "scope", "nowhere"), "unknown scope 'nowhere'")
    assert_error(
        admin("list-roles", "workspace", "debian/Nope"), "unknown workspace debian/Nope"
    )
