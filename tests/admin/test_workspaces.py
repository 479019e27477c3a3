"""create-workspace, list-workspaces, workspace-inheritance."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from debusine.models import (
    Collection,
    Workspace,
    WorkspaceChain,
    WorkspaceRole,
    WorkspaceRoles,
)
from debusine.models.collections import SINGLETON_COLLECTION_CATEGORIES
from tests import factories
from tests.admin.helpers import assert_error, assert_usage_error


def get(db_session, scope: str, name: str) -> Workspace:
    db_session.expire_all()
    return db_session.scalar(
        select(Workspace)
        .join(Workspace.scope)
        .where(Workspace.name == name, Workspace.scope.has(name=scope))
    )


def collections(db_session, workspace: Workspace) -> list[tuple[str, str]]:
    return sorted(
        (c.category, c.name)
        for c in db_session.scalars(
            select(Collection).where(Collection.workspace_id == workspace.id)
        )
    )


def test_create_workspace(admin, db_session):
    factories.ScopeFactory(name="debian")

    result = admin("create-workspace", "debian/developers")

    assert result.code == 0, result
    assert result.out == "Created private workspace debian/developers\n"
    workspace = get(db_session, "debian", "developers")
    assert not workspace.public
    assert workspace.default_expiration_delay == dt.timedelta(0)
    assert workspace.roles == []
    assert collections(db_session, workspace) == sorted(
        (category, "_") for category in SINGLETON_COLLECTION_CATEGORIES
    )


def test_create_workspace_options(admin, db_session):
    scope = factories.ScopeFactory(name="debian")
    owners = factories.GroupFactory(scope=scope, name="Devs")

    result = admin(
        "create-workspace",
        "debian/experiments",
        "--public",
        "--default-expiration-delay",
        "30",
        "--owners-group",
        "Devs",
        "--no-singleton-collections",
    )

    assert result.code == 0, result
    assert result.out == (
        "Created public workspace debian/experiments\n"
        "Granted owner on debian/experiments to group Devs\n"
    )
    workspace = get(db_session, "debian", "experiments")
    assert workspace.public
    assert workspace.default_expiration_delay == dt.timedelta(days=30)
    assert [(r.group, r.role) for r in workspace.roles] == [
        (owners, WorkspaceRoles.OWNER)
    ]
    assert collections(db_session, workspace) == []


def test_create_workspace_duplicate(admin, unchanged):
    factories.WorkspaceFactory(scope=factories.ScopeFactory(name="debian"), name="ws")
    check = unchanged()

    assert_error(
        admin("create-workspace", "debian/ws"), "workspace debian/ws already exists"
    )
    check()


def test_create_workspace_unknown_scope(admin, unchanged):
    check = unchanged()

    assert_error(admin("create-workspace", "nowhere/ws"), "unknown scope 'nowhere'")
    check()


def test_create_workspace_unknown_owners_group(admin, unchanged):
    factories.ScopeFactory(name="debian")
    factories.GroupFactory(scope=factories.ScopeFactory(name="other"), name="Devs")
    check = unchanged()

    assert_error(
        admin("create-workspace", "debian/ws", "--owners-group", "Devs"),
        "unknown group debian/Devs",
    )
    check()


@pytest.mark.parametrize(
    ("name", "reason"), [("user", "reserved"), ("_ws", "must start with a letter")]
)
def test_create_workspace_invalid_name(admin, unchanged, name, reason):
    factories.ScopeFactory(name="debian")
    check = unchanged()

    assert_error(
        admin("create-workspace", f"debian/{name}"),
        f"invalid workspace name {name!r}",
        reason,
    )
    check()


def test_create_workspace_bad_delay(admin):
    factories.ScopeFactory(name="debian")

    assert_usage_error(
        admin("create-workspace", "debian/ws", "--default-expiration-delay", "-1"),
        "'-1' is negative",
    )
    assert_usage_error(
        admin("create-workspace", "debian/ws", "--public", "--private"),
        "not allowed with",
    )


def test_list_workspaces(admin, db_session):
    debian = factories.ScopeFactory(name="debian")
    base = factories.WorkspaceFactory(scope=debian, name="base", public=True)
    devs = factories.WorkspaceFactory(
        scope=debian, name="devs", default_expiration_delay=dt.timedelta(days=7)
    )
    factories.WorkspaceFactory(scope=factories.ScopeFactory(name="apertis"), name="ws")
    db_session.add(WorkspaceChain(child=devs, parent=base, order=0))

    table = admin("list-workspaces")
    data = admin("list-workspaces", "--yaml").yaml()
    debian_only = admin("list-workspaces", "debian", "--yaml").yaml()

    assert table.code == 0, table
    assert [line.split() for line in table.out.splitlines()[2:]] == [
        ["apertis", "ws", "no", "never"],
        ["debian", "base", "yes", "never"],
        ["debian", "devs", "no", "7", "days", "debian/base"],
    ]
    assert [
        (
            w["scope"],
            w["name"],
            w["public"],
            w["default_expiration_delay"],
            w["inherits"],
        )
        for w in data
    ] == [
        ("apertis", "ws", False, 0, []),
        ("debian", "base", True, 0, []),
        ("debian", "devs", False, 7, ["debian/base"]),
    ]
    assert [w["name"] for w in debian_only] == ["base", "devs"]


def test_list_workspaces_unknown_scope(admin):
    assert_error(admin("list-workspaces", "nowhere"), "unknown scope 'nowhere'")


@pytest.fixture
def chain_setup(db_session):
    debian = factories.ScopeFactory(name="debian")
    other = factories.ScopeFactory(name="other")
    for name in ("a", "b", "c", "d"):
        factories.WorkspaceFactory(scope=debian, name=name)
    factories.WorkspaceFactory(scope=other, name="x")


def parents(db_session, name: str) -> list[str]:
    return [p.full_name for p in get(db_session, "debian", name).inherits]


def test_workspace_inheritance(admin, db_session, chain_setup):
    result = admin("workspace-inheritance", "debian/a", "--set", "b", "other/x")

    assert result.code == 0, result
    lines = result.out.splitlines()
    assert lines[0] == "debian/a inherits from"
    assert [line.split() for line in lines[3:]] == [
        ["1", "debian/b"],
        ["2", "other/x"],
    ]
    assert parents(db_session, "a") == ["debian/b", "other/x"]

    result = admin(
        "workspace-inheritance",
        "debian/a",
        "--append",
        "debian/c",
        "--prepend",
        "d",
        "--remove",
        "b",
        "--yaml",
    )

    assert result.yaml() == [
        {"order": 1, "workspace": "debian/d"},
        {"order": 2, "workspace": "other/x"},
        {"order": 3, "workspace": "debian/c"},
    ]
    assert parents(db_session, "a") == ["debian/d", "other/x", "debian/c"]

    assert admin("workspace-inheritance", "debian/a", "--set").code == 0
    assert parents(db_session, "a") == []


def test_workspace_inheritance_show(admin, db_session, chain_setup):
    admin("workspace-inheritance", "debian/a", "--set", "b")

    result = admin("workspace-inheritance", "debian/a", "--yaml")

    assert result.yaml() == [{"order": 1, "workspace": "debian/b"}]


def test_workspace_inheritance_cycle(admin, db_session, unchanged, chain_setup):
    assert admin("workspace-inheritance", "debian/a", "--set", "b").code == 0
    assert admin("workspace-inheritance", "debian/b", "--set", "c").code == 0
    check = unchanged()

    result = admin("workspace-inheritance", "debian/c", "--append", "d", "a")

    assert_error(
        result,
        "debian/c cannot inherit from debian/a: "
        "debian/a already inherits from debian/c",
    )
    check()
    assert parents(db_session, "c") == []
    assert_error(
        admin("workspace-inheritance", "debian/a", "--set", "a"),
        "debian/a cannot inherit from itself",
    )
    assert parents(db_session, "a") == ["debian/b"]


def test_workspace_inheritance_duplicate(admin, db_session, chain_setup):
    assert admin("workspace-inheritance", "debian/a", "--set", "b").code == 0

    assert_error(
        admin("workspace-inheritance", "debian/a", "--append", "debian/b"),
        "workspace debian/b is listed twice",
    )
    assert parents(db_session, "a") == ["debian/b"]


def test_workspace_inheritance_unknown(admin, db_session, chain_setup):
    assert_error(
        admin("workspace-inheritance", "debian/a", "--set", "b", "nope"),
        "unknown workspace debian/nope",
    )
    assert_error(
        admin("workspace-inheritance", "debian/zz", "--set", "b"),
        "unknown workspace debian/zz",
    )
    assert_error(
        admin("workspace-inheritance", "debian/a", "--set", "nowhere/b"),
        "unknown scope 'nowhere'",
    )
    assert parents(db_session, "a") == []


def test_workspace_inheritance_usage(admin, chain_setup):
    assert_usage_error(
        admin("workspace-inheritance", "debian/a", "--set", "b", "--append", "c"),
        "--set cannot be combined",
    )
    assert_usage_error(
        admin("workspace-inheritance", "debian/a", "--set", "debian/"),
        "not of the form [SCOPE/]WORKSPACE",
    )


def test_create_singleton_collections_is_idempotent(db_session):
    workspace = factories.WorkspaceFactory()

    first = workspace.create_singleton_collections(db_session)
    second = workspace.create_singleton_collections(db_session)

    assert sorted(c.category for c in first) == sorted(SINGLETON_COLLECTION_CATEGORIES)
    assert second == []
    assert db_session.scalars(select(WorkspaceRole)).all() == []
