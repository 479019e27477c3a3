"""`debian:suite`: naming, lookups, pool files, version reuse, history."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from debusine import models
from debusine.collections import InvalidLookupSegment, ItemAdditionError
from tests import factories
from tests.collections.conftest import (
    binary_package,
    collection,
    manager,
    source_package,
)


@pytest.fixture
def workspace(db_session: Session) -> models.Workspace:
    return factories.WorkspaceFactory(public=True)


@pytest.fixture
def suite(workspace: models.Workspace) -> models.Collection:
    return collection(workspace, "trixie", "debian:suite")


def test_item_names_and_data(
    db_session: Session, workspace: models.Workspace, suite: models.Collection
) -> None:
    m = manager(db_session, suite)
    src = m.add_artifact(
        source_package(db_session, workspace, "hello", "1.0-1"),
        variables={"component": "main", "section": "devel"},
    )
    binary = m.add_artifact(
        binary_package(db_session, workspace, "hello", "1.0-1", "amd64")
    )
    assert src.name == "hello_1.0-1"
    assert src.data == {
        "package": "hello",
        "version": "1.0-1",
        "component": "main",
        "section": "devel",
    }
    assert binary.name == "hello_1.0-1_amd64"
    assert binary.data["srcpkg_name"] == "hello"
    assert binary.data["architecture"] == "amd64"
    assert binary.data["priority"] == "optional"
    assert binary.parent_category == "debian:suite"


def test_refuses_other_categories(
    db_session: Session, workspace: models.Workspace, suite: models.Collection
) -> None:
    m = manager(db_session, suite)
    other = factories.ArtifactFactory(workspace=workspace, category="debian:lintian")
    with pytest.raises(ItemAdditionError, match="does not accept artifacts"):
        m.add_artifact(other)
    with pytest.raises(ItemAdditionError, match="does not accept bare items"):
        m.add_bare_data("debusine:test", name="x")
    with pytest.raises(ItemAdditionError, match="does not accept collections"):
        m.add_collection(collection(workspace, "sid", "debian:suite"))


def test_lookups(
    db_session: Session, workspace: models.Workspace, suite: models.Collection
) -> None:
    m = manager(db_session, suite)
    # Debian version order, not string order: 1.10 > 1.9 > 1.9~rc1.
    versions = ["1.9~rc1-1", "1.10-1", "1.9-1"]
    for version in versions:
        m.add_artifact(source_package(db_session, workspace, "hello", version))
    m.add_artifact(source_package(db_session, workspace, "hello-extra", "9-1"))
    m.add_artifact(binary_package(db_session, workspace, "hello", "1.9-1", "amd64"))
    m.add_artifact(
        binary_package(db_session, workspace, "hello", "1.10-1", "i386", "hello")
    )
    m.add_artifact(
        binary_package(db_session, workspace, "hello-doc", "1.10-1", "all", "hello")
    )

    def name(query: str) -> str | None:
        item = m.lookup(query)
        return item.name if item is not None else None

    assert name("source:hello") == "hello_1.10-1"
    assert name("source:nothere") is None
    assert name("source-version:hello_1.9-1") == "hello_1.9-1"
    assert name("source-version:hello_2-1") is None
    assert name("binary:hello_amd64") == "hello_1.9-1_amd64"
    assert name("binary:hello_i386") == "hello_1.10-1_i386"
    assert name("binary:hello_arm64") is None
    assert name("binary:hello-doc_amd64") == "hello-doc_1.10-1_all"
    assert name("binary-version:hello_1.9-1_amd64") == "hello_1.9-1_amd64"
    assert name("binary-version:hello-doc_1.10-1_arm64") == "hello-doc_1.10-1_all"
    assert name("binary-version:hello_1.10-1_amd64") is None
    # A source item is not a binary, even by name.
    assert name("binary-version:hello-extra_9_1") is None
    assert name("name:hello_1.9-1") == "hello_1.9-1"
    assert name("hello_1.9-1") == "hello_1.9-1"
    with pytest.raises(InvalidLookupSegment, match="binary:NAME_ARCH"):
        m.lookup("binary:hello")


def test_removed_items_are_not_found(
    db_session: Session, workspace: models.Workspace, suite: models.Collection
) -> None:
    m = manager(db_session, suite)
    new = m.add_artifact(source_package(db_session, workspace, "hello", "2-1"))
    m.add_artifact(source_package(db_session, workspace, "hello", "1-1"))
    m.remove_item(new)
    assert new.removed_at is not None
    found = m.lookup("source:hello")
    assert found is not None
    assert found.name == "hello_1-1"
    assert m.lookup("source-version:hello_2-1") is None


def test_duplicate_name_refused_and_replace_keeps_history(
    db_session: Session, workspace: models.Workspace
) -> None:
    suite = collection(
        workspace, "sid", "debian:suite", data={"may_reuse_versions": True}
    )
    m = manager(db_session, suite)
    files = {"hello_1-1.dsc": "same dsc"}
    first = m.add_artifact(source_package(db_session, workspace, "hello", "1-1", files))
    second_artifact = source_package(db_session, workspace, "hello", "1-1", files)
    with pytest.raises(ItemAdditionError, match="already has an item named"):
        m.add_artifact(second_artifact)
    user = factories.UserFactory()
    second = m.add_artifact(second_artifact, replace=True, user=user)
    assert first.removed_at is not None
    assert first.removed_by_user_id == user.id
    assert second.removed_at is None
    history = db_session.scalars(
        select(models.CollectionItem).where(
            models.CollectionItem.parent_collection_id == suite.id
        )
    ).all()
    assert len(history) == 2
    assert m.lookup("source:hello") == second


def test_no_version_reuse_by_default(
    db_session: Session, workspace: models.Workspace, suite: models.Collection
) -> None:
    m = manager(db_session, suite)
    files = {"hello_1-1.dsc": "same dsc"}
    item = m.add_artifact(source_package(db_session, workspace, "hello", "1-1", files))
    m.remove_item(item)
    with pytest.raises(ItemAdditionError, match="may not be reused"):
        m.add_artifact(source_package(db_session, workspace, "hello", "1-1", files))


def test_pool_file_constraint(
    db_session: Session, workspace: models.Workspace, suite: models.Collection
) -> None:
    m = manager(db_session, suite)
    item = m.add_artifact(
        source_package(
            db_session,
            workspace,
            "hello",
            "1-1",
            {"hello_1-1.dsc": "dsc one", "hello_1.orig.tar.gz": "orig"},
        )
    )
    keys = set(
        db_session.scalars(
            select(models.CollectionItemMatchConstraint.key).where(
                models.CollectionItemMatchConstraint.collection_id == suite.id
            )
        )
    )
    assert keys == {
        "pool/main/h/hello/hello_1-1.dsc",
        "pool/main/h/hello/hello_1.orig.tar.gz",
    }
    # Another version sharing the same orig tarball is fine...
    m.add_artifact(
        source_package(
            db_session,
            workspace,
            "hello",
            "1-2",
            {"hello_1-2.dsc": "dsc two", "hello_1.orig.tar.gz": "orig"},
        )
    )
    # ...but a different orig tarball at the same pool path is not, even
    # once the items that used it are removed.
    m.remove_item(item)
    with pytest.raises(ItemAdditionError, match=r"hello_1\.orig\.tar\.gz"):
        m.add_artifact(
            source_package(
                db_session,
                workspace,
                "hello",
                "1-3",
                {"hello_1-3.dsc": "dsc three", "hello_1.orig.tar.gz": "other"},
            )
        )


def test_pool_prefix_for_lib_packages(
    db_session: Session, workspace: models.Workspace, suite: models.Collection
) -> None:
    m = manager(db_session, suite)
    m.add_artifact(
        binary_package(db_session, workspace, "libfoo1", "1-1", "amd64", "libfoo")
    )
    key = db_session.scalar(
        select(models.CollectionItemMatchConstraint.key).where(
            models.CollectionItemMatchConstraint.collection_id == suite.id
        )
    )
    assert key == "pool/main/libf/libfoo/libfoo1_1-1_amd64.deb"


def test_index_items(
    db_session: Session, workspace: models.Workspace, suite: models.Collection
) -> None:
    m = manager(db_session, suite)
    index = factories.ArtifactFactory(
        workspace=workspace, category="debian:repository-index"
    )
    with pytest.raises(ItemAdditionError, match="'path'"):
        m.add_artifact(index)
    item = m.add_artifact(index, variables={"path": "main/source/Sources.xz"})
    assert item.name == "index:main/source/Sources.xz"
    assert m.lookup("index:main/source/Sources.xz") == item


def test_archive_shares_pool_and_looks_into_suites(
    db_session: Session, workspace: models.Workspace, suite: models.Collection
) -> None:
    workspace.create_singleton_collections(db_session)
    archive = db_session.scalars(
        select(models.Collection).where(
            models.Collection.workspace_id == workspace.id,
            models.Collection.category == "debian:archive",
        )
    ).one()
    sid = collection(workspace, "sid", "debian:suite")
    a = manager(db_session, archive)
    assert a.add_collection(suite).name == "trixie"
    a.add_collection(sid)
    other_ws_suite = collection(factories.WorkspaceFactory(), "x", "debian:suite")
    with pytest.raises(ItemAdditionError, match="another workspace"):
        a.add_collection(other_ws_suite)
    manager(db_session, suite).add_artifact(
        source_package(db_session, workspace, "hello", "1-1", {"hello_1-1.dsc": "a"})
    )
    found = a.lookup("source-version:hello_1-1")
    assert found is not None
    assert found.parent_collection_id == suite.id
    assert a.lookup("trixie") is not None
    assert a.lookup("name:sid") is not None
    # The same pool path in another suite of the archive must be the same file.
    with pytest.raises(ItemAdditionError, match="pool-file"):
        manager(db_session, sid).add_artifact(
            source_package(
                db_session, workspace, "hello", "1-1", {"hello_1-1.dsc": "b"}
            )
        )
    manager(db_session, sid).add_artifact(
        source_package(db_session, workspace, "hello", "1-1", {"hello_1-1.dsc": "a"})
    )
