"""Scopes: names, labels, roles, file-store policies and deletion."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from debusine.models import (
    FileStoreInScope,
    Group,
    Scope,
    ScopeRole,
    ScopeRoles,
    Workspace,
)
from debusine.models.validation import RESERVED_SCOPE_NAMES, InvalidName
from tests.factories import (
    FileStoreFactory,
    GroupFactory,
    ScopeFactory,
    WorkspaceFactory,
)
from tests.models.conftest import Refused


@pytest.mark.parametrize("name", ["debian", "Debian", "d", "my-scope_1.2+x"])
def test_valid_scope_names(db_session: Session, name: str) -> None:
    scope = ScopeFactory(name=name, label=f"label {name}")
    assert db_session.get(Scope, scope.id).name == name


@pytest.mark.parametrize("name", ["", "1debian", "_debian", "-x", "a b", "a/b", "é"])
def test_invalid_scope_name_refused_in_python(name: str) -> None:
    with pytest.raises(InvalidName, match="invalid scope name"):
        Scope(name=name, label="x")


@pytest.mark.parametrize("name", sorted(RESERVED_SCOPE_NAMES))
def test_reserved_scope_name_refused_in_python(name: str) -> None:
    with pytest.raises(InvalidName, match="reserved"):
        Scope(name=name, label="x")


def test_renaming_to_an_invalid_name_is_refused(db_session: Session) -> None:
    scope = ScopeFactory(name="debian")
    with pytest.raises(InvalidName):
        scope.name = "api"
    assert scope.name == "debian"


@pytest.mark.parametrize("name", ["api", "admin", "1debian", "a b", "", "_x"])
def test_invalid_scope_name_refused_by_database(
    refused: Refused, raw_insert, name: str
) -> None:
    with refused("ck_scope_name_valid"):
        raw_insert(Scope, name=name, label="x")


def test_database_accepts_a_valid_raw_scope(db_session: Session, raw_insert) -> None:
    scope_id = raw_insert(Scope, name="raw", label="Raw")
    assert db_session.get(Scope, scope_id).icon == ""


def test_duplicate_scope_name(refused: Refused, db_session: Session) -> None:
    ScopeFactory(name="debian", label="Debian")
    with refused("uq_scope_name"):
        db_session.add(Scope(name="debian", label="Another"))


def test_duplicate_scope_label(refused: Refused, db_session: Session) -> None:
    ScopeFactory(name="debian", label="Debian")
    with refused("uq_scope_label"):
        db_session.add(Scope(name="other", label="Debian"))


def test_scope_names_are_case_sensitive(db_session: Session) -> None:
    ScopeFactory(name="debian", label="debian")
    ScopeFactory(name="Debian", label="Debian")
    assert db_session.scalar(select(func.count()).select_from(Scope)) == 2


def test_scope_role_unique_and_valid(
    refused: Refused, raw_insert, db_session: Session
) -> None:
    group = GroupFactory()
    scope = group.scope
    db_session.add(ScopeRole(scope=scope, group=group, role=ScopeRoles.OWNER))
    db_session.flush()
    assert [r.role for r in scope.roles] == [ScopeRoles.OWNER]
    with refused("uq_scope_role_scope_id_group_id_role"):
        db_session.add(ScopeRole(scope=scope, group=group, role=ScopeRoles.OWNER))
    with refused("ck_scope_role_scope_role"):
        raw_insert(ScopeRole, scope_id=scope.id, group_id=group.id, role="admin")


def test_file_store_in_scope_not_read_only_and_write_only(
    refused: Refused, db_session: Session
) -> None:
    scope, store = ScopeFactory(), FileStoreFactory()
    with refused("ck_file_store_in_scope_not_read_and_write_only"):
        db_session.add(
            FileStoreInScope(
                scope=scope, file_store=store, read_only=True, write_only=True
            )
        )
    for read_only, write_only in [(True, False), (False, True), (False, False)]:
        other = FileStoreFactory()
        db_session.add(
            FileStoreInScope(
                scope=scope,
                file_store=other,
                read_only=read_only,
                write_only=write_only,
            )
        )
        db_session.flush()
    assert len(scope.file_stores) == 3


def test_file_store_in_scope_soft_max_size(
    refused: Refused, db_session: Session
) -> None:
    scope = ScopeFactory()
    with refused("ck_file_store_in_scope_soft_max_size_positive"):
        db_session.add(
            FileStoreInScope(
                scope=scope, file_store=FileStoreFactory(), soft_max_size=-1
            )
        )
    db_session.add(
        FileStoreInScope(scope=scope, file_store=FileStoreFactory(), soft_max_size=0)
    )
    db_session.flush()


def test_file_store_used_by_a_scope_cannot_be_deleted(
    refused: Refused, db_session: Session
) -> None:
    scope, store = ScopeFactory(), FileStoreFactory()
    db_session.add(FileStoreInScope(scope=scope, file_store=store))
    db_session.flush()
    with refused("fk_file_store_in_scope_file_store_id_file_store"):
        db_session.delete(store)


def test_deleting_a_scope_with_workspaces_is_refused(
    refused: Refused, db_session: Session
) -> None:
    workspace = WorkspaceFactory()
    scope = workspace.scope
    assert scope.workspaces == [workspace]
    with refused("fk_workspace_scope_id_scope"):
        db_session.delete(scope)
    db_session.expire_all()
    assert db_session.get(Workspace, workspace.id) is not None
    assert db_session.get(Scope, scope.id) is not None


def test_deleting_a_scope_with_workspaces_is_refused_by_the_database(
    refused: Refused, db_session: Session
) -> None:
    workspace = WorkspaceFactory()
    with refused("fk_workspace_scope_id_scope"):
        db_session.execute(delete(Scope).where(Scope.id == workspace.scope_id))


def test_deleting_an_empty_scope_removes_its_groups_roles_and_policies(
    db_session: Session,
) -> None:
    group = GroupFactory()
    scope = group.scope
    db_session.add(ScopeRole(scope=scope, group=group, role=ScopeRoles.OWNER))
    store = FileStoreFactory()
    db_session.add(FileStoreInScope(scope=scope, file_store=store))
    db_session.flush()
    group_id, store_id = group.id, store.id
    db_session.delete(scope)
    db_session.flush()
    db_session.expire_all()
    assert db_session.get(Group, group_id) is None
    assert db_session.scalars(select(ScopeRole)).all() == []
    assert db_session.scalars(select(FileStoreInScope)).all() == []
    # The store itself is shared between scopes and stays.
    assert db_session.get(type(store), store_id) is not None
