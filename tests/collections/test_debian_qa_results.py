"""`debian:qa-results`: names, `latest:` by timestamp, pruning, bad input."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from debusine import models
from debusine.collections import (
    InvalidLookupSegment,
    ItemAdditionError,
    lookup_single,
    registered_categories,
)
from debusine.collections.base import CollectionManager
from debusine.permissions import ANONYMOUS
from tests import factories
from tests.collections.conftest import collection, manager


@pytest.fixture
def workspace(db_session: Session) -> models.Workspace:
    return factories.WorkspaceFactory(public=True)


@pytest.fixture
def results(db_session: Session, workspace: models.Workspace) -> CollectionManager:
    coll = collection(
        workspace, "sid-qa", "debian:qa-results", data={"old_items_to_keep": 2}
    )
    return manager(db_session, coll)


def bare(
    m: CollectionManager,
    wr: int,
    timestamp: int,
    *,
    task: str = "autopkgtest",
    package: str = "hello",
    arch: str = "amd64",
    result: str = "success",
) -> models.CollectionItem:
    return m.add_bare_data(
        "debian:qa-result",
        data={
            "task_name": task,
            "package": package,
            "version": f"1.{wr}-1",
            "architecture": arch,
            "timestamp": timestamp,
            "work_request_id": wr,
            "result": result,
        },
    )


def test_registered() -> None:
    assert "debian:qa-results" in registered_categories()


def test_latest_is_by_timestamp_not_arrival(results: CollectionManager) -> None:
    newest = bare(results, 1, timestamp=3000)
    bare(results, 2, timestamp=1000)  # an old run reported late
    bare(results, 3, timestamp=9000, arch="arm64")
    bare(results, 4, timestamp=9000, task="lintian")
    assert newest.name == "autopkgtest_hello_1.1-1_amd64_1"
    found = results.lookup("latest:autopkgtest_hello_amd64")
    assert found is not None
    assert found.id == newest.id
    arm = results.lookup("latest:autopkgtest_hello_arm64")
    assert arm is not None
    assert arm.data["work_request_id"] == 3
    assert results.lookup("latest:autopkgtest_other_amd64") is None


def test_lookup_through_the_lookup_syntax(
    db_session: Session, workspace: models.Workspace, results: CollectionManager
) -> None:
    item = bare(results, 7, timestamp=100, result="failure")
    found = lookup_single(
        db_session,
        "sid-qa@debian:qa-results/latest:autopkgtest_hello_amd64",
        workspace=workspace,
        actor=ANONYMOUS,
    )
    assert found.collection_item is not None
    assert found.collection_item.id == item.id
    assert found.collection_item.data["result"] == "failure"


def test_old_results_are_pruned_per_key(
    db_session: Session, results: CollectionManager
) -> None:
    for wr in range(1, 5):
        bare(results, wr, timestamp=wr * 10)
    other = bare(results, 9, timestamp=1, package="other")
    items = db_session.scalars(
        select(models.CollectionItem).where(
            models.CollectionItem.parent_collection_id == results.collection.id
        )
    ).all()
    active = sorted(
        i.data["work_request_id"]
        for i in items
        if i.removed_at is None and i.data["package"] == "hello"
    )
    assert active == [3, 4]
    # Removed items stay as history.
    assert len([i for i in items if i.removed_at is not None]) == 2
    assert other.removed_at is None


def test_artifact_items_take_their_work_request_and_time(
    db_session: Session, workspace: models.Workspace, results: CollectionManager
) -> None:
    work_request = factories.WorkRequestFactory(workspace=workspace)
    artifact = factories.ArtifactFactory(
        workspace=workspace,
        category="debian:lintian",
        data={"summary": {}},
        created_by_work_request_id=work_request.id,
    )
    item = results.add_artifact(
        artifact,
        variables={
            "package": "hello",
            "version": "2.10-3",
            "architecture": "source",
            "result": "success",
        },
    )
    assert item.name == f"lintian_hello_2.10-3_source_{work_request.id}"
    assert item.data["timestamp"] == int(artifact.created_at.timestamp())
    assert results.lookup("latest:lintian_hello_source") is not None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"package": None}, "needs package"),
        ({"timestamp": "soon"}, "timestamp must be an integer"),
        ({"result": "maybe"}, "result must be one of"),
        ({"architecture": "amd_64"}, "may not contain"),
    ],
)
def test_bad_results_are_refused(
    db_session: Session,
    results: CollectionManager,
    change: dict[str, Any],
    message: str,
) -> None:
    data: dict[str, Any] = {
        "task_name": "blhc",
        "package": "hello",
        "version": "1.0-1",
        "architecture": "amd64",
        "timestamp": 5,
        "work_request_id": 1,
        "result": "success",
        **change,
    }
    with pytest.raises(ItemAdditionError, match=message):
        results.add_bare_data("debian:qa-result", data=data)


def test_other_categories_are_refused(
    workspace: models.Workspace, results: CollectionManager
) -> None:
    artifact = factories.ArtifactFactory(
        workspace=workspace, category="debian:source-package", data={}
    )
    with pytest.raises(ItemAdditionError):
        results.add_artifact(artifact, variables={})


@pytest.mark.parametrize("value", ["autopkgtest", "autopkgtest_hello", "_hello_"])
def test_malformed_latest_lookup(results: CollectionManager, value: str) -> None:
    with pytest.raises(InvalidLookupSegment, match="TASK_PACKAGE_ARCHITECTURE"):
        results.lookup(f"latest:{value}")
