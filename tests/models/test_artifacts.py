"""Artifacts: their files by path, uploads, relations and provenance."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import delete, select
from sqlalchemy.exc import DataError
from sqlalchemy.orm import Session

from debusine.models import (
    Artifact,
    ArtifactRelation,
    ArtifactRelationType,
    Collection,
    CollectionItem,
    File,
    FileInArtifact,
    FileUpload,
    User,
)
from tests.factories import (
    ArtifactFactory,
    CollectionFactory,
    FileFactory,
    UserFactory,
    WorkRequestFactory,
)
from tests.models.conftest import Refused

# --- files in artifacts ---------------------------------------------------------


def _add_file(session: Session, artifact: Artifact, path: str) -> FileInArtifact:
    file_in_artifact = FileInArtifact(artifact=artifact, path=path, file=FileFactory())
    session.add(file_in_artifact)
    session.flush()
    return file_in_artifact


@pytest.mark.parametrize(
    "path", ["a", "hello_1.0.dsc", "dir/sub/file.deb", ".hidden", "a" * 500]
)
def test_valid_paths(db_session: Session, path: str) -> None:
    artifact = ArtifactFactory()
    _add_file(db_session, artifact, path)
    db_session.expire(artifact)
    assert [f.path for f in artifact.files] == [path]


def test_path_unique_per_artifact(refused: Refused, db_session: Session) -> None:
    artifact, other = ArtifactFactory(), ArtifactFactory()
    _add_file(db_session, artifact, "hello.dsc")
    _add_file(db_session, other, "hello.dsc")  # another artifact: fine
    with refused("uq_file_in_artifact_artifact_id_path"):
        db_session.add(
            FileInArtifact(artifact=artifact, path="hello.dsc", file=FileFactory())
        )


def test_same_file_under_two_paths(db_session: Session) -> None:
    artifact, file = ArtifactFactory(), FileFactory()
    db_session.add_all(
        [
            FileInArtifact(artifact=artifact, path="a", file=file),
            FileInArtifact(artifact=artifact, path="b", file=file),
        ]
    )
    db_session.flush()
    db_session.expire(artifact)
    assert [f.path for f in artifact.files] == ["a", "b"]


@pytest.mark.parametrize("path", ["/etc/passwd", "/"])
def test_absolute_path_refused(
    refused: Refused, db_session: Session, path: str
) -> None:
    artifact = ArtifactFactory()
    with refused("ck_file_in_artifact_path_relative"):
        db_session.add(FileInArtifact(artifact=artifact, path=path, file=FileFactory()))


def test_empty_path_refused(refused: Refused, db_session: Session) -> None:
    artifact = ArtifactFactory()
    with refused("ck_file_in_artifact_path_length"):
        db_session.add(FileInArtifact(artifact=artifact, path="", file=FileFactory()))


def test_path_longer_than_500_refused(db_session: Session) -> None:
    artifact = ArtifactFactory()
    with pytest.raises(DataError, match="too long"), db_session.begin_nested():
        db_session.add(
            FileInArtifact(artifact=artifact, path="a" * 501, file=FileFactory())
        )


def test_file_in_artifact_defaults(db_session: Session) -> None:
    file_in_artifact = _add_file(db_session, ArtifactFactory(), "a")
    db_session.expire(file_in_artifact)
    assert file_in_artifact.complete is False
    assert file_in_artifact.content_type is None


def test_one_upload_per_file(refused: Refused, db_session: Session) -> None:
    file_in_artifact = _add_file(db_session, ArtifactFactory(), "a")
    db_session.add(FileUpload(file_in_artifact=file_in_artifact, path="var/uploads/x"))
    db_session.flush()
    with refused("uq_file_upload_file_in_artifact_id"):
        db_session.add(
            FileUpload(file_in_artifact=file_in_artifact, path="var/uploads/y")
        )


def test_deleting_an_artifact_removes_its_files_and_uploads(
    db_session: Session,
) -> None:
    artifact = ArtifactFactory()
    file_in_artifact = _add_file(db_session, artifact, "a")
    db_session.add(FileUpload(file_in_artifact=file_in_artifact, path="var/uploads/x"))
    db_session.flush()
    file_id = file_in_artifact.file_id
    db_session.execute(delete(Artifact).where(Artifact.id == artifact.id))
    db_session.expire_all()
    assert db_session.scalars(select(FileInArtifact)).all() == []
    assert db_session.scalars(select(FileUpload)).all() == []
    # The content identity stays: other artifacts may share it.
    assert db_session.get(File, file_id) is not None


# --- relations ------------------------------------------------------------------


def test_relation_unique_per_artifact_target_and_type(
    refused: Refused, db_session: Session
) -> None:
    source, target = ArtifactFactory(), ArtifactFactory()
    for relation_type in ArtifactRelationType:
        db_session.add(
            ArtifactRelation(artifact=source, target=target, type=relation_type)
        )
    # The reverse direction is another relation.
    db_session.add(
        ArtifactRelation(
            artifact=target, target=source, type=ArtifactRelationType.EXTENDS
        )
    )
    db_session.flush()
    with refused("uq_artifact_relation_artifact_id_target_id_type"):
        db_session.add(
            ArtifactRelation(
                artifact=source, target=target, type=ArtifactRelationType.EXTENDS
            )
        )


def test_relation_to_itself_refused(refused: Refused, db_session: Session) -> None:
    artifact = ArtifactFactory()
    with refused("ck_artifact_relation_not_self"):
        db_session.add(
            ArtifactRelation(
                artifact=artifact, target=artifact, type=ArtifactRelationType.RELATES_TO
            )
        )


def test_relation_type_known(refused: Refused, raw_insert) -> None:
    source, target = ArtifactFactory(), ArtifactFactory()
    assert {t.value for t in ArtifactRelationType} == {
        "extends",
        "relates-to",
        "built-using",
    }
    with refused("ck_artifact_relation_artifact_relation_type"):
        raw_insert(
            ArtifactRelation,
            artifact_id=source.id,
            target_id=target.id,
            type="RELATES_TO",
        )


def test_deleting_either_end_removes_the_relation(db_session: Session) -> None:
    a, b, c = ArtifactFactory(), ArtifactFactory(), ArtifactFactory()
    db_session.add_all(
        [
            ArtifactRelation(artifact=a, target=b, type=ArtifactRelationType.EXTENDS),
            ArtifactRelation(artifact=b, target=c, type=ArtifactRelationType.EXTENDS),
        ]
    )
    db_session.flush()
    db_session.execute(delete(Artifact).where(Artifact.id == b.id))
    assert db_session.scalars(select(ArtifactRelation)).all() == []


# --- provenance and deletion ------------------------------------------------------


def test_deleting_a_user_keeps_their_artifacts(db_session: Session) -> None:
    user = UserFactory()
    artifact = ArtifactFactory(created_by=user)
    db_session.delete(user)
    db_session.flush()
    db_session.refresh(artifact)
    assert artifact.created_by_id is None
    assert db_session.get(User, user.id) is None


def test_deleting_the_work_request_keeps_its_artifacts(db_session: Session) -> None:
    work_request = WorkRequestFactory()
    artifact = ArtifactFactory(created_by_work_request_id=work_request.id)
    db_session.delete(work_request)
    db_session.flush()
    db_session.refresh(artifact)
    assert artifact.created_by_work_request_id is None


def test_deleting_the_original_keeps_copies(db_session: Session) -> None:
    original = ArtifactFactory()
    copy = ArtifactFactory(original_artifact_id=original.id)
    db_session.delete(original)
    db_session.flush()
    db_session.refresh(copy)
    assert copy.original_artifact_id is None


def test_artifact_defaults(db_session: Session) -> None:
    artifact = ArtifactFactory()
    db_session.expire(artifact)
    assert artifact.expiration_delay is None
    assert isinstance(artifact.created_at, dt.datetime)
    assert artifact.created_at.tzinfo is not None


def _item(collection: Collection, artifact: Artifact, **fields: Any) -> CollectionItem:
    return CollectionItem(
        parent_collection=collection,
        parent_category=collection.category,
        name=fields.pop("name", "item"),
        child_type="a",
        category=artifact.category,
        artifact=artifact,
        **fields,
    )


def test_artifact_active_in_a_collection_cannot_be_deleted(
    refused: Refused, db_session: Session
) -> None:
    artifact = ArtifactFactory()
    db_session.add(_item(CollectionFactory(), artifact))
    db_session.flush()
    with refused("ck_collection_item_child_type_consistent"):
        db_session.execute(delete(Artifact).where(Artifact.id == artifact.id))


def test_removed_item_keeps_its_metadata_after_the_artifact(
    db_session: Session,
) -> None:
    artifact = ArtifactFactory()
    item = _item(
        CollectionFactory(), artifact, removed_at=dt.datetime.now(dt.UTC), data={"a": 1}
    )
    db_session.add(item)
    db_session.flush()
    db_session.execute(delete(Artifact).where(Artifact.id == artifact.id))
    db_session.refresh(item)
    assert item.artifact_id is None
    assert item.data == {"a": 1}
