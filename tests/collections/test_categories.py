"""The other categories: environments, workflow-internal, task history..."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from debusine import models
from debusine.collections import (
    InvalidLookupSegment,
    ItemAdditionError,
    apply_retention,
    lookup_multiple,
    registered_categories,
)
from debusine.permissions import ANONYMOUS
from tests import factories
from tests.collections.conftest import collection, manager


@pytest.fixture
def workspace(db_session: Session) -> models.Workspace:
    return factories.WorkspaceFactory(public=True)


def all_items(session: Session, coll: models.Collection) -> list[models.CollectionItem]:
    return list(
        session.scalars(
            select(models.CollectionItem)
            .where(models.CollectionItem.parent_collection_id == coll.id)
            .order_by(models.CollectionItem.id)
        )
    )


def test_registry() -> None:
    assert set(registered_categories()) >= {
        "debian:suite",
        "debian:archive",
        "debian:environments",
        "debusine:workflow-internal",
        "debusine:task-configuration",
        "debusine:task-history",
        "debian:package-build-logs",
        "debian:suite-lintian",
    }


# --- debian:environments ------------------------------------------------------


def tarball(
    workspace: models.Workspace, codename: str, arch: str, **data: Any
) -> models.Artifact:
    return factories.ArtifactFactory(
        workspace=workspace,
        category=data.pop("category", "debian:system-tarball"),
        data={"codename": codename, "architecture": arch, "vendor": "debian", **data},
    )


def test_environment_names(db_session: Session, workspace: models.Workspace) -> None:
    m = manager(db_session, collection(workspace, "debian", "debian:environments"))
    assert m.add_artifact(tarball(workspace, "trixie", "amd64")).name == (
        "tarball:trixie:amd64"
    )
    item = m.add_artifact(
        tarball(workspace, "trixie", "amd64", category="debian:system-image"),
        variables={"variant": "sbuild", "backend": "unshare"},
    )
    assert item.name == "image:trixie:amd64:sbuild:unshare"
    assert item.data["format"] == "image"
    assert item.data["variant"] == "sbuild"
    with pytest.raises(ItemAdditionError, match="does not accept"):
        m.add_artifact(factories.ArtifactFactory(workspace=workspace))
    with pytest.raises(ItemAdditionError, match="codename"):
        m.add_artifact(
            factories.ArtifactFactory(
                workspace=workspace, category="debian:system-tarball", data={}
            )
        )


def test_environment_match(db_session: Session, workspace: models.Workspace) -> None:
    coll = collection(workspace, "debian", "debian:environments")
    m = manager(db_session, coll)
    plain = m.add_artifact(tarball(workspace, "trixie", "amd64"))
    sbuild = m.add_artifact(
        tarball(workspace, "trixie", "amd64"), variables={"variant": "sbuild"}
    )
    arm = m.add_artifact(tarball(workspace, "trixie", "arm64"))
    image = m.add_artifact(
        tarball(workspace, "bookworm", "amd64", category="debian:system-image"),
        variables={"backend": "qemu"},
    )
    assert m.lookup("match:codename=trixie:architecture=arm64") == arm
    # No variant filter: the most recently added match wins.
    assert m.lookup("match:codename=trixie:architecture=amd64") == sbuild
    # An empty variant means "no variant".
    assert m.lookup("match:codename=trixie:architecture=amd64:variant=") == plain
    assert m.lookup("match:codename=trixie:variant=sbuild") == sbuild
    assert m.lookup("match:format=image") == image
    assert m.lookup("match:format=image:backend=qemu") == image
    assert m.lookup("match:format=image:backend=unshare") is None
    assert m.lookup("match:format=tarball:codename=bookworm") is None
    with pytest.raises(InvalidLookupSegment, match="KEY=VALUE"):
        m.lookup("match:suite=trixie")


def test_environment_replacement_keeps_history(
    db_session: Session, workspace: models.Workspace
) -> None:
    coll = collection(workspace, "debian", "debian:environments")
    m = manager(db_session, coll)
    old = m.add_artifact(tarball(workspace, "trixie", "amd64"))
    new = m.add_artifact(tarball(workspace, "trixie", "amd64"))
    assert old.removed_at is not None
    assert new.removed_at is None
    assert m.lookup("match:codename=trixie") == new
    assert [i.id for i in all_items(db_session, coll)] == [old.id, new.id]
    with pytest.raises(ItemAdditionError, match="already has an item"):
        m.add_artifact(tarball(workspace, "trixie", "amd64"), replace=False)


# --- debusine:workflow-internal -------------------------------------------------


def test_workflow_internal(db_session: Session, workspace: models.Workspace) -> None:
    m = manager(db_session, collection(workspace, "wf", "debusine:workflow-internal"))
    artifact = factories.ArtifactFactory(workspace=workspace)
    item = m.add_artifact(artifact, name="build-amd64", variables={"arch": "amd64"})
    assert item.data == {"arch": "amd64"}
    assert m.lookup("name:build-amd64") == item
    with pytest.raises(ItemAdditionError, match="explicit item name"):
        m.add_artifact(artifact)
    with pytest.raises(ItemAdditionError, match="reserved"):
        m.add_artifact(artifact, name="x", variables={"promise_x": 1})
    with pytest.raises(ItemAdditionError, match="reserved"):
        m.add_bare_data("debusine:test", name="y", data={"promise_work_request_id": 1})
    promise = m.add_bare_data(
        "debusine:promise", name="p", data={"promise_work_request_id": 1}
    )
    assert promise.child_type == "b"


# --- debusine:task-configuration ------------------------------------------------


def test_task_configuration(db_session: Session, workspace: models.Workspace) -> None:
    m = manager(
        db_session, collection(workspace, "default", "debusine:task-configuration")
    )
    item = m.add_bare_data(
        "debusine:task-configuration",
        data={"task_type": "Worker", "task_name": "sbuild", "subject": "hello"},
    )
    assert item.name == "Worker:sbuild:hello:"
    assert m.lookup("Worker:sbuild:hello:") == item
    template = m.add_bare_data(
        "debusine:task-configuration", data={"template": "common"}
    )
    assert template.name == "template:common"
    with pytest.raises(ItemAdditionError, match="task_type"):
        m.add_bare_data("debusine:task-configuration", data={})
    with pytest.raises(ItemAdditionError, match="does not accept"):
        m.add_bare_data("debusine:other", data={"template": "x"})


# --- debusine:task-history ------------------------------------------------------


def run(m: Any, wr: int, result: str, subject: str = "hello") -> models.CollectionItem:
    return m.add_bare_data(  # type: ignore[no-any-return]
        "debusine:historical-task-run",
        data={
            "task_type": "Worker",
            "task_name": "sbuild",
            "subject": subject,
            "context": "sid/amd64",
            "work_request_id": wr,
            "result": result,
        },
    )


def test_task_history(db_session: Session, workspace: models.Workspace) -> None:
    workspace.create_singleton_collections(db_session)
    coll = db_session.scalars(
        select(models.Collection).where(
            models.Collection.workspace_id == workspace.id,
            models.Collection.category == "debusine:task-history",
        )
    ).one()
    coll.data = {"old_items_to_keep": 2}
    m = manager(db_session, coll)
    first_success = run(m, 1, "success")
    assert first_success.name == "Worker:sbuild:hello:sid/amd64:1"
    failure = run(m, 2, "failure")
    other = run(m, 3, "success", subject="other")
    for wr in (4, 5, 6):
        run(m, wr, "error")
    key = "Worker:sbuild:hello:sid/amd64"
    entry = m.lookup(f"last-entry:{key}")
    assert entry is not None
    assert entry.data["work_request_id"] == 6
    # The last success is kept whatever its age; the last failure (an
    # error counts) is the newest run.
    success = m.lookup(f"last-success:{key}")
    assert success is not None
    assert success.id == first_success.id
    last_failure = m.lookup(f"last-failure:{key}")
    assert last_failure is not None
    assert last_failure.data["work_request_id"] == 6
    active = sorted(
        i.data["work_request_id"]
        for i in all_items(db_session, coll)
        if i.removed_at is None and i.data["subject"] == "hello"
    )
    assert active == [1, 5, 6]
    assert failure.removed_at is not None
    assert other.removed_at is None
    assert m.lookup("last-entry:Worker:sbuild:nothing:sid/amd64") is None
    with pytest.raises(InvalidLookupSegment, match="TASK_TYPE"):
        m.lookup("last-entry:Worker")


def test_same_work_request_filters(
    db_session: Session, workspace: models.Workspace
) -> None:
    workflow = factories.WorkRequestFactory(workspace=workspace)
    build = factories.WorkRequestFactory(workspace=workspace, parent=workflow)
    sibling = factories.WorkRequestFactory(workspace=workspace, parent=workflow)
    unrelated = factories.WorkRequestFactory(workspace=workspace)
    workspace.create_singleton_collections(db_session)
    logs = db_session.scalars(
        select(models.Collection).where(
            models.Collection.workspace_id == workspace.id,
            models.Collection.category == "debian:package-build-logs",
        )
    ).one()
    m = manager(db_session, logs)
    for wr in (build, sibling, unrelated):
        item = m.add_bare_data(
            "debian:package-build-log",
            data={
                "work_request_id": wr.id,
                "worker": "w",
                "vendor": "debian",
                "codename": "sid",
                "architecture": "amd64",
                "srcpkg_name": "hello",
                "srcpkg_version": "1-1",
            },
        )
        assert item.name == f"debian_sid_amd64_hello_1-1_{wr.id}"
    with pytest.raises(ItemAdditionError, match="needs codename"):
        m.add_bare_data("debian:package-build-log", data={"vendor": "debian"})
    output = factories.ArtifactFactory(
        workspace=workspace, created_by_work_request_id=build.id
    )

    def found(key: str) -> list[int]:
        results = lookup_multiple(
            db_session,
            {
                "collection": "_@debian:package-build-logs",
                "child_type": "bare",
                key: [output.id],
            },
            workspace=workspace,
            actor=ANONYMOUS,
        )
        return sorted(r.collection_item.data["work_request_id"] for r in results)

    assert found("lookup__same_work_request") == [build.id]
    assert found("lookup__same_workflow") == sorted([build.id, sibling.id])


# --- debian:suite-lintian -------------------------------------------------------


def test_suite_lintian(db_session: Session, workspace: models.Workspace) -> None:
    m = manager(db_session, collection(workspace, "lint", "debian:suite-lintian"))
    for version in ("1.9-1", "1.10-1"):
        m.add_artifact(
            factories.ArtifactFactory(workspace=workspace, category="debian:lintian"),
            variables={
                "package": "hello",
                "version": version,
                "architecture": "amd64",
                "derived_from": [1],
            },
        )
    latest = m.lookup("latest:hello_amd64")
    assert latest is not None
    assert latest.name == "hello_1.10-1_amd64"
    assert m.lookup("version:hello_1.9-1_amd64") is not None
    assert m.lookup("latest:hello_i386") is None
    with pytest.raises(ItemAdditionError, match="package"):
        m.add_artifact(
            factories.ArtifactFactory(workspace=workspace, category="debian:lintian")
        )


# --- retention ------------------------------------------------------------------


def test_retention(db_session: Session, workspace: models.Workspace) -> None:
    day = dt.timedelta(days=1)
    keep_all = collection(workspace, "forever", "debusine:workflow-internal")
    coll = collection(
        workspace,
        "wf",
        "debusine:workflow-internal",
        full_history_retention_period=day,
        metadata_only_retention_period=2 * day,
    )
    m = manager(db_session, coll)
    removed = m.add_artifact(factories.ArtifactFactory(workspace=workspace), name="a")
    active = m.add_artifact(factories.ArtifactFactory(workspace=workspace), name="b")
    m.remove_item(removed)
    forever = manager(db_session, keep_all).add_artifact(
        factories.ArtifactFactory(workspace=workspace), name="c"
    )
    manager(db_session, keep_all).remove_item(forever)
    assert removed.removed_at is not None
    now = removed.removed_at

    report = apply_retention(db_session, now + day / 2)
    assert (report.unlinked, report.deleted) == (0, 0)

    report = apply_retention(db_session, now + day + dt.timedelta(seconds=1))
    assert (report.unlinked, report.deleted) == (1, 0)
    db_session.refresh(removed)
    assert removed.artifact_id is None
    assert removed.removed_at is not None

    report = apply_retention(db_session, now + 3 * day + dt.timedelta(seconds=1))
    assert report.deleted == 1
    remaining = {i.name for i in all_items(db_session, coll)}
    assert remaining == {"b"}
    db_session.refresh(active)
    assert active.artifact_id is not None
    db_session.refresh(forever)
    assert forever.artifact_id is not None
