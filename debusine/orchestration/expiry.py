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

Partial uploads with no activity for `stale_upload_age` (default 24 h,
setting `debusine.orchestration.stale_upload_hours`) are abandoned: their
FileUpload rows go (as do those of deleted artifacts), and after the commit
`remove_after_commit` removes their temporary files and any other file left
in a local store's `tmp/` untouched since then (an upload whose transaction
rolled back). An upload resumed meanwhile finds its data gone and is told
to start the file again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
    FileUpload,
    RetainsArtifacts,
    Token,
    WorkRequest,
    WorkRequestStatus,
    Workspace,
)

ZERO = literal(dt.timedelta(0), Interval())
DEFAULT_STALE_UPLOAD_AGE = dt.timedelta(hours=24)
STALE_UPLOAD_HOURS_SETTING = "debusine.orchestration.stale_upload_hours"


def stale_upload_age(settings: Mapping[str, Any]) -> dt.timedelta:
    """The inactivity after which a partial upload is abandoned."""
    value = settings.get(STALE_UPLOAD_HOURS_SETTING)
    if value is None or str(value).strip() == "":
        return DEFAULT_STALE_UPLOAD_AGE
    try:
        hours = float(value)
    except ValueError:
        hours = 0
    if hours <= 0:
        raise ValueError(
            f"{STALE_UPLOAD_HOURS_SETTING} must be a positive number of hours, "
            f"not {value!r}"
        )
    return dt.timedelta(hours=hours)


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
    # Temporary files of abandoned partial uploads, removed after commit.
    uploads: list[str] = field(default_factory=list)
    # Local stores whose tmp/ is swept of files untouched since `upload_cutoff`.
    store_directories: list[str] = field(default_factory=list)
    upload_cutoff: dt.datetime | None = None


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


def delete_expired(
    session: Session,
    now: dt.datetime | None = None,
    stale_upload_age: dt.timedelta = DEFAULT_STALE_UPLOAD_AGE,
) -> ExpiryReport:
    """Delete expired artifacts, unused files, expired tokens and stale uploads.

    Applies retention too. The caller commits, then calls
    `remove_after_commit(report)`.
    """
    now = now or dt.datetime.now(dt.UTC)
    report = ExpiryReport()
    report.retention = apply_retention(session, now)
    report.artifacts = expired_artifacts(session, now)
    report.upload_cutoff = now - stale_upload_age
    report.uploads = delete_stale_uploads(session, report.upload_cutoff)
    if report.artifacts:
        # Their FileUpload rows go with them (cascade): keep the paths.
        report.uploads += session.scalars(
            select(FileUpload.path)
            .join(FileInArtifact, FileInArtifact.id == FileUpload.file_in_artifact_id)
            .where(FileInArtifact.artifact_id.in_(report.artifacts))
        ).all()
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
    report.store_directories = [
        configuration["base_directory"]
        for backend, configuration in session.execute(
            select(FileStore.backend, FileStore.configuration)
        )
        if backend == FileStoreBackend.LOCAL
    ]
    session.flush()
    return report


def delete_stale_uploads(session: Session, cutoff: dt.datetime) -> list[str]:
    """Delete the FileUpload rows idle since before `cutoff`; their paths.

    An upload whose file row is locked (a chunk arriving right now) is
    skipped: it is not idle.
    """
    stale = (
        select(FileUpload.id)
        .join(FileInArtifact, FileInArtifact.id == FileUpload.file_in_artifact_id)
        .where(FileUpload.last_activity_at < cutoff)
        .with_for_update(of=FileInArtifact, skip_locked=True)
    )
    ids = list(session.scalars(stale))
    if not ids:
        return []
    return list(
        session.scalars(
            delete(FileUpload).where(FileUpload.id.in_(ids)).returning(FileUpload.path)
        )
    )


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


def remove_after_commit(report: ExpiryReport) -> tuple[int, int]:
    """Remove what `report` says has gone: (stored files, temporary files)."""
    from debusine.storage.local import LocalStore

    stored = remove_stored_files(report.files)
    temporary = 0
    for path in report.uploads:
        try:
            Path(path).unlink()
        except FileNotFoundError:
            continue
        temporary += 1
    if report.upload_cutoff is not None:
        cutoff = report.upload_cutoff.timestamp()
        for base in report.store_directories:
            temporary += LocalStore(base).remove_stale_temporary_files(cutoff)
    return stored, temporary


__all__ = [
    "DEFAULT_STALE_UPLOAD_AGE",
    "ExpiryReport",
    "StoredFile",
    "delete_expired",
    "delete_stale_uploads",
    "expired_artifacts",
    "remove_after_commit",
    "remove_stored_files",
    "stale_upload_age",
]
