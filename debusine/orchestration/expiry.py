"""Expiry: delete what has outlived its expiration delay, keep what is needed.

An artifact expires `expiration_delay` after its creation (its own delay, or
else its workspace's default; zero means never). It is kept all the same
while something retained still needs it:

- it is an active item of a collection that retains artifacts `always`, or
  `workflow` while the workflow owning that (internal) collection runs;
- it is the target of a relation from an artifact that is kept (a kept
  upload keeps the source and binaries it extends).

The keep set is one recursive query; what is not in it and has expired is
deleted, and files no artifact uses any more leave the database. The caller
removes those files from their stores after the commit (`StoredFile`), so a
rollback never leaves a database row without its file.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import (
    Interval,
    and_,
    delete,
    exists,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from debusine.collections import RetentionReport, apply_retention
from debusine.models import (
    Artifact,
    ArtifactRelation,
    Collection,
    CollectionItem,
    File,
    FileInArtifact,
    FileInStore,
    FileStore,
    FileStoreBackend,
    RetainsArtifacts,
    Token,
    WorkRequest,
    WorkRequestStatus,
    Workspace,
)

ZERO = literal(dt.timedelta(0), Interval())


@dataclass(frozen=True)
class StoredFile:
    """A file to remove from a local store once the deletion is committed."""

    base_directory: str
    sha256: str
    size: int


@dataclass
class ExpiryReport:
    artifacts: list[int] = field(default_factory=list)
    files: list[StoredFile] = field(default_factory=list)
    tokens: int = 0
    retention: RetentionReport | None = None


def expired_artifacts(session: Session, now: dt.datetime) -> list[int]:
    """Ids of the artifacts to delete: expired and not needed by anything kept."""
    delay = func.coalesce(Artifact.expiration_delay, Workspace.default_expiration_delay)
    not_expired = (
        select(Artifact.id)
        .join(Workspace, Workspace.id == Artifact.workspace_id)
        .where(or_(delay <= ZERO, Artifact.created_at + delay > now))
    )
    running_workflow = exists().where(
        WorkRequest.internal_collection_id == Collection.id,
        WorkRequest.status.notin_(
            [WorkRequestStatus.COMPLETED, WorkRequestStatus.ABORTED]
        ),
    )
    retained = (
        select(CollectionItem.artifact_id)
        .join(Collection, Collection.id == CollectionItem.parent_collection_id)
        .where(
            CollectionItem.artifact_id.is_not(None),
            CollectionItem.removed_at.is_(None),
            or_(
                Collection.retains_artifacts == RetainsArtifacts.ALWAYS,
                and_(
                    Collection.retains_artifacts == RetainsArtifacts.WORKFLOW,
                    running_workflow,
                ),
            ),
        )
    )
    seeds = not_expired.union(retained).subquery()
    keep = select(seeds.c.id.label("id")).cte("keep", recursive=True)
    keep = keep.union(
        select(ArtifactRelation.target_id).join(
            keep, ArtifactRelation.artifact_id == keep.c.id
        )
    )
    return list(
        session.scalars(
            select(Artifact.id)
            .where(Artifact.id.notin_(select(keep.c.id)))
            .order_by(Artifact.id)
        )
    )


def delete_expired(session: Session, now: dt.datetime | None = None) -> ExpiryReport:
    """Delete expired artifacts, unused files and expired tokens; apply retention.

    The caller commits, then removes `report.files` from their stores.
    """
    now = now or dt.datetime.now(dt.UTC)
    report = ExpiryReport()
    report.retention = apply_retention(session, now)
    report.artifacts = expired_artifacts(session, now)
    if report.artifacts:
        # An active item may not lose its artifact: the item goes first.
        session.execute(
            update(CollectionItem)
            .where(
                CollectionItem.artifact_id.in_(report.artifacts),
                CollectionItem.removed_at.is_(None),
            )
            .values(removed_at=now)
        )
        session.execute(delete(Artifact).where(Artifact.id.in_(report.artifacts)))
    report.files = _delete_unused_files(session)
    token_result = session.execute(
        delete(Token).where(
            Token.expire_at.is_not(None),
            Token.expire_at < now,
            Token.user_id.is_not(None),
        )
    )
    report.tokens = int(getattr(token_result, "rowcount", 0) or 0)
    session.flush()
    return report


def _delete_unused_files(session: Session) -> list[StoredFile]:
    unused = select(File.id).where(~exists().where(FileInArtifact.file_id == File.id))
    rows = session.execute(
        select(FileStore.backend, FileStore.configuration, File.sha256, File.size)
        .join(FileInStore, FileInStore.store_id == FileStore.id)
        .join(File, File.id == FileInStore.file_id)
        .where(File.id.in_(unused))
    ).all()
    session.execute(delete(FileInStore).where(FileInStore.file_id.in_(unused)))
    session.execute(delete(File).where(File.id.in_(unused)))
    return [
        StoredFile(configuration["base_directory"], sha.hex(), size)
        for backend, configuration, sha, size in rows
        if backend == FileStoreBackend.LOCAL
    ]


def remove_stored_files(files: list[StoredFile]) -> int:
    """Remove the files from their stores (after the commit); how many went."""
    from debusine.storage.local import LocalStore

    return sum(
        LocalStore(stored.base_directory).remove(stored.sha256, stored.size)
        for stored in files
    )


__all__ = [
    "ExpiryReport",
    "StoredFile",
    "delete_expired",
    "expired_artifacts",
    "remove_stored_files",
]
