"""Helpers for the collection tests: package artifacts with files."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from debusine import models
from debusine.collections import get_manager
from debusine.collections.base import CollectionManager
from tests import factories


def make_file(session: Session, content: str) -> models.File:
    digest = hashlib.sha256(content.encode()).digest()
    existing = session.scalar(
        select(models.File).where(
            models.File.sha256 == digest, models.File.size == len(content)
        )
    )
    if existing is not None:
        return existing
    return factories.FileFactory(sha256=digest, size=len(content))


def add_files(
    session: Session, artifact: models.Artifact, files: dict[str, str]
) -> models.Artifact:
    for path, content in files.items():
        session.add(
            models.FileInArtifact(
                artifact=artifact,
                path=path,
                file=make_file(session, content),
                complete=True,
            )
        )
    session.flush()
    return artifact


def source_package(
    session: Session,
    workspace: models.Workspace,
    name: str,
    version: str,
    files: dict[str, str] | None = None,
) -> models.Artifact:
    artifact = factories.ArtifactFactory(
        workspace=workspace,
        category="debian:source-package",
        data={"name": name, "version": version, "type": "dpkg", "dsc_fields": {}},
    )
    upstream = version.split("-")[0]
    default = {
        f"{name}_{version}.dsc": f"dsc {name} {version}",
        f"{name}_{upstream}.orig.tar.gz": f"orig {name} {upstream}",
    }
    return add_files(session, artifact, default if files is None else files)


def binary_package(
    session: Session,
    workspace: models.Workspace,
    name: str,
    version: str,
    arch: str,
    source: str | None = None,
    content: str | None = None,
) -> models.Artifact:
    artifact = factories.ArtifactFactory(
        workspace=workspace,
        category="debian:binary-package",
        data={
            "srcpkg_name": source or name,
            "srcpkg_version": version,
            "deb_fields": {"Package": name, "Version": version, "Architecture": arch},
            "deb_control_files": [],
        },
    )
    deb = f"{name}_{version}_{arch}.deb"
    return add_files(session, artifact, {deb: content or f"deb {deb}"})


def collection(
    workspace: models.Workspace, name: str, category: str, **kwargs: Any
) -> models.Collection:
    return factories.CollectionFactory(
        workspace=workspace, name=name, category=category, **kwargs
    )


def manager(session: Session, coll: models.Collection) -> CollectionManager:
    return get_manager(session, coll)
