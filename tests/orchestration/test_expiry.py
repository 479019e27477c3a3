"""Expiry: what goes, what stays, and the files that leave the store."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from debusine import models
from debusine.admin import main as admin
from debusine.orchestration.expiry import delete_expired, expired_artifacts
from debusine.storage import local_store, record_in_store
from tests import factories

NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def artifact(
    workspace: models.Workspace, age: dt.timedelta, delay: dt.timedelta | None
) -> models.Artifact:
    return factories.ArtifactFactory(
        workspace=workspace, created_at=NOW - age, expiration_delay=delay
    )


@pytest.fixture
def workspace() -> models.Workspace:
    return factories.WorkspaceFactory(default_expiration_delay=dt.timedelta(0))


def test_expiry_by_own_delay_and_workspace_default(
    db_session: Session, workspace: models.Workspace
) -> None:
    expired = artifact(workspace, 3 * DAY, DAY)
    fresh = artifact(workspace, 3 * DAY, 5 * DAY)
    forever = artifact(workspace, 300 * DAY, dt.timedelta(0))
    by_default = factories.WorkspaceFactory(default_expiration_delay=2 * DAY)
    expired_by_default = artifact(by_default, 3 * DAY, None)
    kept_by_default = artifact(by_default, DAY, None)
    never_by_default = artifact(workspace, 300 * DAY, None)
    ids = set(expired_artifacts(db_session, NOW))
    assert expired.id in ids
    assert expired_by_default.id in ids
    assert {fresh.id, forever.id, kept_by_default.id, never_by_default.id}.isdisjoint(
        ids
    )


def test_retained_collection_keeps_artifacts(
    db_session: Session, workspace: models.Workspace
) -> None:
    kept = artifact(workspace, 3 * DAY, DAY)
    dropped = artifact(workspace, 3 * DAY, DAY)
    always = factories.CollectionFactory(
        workspace=workspace,
        category="debusine:test-always",
        retains_artifacts=models.RetainsArtifacts.ALWAYS,
    )
    never = factories.CollectionFactory(
        workspace=workspace,
        category="debusine:test-never",
        retains_artifacts=models.RetainsArtifacts.NEVER,
    )
    for parent, child in ((always, kept), (never, dropped)):
        db_session.add(
            models.CollectionItem(
                parent_collection=parent,
                parent_category=parent.category,
                name=f"item{child.id}",
                child_type=models.CollectionItemType.ARTIFACT,
                category=child.category,
                artifact=child,
            )
        )
    db_session.flush()
    dropped_id = dropped.id
    report = delete_expired(db_session, NOW)
    assert report.artifacts == [dropped_id]
    item = db_session.scalars(
        select(models.CollectionItem).where(
            models.CollectionItem.parent_collection_id == never.id
        )
    ).one()
    db_session.refresh(item)
    assert item.removed_at == NOW
    assert item.artifact_id is None
    assert db_session.get(models.Artifact, kept.id) is not None


def test_relations_from_kept_artifacts_keep_their_targets(
    db_session: Session, workspace: models.Workspace
) -> None:
    upload = artifact(workspace, 3 * DAY, 10 * DAY)
    source = artifact(workspace, 3 * DAY, DAY)
    build_log = artifact(workspace, 3 * DAY, DAY)
    orphan = artifact(workspace, 3 * DAY, DAY)
    db_session.add_all(
        [
            models.ArtifactRelation(
                artifact=upload,
                target=source,
                type=models.ArtifactRelationType.EXTENDS,
            ),
            models.ArtifactRelation(
                artifact=source,
                target=build_log,
                type=models.ArtifactRelationType.RELATES_TO,
            ),
            # A relation *to* a kept artifact keeps nothing.
            models.ArtifactRelation(
                artifact=orphan,
                target=upload,
                type=models.ArtifactRelationType.RELATES_TO,
            ),
        ]
    )
    db_session.flush()
    assert expired_artifacts(db_session, NOW) == [orphan.id]


@pytest.mark.parametrize(
    ("status", "kept"),
    [
        (models.WorkRequestStatus.RUNNING, True),
        (models.WorkRequestStatus.COMPLETED, False),
    ],
)
def test_workflow_internal_collection_keeps_while_running(
    db_session: Session,
    workspace: models.Workspace,
    status: models.WorkRequestStatus,
    kept: bool,
) -> None:
    internal = factories.CollectionFactory(
        workspace=workspace,
        category="debusine:workflow-internal",
        retains_artifacts=models.RetainsArtifacts.WORKFLOW,
    )
    factories.WorkRequestFactory(
        workspace=workspace,
        task_type=models.TaskType.WORKFLOW,
        status=status,
        result=(
            models.WorkRequestResult.SUCCESS
            if status == models.WorkRequestStatus.COMPLETED
            else models.WorkRequestResult.NONE
        ),
        internal_collection=internal,
    )
    output = artifact(workspace, 3 * DAY, DAY)
    db_session.add(
        models.CollectionItem(
            parent_collection=internal,
            parent_category=internal.category,
            name="build-amd64",
            child_type=models.CollectionItemType.ARTIFACT,
            category=output.category,
            artifact=output,
        )
    )
    db_session.flush()
    assert (output.id not in expired_artifacts(db_session, NOW)) is kept


def test_expired_user_tokens_go_worker_tokens_stay(db_session: Session) -> None:
    old = factories.TokenFactory(expire_at=NOW - DAY)
    valid = factories.TokenFactory(expire_at=NOW + DAY)
    worker = factories.WorkerFactory()
    assert worker.token is not None
    worker.token.expire_at = NOW - DAY
    db_session.flush()
    old_id, kept_ids = old.id, {valid.id, worker.token.id}
    report = delete_expired(db_session, NOW)
    assert report.tokens == 1
    remaining = set(db_session.scalars(select(models.Token.id)))
    assert old_id not in remaining
    assert kept_ids <= remaining


def stored(
    db_session: Session, tmp_path: Path, art: models.Artifact, content: bytes, path: str
) -> Path:
    """Put `content` in a local store and in `art` as `path`."""
    file_store = factories.FileStoreFactory(
        backend=models.FileStoreBackend.LOCAL,
        configuration={"base_directory": str(tmp_path / "store")},
    )
    store = local_store(file_store)
    digest = hashlib.sha256(content).hexdigest()
    location = store.add_stream(io.BytesIO(content), digest, len(content))
    file = db_session.scalars(
        select(models.File).where(
            models.File.sha256 == bytes.fromhex(digest),
            models.File.size == len(content),
        )
    ).first() or factories.FileFactory(sha256=bytes.fromhex(digest), size=len(content))
    record_in_store(db_session, file_store, file)
    art.files.append(models.FileInArtifact(path=path, file=file, complete=True))
    db_session.flush()
    return location


def test_admin_command_removes_unused_files_after_commit(
    db_session: Session,
    workspace: models.Workspace,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    now = dt.datetime.now(dt.UTC)
    gone = factories.ArtifactFactory(
        workspace=workspace, created_at=now - 3 * DAY, expiration_delay=DAY
    )
    kept = factories.ArtifactFactory(
        workspace=workspace, created_at=now, expiration_delay=DAY
    )
    gone_id = gone.id
    only_in_gone = stored(db_session, tmp_path, gone, b"only here", "a.txt")
    shared = stored(db_session, tmp_path, gone, b"shared", "b.txt")
    stored(db_session, tmp_path, kept, b"shared", "b.txt")

    assert admin(["delete-expired", "--dry-run"], session=db_session) == 0
    assert "Would delete 1 artifacts, 1 stored files" in capsys.readouterr().out
    assert db_session.get(models.Artifact, gone_id) is not None
    assert only_in_gone.exists()

    assert admin(["delete-expired"], session=db_session) == 0
    assert "Deleted 1 artifacts, 1 stored files" in capsys.readouterr().out
    db_session.expire_all()
    assert db_session.get(models.Artifact, gone_id) is None
    assert not only_in_gone.exists()
    assert shared.exists()
    assert db_session.get(models.Artifact, kept.id) is not None
