"""Workspaces: names, roles, inheritance chains and deletion."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from debusine.models import (
    Artifact,
    Asset,
    AssetCategory,
    Collection,
    CollectionItem,
    FileInArtifact,
    Group,
    WorkflowTemplate,
    WorkRequest,
    Workspace,
    WorkspaceChain,
    WorkspaceRole,
    WorkspaceRoles,
)
from debusine.models.files import File
from debusine.models.validation import (
    RESERVED_WORKSPACE_NAMES,
    DomainError,
    InvalidName,
)
from debusine.models.workspaces import InheritanceCycle
from tests.factories import (
    ArtifactFactory,
    CollectionFactory,
    FileFactory,
    GroupFactory,
    ScopeFactory,
    WorkflowTemplateFactory,
    WorkRequestFactory,
    WorkspaceFactory,
)
from tests.models.conftest import Refused

# --- names ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["System", "developers", "a", "my-ws_1.2+x"])
def test_valid_workspace_names(db_session: Session, name: str) -> None:
    workspace = WorkspaceFactory(name=name)
    assert db_session.get(Workspace, workspace.id).name == name


@pytest.mark.parametrize("name", ["", "1ws", "_ws", "a b", "a/b", "-"])
def test_invalid_workspace_name_refused_in_python(name: str) -> None:
    with pytest.raises(InvalidName, match="invalid workspace name"):
        Workspace(name=name)


@pytest.mark.parametrize("name", sorted(RESERVED_WORKSPACE_NAMES))
def test_reserved_workspace_name_refused_in_python(name: str) -> None:
    with pytest.raises(InvalidName, match="reserved"):
        Workspace(name=name)


@pytest.mark.parametrize("name", ["workspaces", "collection", "1ws", "a b", ""])
def test_invalid_workspace_name_refused_by_database(
    refused: Refused, raw_insert, name: str
) -> None:
    scope = ScopeFactory()
    with refused("ck_workspace_name_valid"):
        raw_insert(Workspace, scope_id=scope.id, name=name)


def test_scope_reserved_names_are_fine_for_workspaces(db_session: Session) -> None:
    """`api` is reserved at the top level of URLs only."""
    assert WorkspaceFactory(name="api").name == "api"


def test_workspace_name_unique_per_scope(refused: Refused, db_session: Session) -> None:
    first = WorkspaceFactory(name="System")
    second = WorkspaceFactory(name="System")  # another scope: fine
    assert first.scope_id != second.scope_id
    with refused("uq_workspace_scope_id_name"):
        db_session.add(Workspace(scope=first.scope, name="System"))


def test_default_expiration_delay(refused: Refused, db_session: Session) -> None:
    workspace = WorkspaceFactory()
    db_session.expire(workspace)
    assert workspace.default_expiration_delay == dt.timedelta(0)
    assert workspace.expiration_delay is None
    assert workspace.public is False
    with refused("ck_workspace_default_expiration_delay_positive"):
        db_session.add(
            Workspace(
                scope=workspace.scope,
                name="negative",
                default_expiration_delay=dt.timedelta(days=-1),
            )
        )


def test_full_name(db_session: Session) -> None:
    workspace = WorkspaceFactory(scope__name="debian", name="developers")
    assert workspace.full_name == "debian/developers"


def test_workspace_role(refused: Refused, raw_insert, db_session: Session) -> None:
    workspace = WorkspaceFactory()
    group = GroupFactory(scope=workspace.scope)
    for role in WorkspaceRoles:
        db_session.add(WorkspaceRole(workspace=workspace, group=group, role=role))
    db_session.flush()
    assert {r.role for r in workspace.roles} == set(WorkspaceRoles)
    with refused("uq_workspace_role_workspace_id_group_id_role"):
        db_session.add(
            WorkspaceRole(workspace=workspace, group=group, role=WorkspaceRoles.OWNER)
        )
    with refused("ck_workspace_role_workspace_role"):
        raw_insert(
            WorkspaceRole, workspace_id=workspace.id, group_id=group.id, role="admin"
        )


# --- inheritance ----------------------------------------------------------------


@pytest.fixture
def chain(db_session: Session) -> list[Workspace]:
    scope = ScopeFactory(name="debian")
    return [WorkspaceFactory(scope=scope, name=name) for name in "ABCDE"]


def test_set_inheritance_keeps_order(
    db_session: Session, chain: list[Workspace]
) -> None:
    a, b, c, d, _ = chain
    a.set_inheritance(db_session, [d, b, c])
    db_session.expire_all()
    assert a.inherits == [d, b, c]
    links = db_session.scalars(
        select(WorkspaceChain).where(WorkspaceChain.child_id == a.id)
    ).all()
    assert sorted((link.order, link.parent_id) for link in links) == [
        (0, d.id),
        (1, b.id),
        (2, c.id),
    ]


def test_set_inheritance_replaces_and_clears(
    db_session: Session, chain: list[Workspace]
) -> None:
    a, b, c, d, _ = chain
    a.set_inheritance(db_session, [b, c])
    a.set_inheritance(db_session, [c, b])  # reorder
    db_session.expire_all()
    assert a.inherits == [c, b]
    a.set_inheritance(db_session, [d])
    db_session.expire_all()
    assert a.inherits == [d]
    a.set_inheritance(db_session, [])
    db_session.expire_all()
    assert a.inherits == []
    assert db_session.scalars(select(WorkspaceChain)).all() == []


def test_inheritance_may_cross_scopes(db_session: Session) -> None:
    child, parent = WorkspaceFactory(), WorkspaceFactory()
    assert child.scope_id != parent.scope_id
    child.set_inheritance(db_session, [parent])
    assert child.inherits == [parent]


def test_inherit_from_itself(db_session: Session, chain: list[Workspace]) -> None:
    a = chain[0]
    with pytest.raises(InheritanceCycle, match="debian/A cannot inherit from itself"):
        a.set_inheritance(db_session, [a])
    assert a.inherits == []


def test_direct_cycle(db_session: Session, chain: list[Workspace]) -> None:
    a, b, *_ = chain
    a.set_inheritance(db_session, [b])
    with pytest.raises(InheritanceCycle) as excinfo:
        b.set_inheritance(db_session, [a])
    message = str(excinfo.value)
    assert "debian/A" in message
    assert "debian/B" in message
    assert b.inherits == []


def test_indirect_cycle(db_session: Session, chain: list[Workspace]) -> None:
    a, b, c, *_ = chain
    a.set_inheritance(db_session, [b])
    b.set_inheritance(db_session, [c])
    with pytest.raises(InheritanceCycle, match="debian/C cannot inherit from debian/A"):
        c.set_inheritance(db_session, [a])
    db_session.expire_all()
    assert c.inherits == []
    assert a.inherits == [b]
    assert b.inherits == [c]


def test_cycle_anywhere_in_the_list_keeps_the_old_chain(
    db_session: Session, chain: list[Workspace]
) -> None:
    a, b, c, d, e = chain
    a.set_inheritance(db_session, [b])
    c.set_inheritance(db_session, [d])
    with pytest.raises(InheritanceCycle):
        b.set_inheritance(db_session, [e, a])
    db_session.expire_all()
    assert b.inherits == []
    assert c.inherits == [d]


def test_diamond_is_not_a_cycle(db_session: Session, chain: list[Workspace]) -> None:
    a, b, c, d, _ = chain
    b.set_inheritance(db_session, [d])
    c.set_inheritance(db_session, [d])
    a.set_inheritance(db_session, [b, c])
    assert a.ancestor_ids(db_session) == {b.id, c.id, d.id}


def test_duplicates_refused(db_session: Session, chain: list[Workspace]) -> None:
    a, b, c, *_ = chain
    with pytest.raises(DomainError, match="debian/B is listed twice"):
        a.set_inheritance(db_session, [b, c, b])
    assert a.inherits == []


def test_ancestor_ids_is_transitive(
    db_session: Session, chain: list[Workspace]
) -> None:
    a, b, c, d, e = chain
    a.set_inheritance(db_session, [b, e])
    b.set_inheritance(db_session, [c])
    c.set_inheritance(db_session, [d])
    assert a.ancestor_ids(db_session) == {b.id, c.id, d.id, e.id}
    assert b.ancestor_ids(db_session) == {c.id, d.id}
    assert d.ancestor_ids(db_session) == set()


def test_ancestor_ids_terminates_on_a_cycle_in_the_data(
    db_session: Session, chain: list[Workspace], raw_insert
) -> None:
    """Even a cycle written past set_inheritance cannot hang the lookup."""
    a, b, c, *_ = chain
    raw_insert(WorkspaceChain, child_id=a.id, parent_id=b.id, order=0)
    raw_insert(WorkspaceChain, child_id=b.id, parent_id=c.id, order=0)
    raw_insert(WorkspaceChain, child_id=c.id, parent_id=a.id, order=0)
    assert a.ancestor_ids(db_session) == {a.id, b.id, c.id}


def test_database_refuses_a_workspace_inheriting_from_itself(
    refused: Refused, raw_insert, chain: list[Workspace]
) -> None:
    with refused("ck_workspace_chain_not_self"):
        raw_insert(WorkspaceChain, child_id=chain[0].id, parent_id=chain[0].id, order=0)


def test_database_refuses_duplicate_parents_and_orders(
    refused: Refused, raw_insert, chain: list[Workspace]
) -> None:
    a, b, c, *_ = chain
    raw_insert(WorkspaceChain, child_id=a.id, parent_id=b.id, order=0)
    with refused("pk_workspace_chain"):
        raw_insert(WorkspaceChain, child_id=a.id, parent_id=b.id, order=1)
    with refused("uq_workspace_chain_child_id_order"):
        raw_insert(WorkspaceChain, child_id=a.id, parent_id=c.id, order=0)


def test_deleting_a_parent_workspace_unlinks_it(
    db_session: Session, chain: list[Workspace]
) -> None:
    a, b, c, *_ = chain
    a.set_inheritance(db_session, [b, c])
    db_session.delete(b)
    db_session.flush()
    db_session.expire_all()
    assert a.inherits == [c]


# --- deletion -------------------------------------------------------------------


def test_deleting_a_workspace_removes_what_it_holds(db_session: Session) -> None:
    workspace = WorkspaceFactory()
    other = WorkspaceFactory()
    group = GroupFactory(scope=workspace.scope)
    db_session.add(
        WorkspaceRole(workspace=workspace, group=group, role=WorkspaceRoles.OWNER)
    )
    artifact = ArtifactFactory(workspace=workspace)
    file = FileFactory()
    db_session.add(FileInArtifact(artifact=artifact, path="a.txt", file=file))
    collection = CollectionFactory(workspace=workspace)
    db_session.add(
        CollectionItem(
            parent_collection=collection,
            parent_category=collection.category,
            name="a",
            child_type="a",
            category=artifact.category,
            artifact=artifact,
        )
    )
    work_request = WorkRequestFactory(workspace=workspace)
    WorkRequestFactory(workspace=workspace, parent=work_request)
    WorkflowTemplateFactory(workspace=workspace)
    db_session.add(
        Asset(
            category=AssetCategory.SIGNING_KEY,
            workspace_id=workspace.id,
            data={"fingerprint": "ABC"},
        )
    )
    kept = ArtifactFactory(workspace=other)
    db_session.flush()
    workspace_id, group_id, file_id = workspace.id, group.id, file.id

    db_session.delete(workspace)
    db_session.flush()
    db_session.expire_all()

    assert db_session.get(Workspace, workspace_id) is None
    for model in (Artifact, Collection, WorkRequest, WorkflowTemplate, Asset):
        rows = db_session.scalars(
            select(model).where(model.workspace_id == workspace_id)
        ).all()
        assert rows == [], model
    assert db_session.scalars(select(WorkspaceRole)).all() == []
    assert db_session.scalars(select(CollectionItem)).all() == []
    assert db_session.scalars(select(FileInArtifact)).all() == []
    # Groups belong to the scope, files to the instance, others are untouched.
    assert db_session.get(Group, group_id) is not None
    assert db_session.get(File, file_id) is not None
    assert db_session.get(Artifact, kept.id) is not None
