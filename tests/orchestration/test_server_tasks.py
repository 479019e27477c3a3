"""Server tasks run by the orchestrator's in-process worker, on the real database."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

import pytest
from debian import deb822
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session, sessionmaker

from debusine import models
from debusine.collections import get_manager
from debusine.models import (
    CollectionItem,
    TaskType,
    WorkRequest,
    WorkRequestResult,
    WorkRequestStatus,
)
from debusine.orchestration.server_tasks import (
    SERVER_WORKER_NAME,
    connect_server_worker,
    run_pending_server_tasks,
)
from debusine.storage import local_store
from debusine.work_requests import create_work_request
from tests import factories
from tests.test_permissions import member_with_role


@pytest.fixture
def session_factory(connection: Connection) -> sessionmaker[Session]:
    return sessionmaker(bind=connection, join_transaction_mode="create_savepoint")


@pytest.fixture
def workspace(db_session: Session) -> models.Workspace:
    return factories.WorkspaceFactory()


@pytest.fixture
def settings(tmp_path: Path) -> dict[str, Any]:
    return {"debusine.data_dir": str(tmp_path / "data")}


def server_task(
    session: Session,
    workspace: models.Workspace,
    name: str,
    data: dict[str, Any],
    created_by: models.User | None = None,
) -> WorkRequest:
    return create_work_request(
        session,
        workspace=workspace,
        task_type=TaskType.SERVER,
        task_name=name,
        task_data=data,
        created_by=created_by,
    )


def run(
    db_session: Session,
    session_factory: sessionmaker[Session],
    settings: dict[str, Any],
) -> list[int]:
    db_session.flush()
    with session_factory.begin() as session:
        connect_server_worker(session)
    done = run_pending_server_tasks(session_factory, settings)
    db_session.expire_all()
    return done


def active(session: Session, collection: models.Collection) -> dict[str, Any]:
    items = session.scalars(
        select(CollectionItem).where(
            CollectionItem.parent_collection_id == collection.id,
            CollectionItem.removed_at.is_(None),
        )
    )
    return {item.name: item for item in items}


def test_servernoop_results_and_exception(
    db_session: Session,
    session_factory: sessionmaker[Session],
    settings: dict[str, Any],
    workspace: models.Workspace,
) -> None:
    ok = server_task(db_session, workspace, "servernoop", {})
    failed = server_task(db_session, workspace, "servernoop", {"result": False})
    raised = server_task(db_session, workspace, "servernoop", {"exception": True})
    worker_task = create_work_request(
        db_session,
        workspace=workspace,
        task_type=TaskType.WORKER,
        task_name="noop",
        task_data={},
        created_by=None,
    )

    assert sorted(run(db_session, session_factory, settings)) == sorted(
        [ok.id, failed.id, raised.id]
    )

    assert ok.result == WorkRequestResult.SUCCESS
    assert ok.worker is not None
    assert ok.worker.name == SERVER_WORKER_NAME
    assert failed.result == WorkRequestResult.FAILURE
    assert raised.result == WorkRequestResult.ERROR
    assert raised.output_data["errors"] == [
        {
            "code": "server-task-exception",
            "message": "servernoop was asked to raise an exception",
        }
    ]
    assert worker_task.status == WorkRequestStatus.PENDING
    assert worker_task.worker_id is None


def test_nothing_runs_before_the_orchestrator_connects_its_worker(
    db_session: Session,
    session_factory: sessionmaker[Session],
    settings: dict[str, Any],
    workspace: models.Workspace,
) -> None:
    task = server_task(db_session, workspace, "servernoop", {})
    db_session.flush()
    assert run_pending_server_tasks(session_factory, settings) == []
    db_session.expire_all()
    assert task.status == WorkRequestStatus.PENDING


def test_a_task_left_running_is_retried_at_activation(
    db_session: Session,
    session_factory: sessionmaker[Session],
    settings: dict[str, Any],
    workspace: models.Workspace,
) -> None:
    task = server_task(db_session, workspace, "servernoop", {})
    worker = models.Worker(
        name=SERVER_WORKER_NAME, worker_type=models.WorkerType.SERVER
    )
    db_session.add(worker)
    task.worker = worker
    task.status = WorkRequestStatus.RUNNING
    db_session.flush()

    (retried,) = run(db_session, session_factory, settings)

    assert task.status == WorkRequestStatus.ABORTED
    new = db_session.get_one(WorkRequest, retried)
    assert new.supersedes_id == task.id
    assert new.result == WorkRequestResult.SUCCESS


def source_artifact(
    workspace: models.Workspace, name: str, version: str
) -> models.Artifact:
    artifact = factories.ArtifactFactory(
        workspace=workspace,
        category="debian:source-package",
        data={
            "name": name,
            "version": version,
            "type": "dpkg",
            "dsc_fields": {
                "Source": name,
                "Version": version,
                "Format": "3.0 (native)",
                "Maintainer": "Debusine Tests <tests@example.org>",
                "Binary": name,
                "Architecture": "any",
            },
        },
    )
    add_file(artifact, f"{name}_{version}.dsc", b"dsc " + name.encode())
    add_file(artifact, f"{name}_{version}.tar.xz", b"tar " + name.encode())
    return artifact


def binary_artifact(
    workspace: models.Workspace, name: str, version: str, arch: str
) -> models.Artifact:
    artifact = factories.ArtifactFactory(
        workspace=workspace,
        category="debian:binary-package",
        data={
            "srcpkg_name": name,
            "srcpkg_version": version,
            "deb_fields": {
                "Package": name,
                "Version": version,
                "Architecture": arch,
                "Maintainer": "Debusine Tests <tests@example.org>",
                "Description": "a test package\n it does nothing",
            },
            "deb_control_files": ["control"],
        },
    )
    add_file(artifact, f"{name}_{version}_{arch}.deb", b"deb " + name.encode())
    return artifact


def add_file(artifact: models.Artifact, path: str, content: bytes) -> None:
    file = factories.FileFactory(
        sha256=hashlib.sha256(content).digest(), size=len(content)
    )
    artifact.files.append(models.FileInArtifact(path=path, file=file, complete=True))


def suite_with_hello(
    db_session: Session, workspace: models.Workspace
) -> models.Collection:
    suite = factories.CollectionFactory(
        workspace=workspace,
        name="bookworm",
        category="debian:suite",
        data={"components": ["main"], "architectures": ["amd64"]},
    )
    manager = get_manager(db_session, suite)
    manager.add_artifact(
        source_artifact(workspace, "hello", "1.0"), variables={"section": "devel"}
    )
    manager.add_artifact(binary_artifact(workspace, "hello", "1.0", "amd64"))
    db_session.flush()
    return suite


def test_copycollectionitems_copies_into_another_workspace(
    db_session: Session,
    session_factory: sessionmaker[Session],
    settings: dict[str, Any],
    workspace: models.Workspace,
) -> None:
    suite = suite_with_hello(db_session, workspace)
    other = factories.WorkspaceFactory(scope=workspace.scope)
    target = factories.CollectionFactory(
        workspace=other, name="trixie", category="debian:suite"
    )
    task = server_task(
        db_session,
        workspace,
        "copycollectionitems",
        {
            "copies": [
                {
                    "source_items": [f"{suite.id}@collections/source:hello"],
                    "target_collection": f"{target.id}@collections",
                    "variables": {"component": "contrib"},
                }
            ]
        },
    )

    run(db_session, session_factory, settings)

    assert task.result == WorkRequestResult.SUCCESS, task.output_data
    (item,) = active(db_session, target).values()
    assert item.name == "hello_1.0"
    assert item.data["component"] == "contrib"
    assert item.artifact is not None
    original = active(db_session, suite)["hello_1.0"].artifact
    assert item.artifact.workspace_id == other.id
    assert item.artifact.original_artifact_id == original.id
    assert sorted(f.file_id for f in item.artifact.files) == sorted(
        f.file_id for f in original.files
    )


def test_copycollectionitems_takes_artifact_ids(
    db_session: Session,
    session_factory: sessionmaker[Session],
    settings: dict[str, Any],
    workspace: models.Workspace,
) -> None:
    """package_publish passes a source_artifact given by id as it is."""
    source = source_artifact(workspace, "hello", "2.0")
    target = factories.CollectionFactory(
        workspace=workspace,
        name="sid",
        category="debian:suite",
        data={"components": ["main"], "architectures": ["amd64"]},
    )
    db_session.flush()
    task = server_task(
        db_session,
        workspace,
        "copycollectionitems",
        {
            "copies": [
                {
                    "source_items": [source.id],
                    "target_collection": f"{target.id}@collections",
                    "variables": {"component": "main", "section": "devel"},
                }
            ]
        },
    )

    run(db_session, session_factory, settings)

    assert task.result == WorkRequestResult.SUCCESS, task.output_data
    (item,) = active(db_session, target).values()
    assert item.name == "hello_2.0"
    assert item.artifact_id == source.id


def test_copycollectionitems_is_all_or_nothing(
    db_session: Session,
    session_factory: sessionmaker[Session],
    settings: dict[str, Any],
    workspace: models.Workspace,
) -> None:
    suite = suite_with_hello(db_session, workspace)
    target = factories.CollectionFactory(
        workspace=workspace, name="copies", category="debusine:workflow-internal"
    )
    task = server_task(
        db_session,
        workspace,
        "copycollectionitems",
        {
            "copies": [
                {
                    "source_items": [f"{suite.id}@collections/source:hello"],
                    "target_collection": f"{target.id}@collections",
                    "name_template": "copy-of-{package}",
                },
                {
                    "source_items": [f"{suite.id}@collections/source:hello"],
                    "target_collection": "nowhere@debian:suite",
                },
            ]
        },
    )

    run(db_session, session_factory, settings)

    assert task.result == WorkRequestResult.ERROR
    (error,) = task.output_data["errors"]
    assert error["code"] == "lookup-failed"
    assert "nowhere@debian:suite" in error["message"]
    assert active(db_session, target) == {}


def test_updatesuitelintiancollection(
    db_session: Session,
    session_factory: sessionmaker[Session],
    settings: dict[str, Any],
    workspace: models.Workspace,
) -> None:
    suite = suite_with_hello(db_session, workspace)
    derived = factories.CollectionFactory(
        workspace=workspace, name="bookworm-lintian", category="debian:suite-lintian"
    )
    stale = factories.ArtifactFactory(
        workspace=workspace,
        category="debian:lintian",
        data={"architecture": "source", "summary": {}},
    )
    get_manager(db_session, derived).add_artifact(
        stale,
        variables={"package": "gone", "version": "0.1", "derived_from": [999999]},
    )
    task = server_task(
        db_session,
        workspace,
        "updatesuitelintiancollection",
        {
            "base_collection": f"{suite.id}@collections",
            "derived_collection": f"{derived.id}@collections",
            "child_task_data": {"fail_on_severity": "none"},
        },
        # The lintian requests it makes resolve their inputs as this user.
        created_by=member_with_role(
            db_session, workspace, models.WorkspaceRoles.CONTRIBUTOR
        ),
    )

    run(db_session, session_factory, settings)

    assert task.result == WorkRequestResult.SUCCESS, task.output_data
    assert task.output_data["removed_items"] == 1
    assert active(db_session, derived) == {}
    (lintian_id,) = task.output_data["work_requests"]
    lintian = db_session.get_one(WorkRequest, lintian_id)
    items = active(db_session, suite)
    source, binary = items["hello_1.0"], items["hello_1.0_amd64"]
    assert lintian.task_data == {
        "fail_on_severity": "none",
        "input": {
            "source_artifact": source.artifact_id,
            "binary_artifacts": [binary.artifact_id],
        },
    }
    (reaction,) = lintian.event_reactions["on_success"]
    assert reaction["variables"]["derived_from"] == [source.id, binary.id]

    # The lintian run's result lands in the derived collection.
    result = factories.ArtifactFactory(
        workspace=workspace,
        category="debian:lintian",
        data={"architecture": "source", "summary": {}},
    )
    result.created_by_work_request_id = lintian.id
    lintian.status = WorkRequestStatus.RUNNING
    db_session.flush()
    from debusine.work_requests import mark_completed

    mark_completed(db_session, lintian, "success")
    assert list(active(db_session, derived)) == ["hello_1.0_source"]

    # Up to date: nothing more to do.
    again = server_task(
        db_session,
        workspace,
        "updatesuitelintiancollection",
        {
            "base_collection": f"{suite.id}@collections",
            "derived_collection": f"{derived.id}@collections",
        },
    )
    run(db_session, session_factory, settings)
    assert again.output_data["removed_items"] == 0
    assert again.output_data["work_requests"] == []


def test_generatesuiteindexes_writes_indexes_apt_can_read(
    db_session: Session,
    session_factory: sessionmaker[Session],
    settings: dict[str, Any],
    workspace: models.Workspace,
) -> None:
    suite = suite_with_hello(db_session, workspace)
    generate_at = dt.datetime.now(dt.UTC)
    task = server_task(
        db_session,
        workspace,
        "generatesuiteindexes",
        {
            "suite_collection": f"{suite.id}@collections",
            "generate_at": generate_at.isoformat(),
        },
    )

    run(db_session, session_factory, settings)

    assert task.result == WorkRequestResult.SUCCESS, task.output_data
    items = active(db_session, suite)
    store = local_store(db_session.scalars(select(models.FileStore)).one())

    def content(path: str) -> bytes:
        item = items[f"index:{path}"]
        assert item.category == "debian:repository-index"
        assert item.data == {"path": path}
        (file_in_artifact,) = item.artifact.files
        file = file_in_artifact.file
        return store.path(file.sha256.hex(), file.size).read_bytes()

    (package,) = deb822.Packages.iter_paragraphs(
        content("main/binary-amd64/Packages").decode()
    )
    deb = content("main/binary-amd64/Packages")
    assert package["Package"] == "hello"
    assert package["Filename"] == "pool/main/h/hello/hello_1.0_amd64.deb"
    assert package["SHA256"] == hashlib.sha256(b"deb hello").hexdigest()
    assert package["Size"] == str(len(b"deb hello"))
    assert package["Description"].startswith("a test package")
    (source,) = deb822.Sources.iter_paragraphs(content("main/source/Sources").decode())
    assert source["Package"] == "hello"
    assert source["Directory"] == "pool/main/h/hello"
    assert source["Section"] == "devel"
    assert [f["name"] for f in source["Checksums-Sha256"]] == [
        "hello_1.0.dsc",
        "hello_1.0.tar.xz",
    ]
    release = deb822.Release(content("Release").decode())
    assert release["Suite"] == "bookworm"
    assert release["Architectures"] == "amd64"
    assert release["Components"] == "main"
    listed = {entry["name"]: entry for entry in release["SHA256"]}
    assert listed["main/binary-amd64/Packages"]["sha256"] == (
        hashlib.sha256(deb).hexdigest()
    )
    assert "main/binary-amd64/Packages.xz" in listed
    assert set(task.output_data["indexes"]) == {*listed, "Release"}
    assert dt.datetime.strptime(release["Date"], "%a, %d %b %Y %H:%M:%S %Z").replace(
        tzinfo=dt.UTC
    ) == generate_at.replace(microsecond=0)
