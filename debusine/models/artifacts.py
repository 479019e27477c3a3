"""Artifacts: a category, JSON data and a set of files by path."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import (
    CheckConstraint,
    Enum,
    ForeignKey,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from debusine.artifacts.categories import ArtifactRelationType
from debusine.artifacts.paths import ARTIFACT_PATH_MAX_LENGTH
from debusine.db.base import Base, JSONDict, created_at_column, enum_values

if TYPE_CHECKING:
    from debusine.models.auth import User
    from debusine.models.files import File
    from debusine.models.workspaces import Workspace


class Artifact(Base):
    __tablename__ = "artifact"

    id: Mapped[int] = mapped_column(primary_key=True)
    category: Mapped[str] = mapped_column(String(255), index=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspace.id", ondelete="CASCADE"), index=True
    )
    data: Mapped[JSONDict] = mapped_column(default=dict, server_default="{}")
    created_at: Mapped[dt.datetime] = created_at_column()
    # NULL: use the workspace default; zero: never expire.
    expiration_delay: Mapped[dt.timedelta | None]
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    created_by_work_request_id: Mapped[int | None] = mapped_column(
        ForeignKey("work_request.id", ondelete="SET NULL"), index=True
    )
    # Where a copied artifact came from.
    original_artifact_id: Mapped[int | None] = mapped_column(
        ForeignKey("artifact.id", ondelete="SET NULL")
    )

    workspace: Mapped[Workspace] = relationship()
    created_by: Mapped[User | None] = relationship()
    files: Mapped[list[FileInArtifact]] = relationship(
        back_populates="artifact",
        cascade="all, delete-orphan",
        order_by="FileInArtifact.path",
    )


class FileInArtifact(Base):
    __tablename__ = "file_in_artifact"
    __table_args__ = (
        UniqueConstraint("artifact_id", "path"),
        # The full path rules (no `..`, no empty segment) live in the API
        # layer; these are the ones no client may ever get past.
        CheckConstraint(
            f"length(path) BETWEEN 1 AND {ARTIFACT_PATH_MAX_LENGTH}", name="path_length"
        ),
        CheckConstraint("left(path, 1) <> '/'", name="path_relative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    artifact_id: Mapped[int] = mapped_column(
        ForeignKey("artifact.id", ondelete="CASCADE")
    )
    path: Mapped[str] = mapped_column(String(ARTIFACT_PATH_MAX_LENGTH))
    file_id: Mapped[int] = mapped_column(
        ForeignKey("file.id", ondelete="RESTRICT"), index=True
    )
    complete: Mapped[bool] = mapped_column(default=False, server_default="false")
    content_type: Mapped[str | None] = mapped_column(String(255))

    artifact: Mapped[Artifact] = relationship(back_populates="files")
    file: Mapped[File] = relationship()


class FileUpload(Base):
    """An upload in progress for one file of an artifact."""

    __tablename__ = "file_upload"

    id: Mapped[int] = mapped_column(primary_key=True)
    file_in_artifact_id: Mapped[int] = mapped_column(
        ForeignKey("file_in_artifact.id", ondelete="CASCADE"), unique=True
    )
    path: Mapped[str] = mapped_column(String(1024))
    last_activity_at: Mapped[dt.datetime] = created_at_column()

    file_in_artifact: Mapped[FileInArtifact] = relationship()


class ArtifactRelation(Base):
    __tablename__ = "artifact_relation"
    __table_args__ = (
        UniqueConstraint("artifact_id", "target_id", "type"),
        CheckConstraint("artifact_id <> target_id", name="not_self"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    artifact_id: Mapped[int] = mapped_column(
        ForeignKey("artifact.id", ondelete="CASCADE")
    )
    target_id: Mapped[int] = mapped_column(
        ForeignKey("artifact.id", ondelete="CASCADE"), index=True
    )
    type: Mapped[ArtifactRelationType] = mapped_column(
        Enum(
            ArtifactRelationType,
            name="artifact_relation_type",
            native_enum=False,
            length=32,
            values_callable=enum_values,
            create_constraint=True,
        )
    )

    artifact: Mapped[Artifact] = relationship(foreign_keys=[artifact_id])
    target: Mapped[Artifact] = relationship(foreign_keys=[target_id])
