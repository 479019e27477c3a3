"""`generatesuiteindexes`: a suite's Packages, Sources and Release files.

The indexes describe the suite's items as of `generate_at` (created at or
before it, not removed by then). Each file is stored in the scope's file
store and added to the suite as a `debian:repository-index` artifact,
item `index:PATH` (PATH relative to `dists/SUITE/`), replacing the
previous one (kept as history for snapshots). Release relates to the
indexes it lists. Stanzas are written with python-debian's deb822.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import lzma
import posixpath
from collections.abc import Mapping
from email.utils import format_datetime
from typing import Any

from debian import deb822
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from debusine.artifacts.categories import ArtifactRelationType
from debusine.collections.base import get_manager
from debusine.collections.debian_suite import BINARY, INDEX, SOURCE, pool_directory
from debusine.models import (
    Artifact,
    ArtifactRelation,
    Collection,
    CollectionItem,
    FileInArtifact,
    WorkRequest,
)
from debusine.storage import default_store, get_or_create_file, record_in_store

# Fields a source's Sources stanza never takes from the .dsc.
_DSC_ONLY = ("Source", "Format", "Files", "Checksums-Sha1", "Checksums-Sha256")


def _items_at(
    session: Session, suite: Collection, when: dt.datetime
) -> list[CollectionItem]:
    return list(
        session.scalars(
            select(CollectionItem)
            .where(CollectionItem.parent_collection_id == suite.id)
            .where(CollectionItem.category.in_([SOURCE, BINARY]))
            .where(CollectionItem.created_at <= when)
            .where(
                or_(
                    CollectionItem.removed_at.is_(None),
                    CollectionItem.removed_at > when,
                )
            )
            .order_by(CollectionItem.name)
        )
    )


def _files(session: Session, artifact_id: int) -> list[FileInArtifact]:
    return list(
        session.scalars(
            select(FileInArtifact)
            .where(FileInArtifact.artifact_id == artifact_id)
            .order_by(FileInArtifact.path)
        )
    )


def _binary_stanza(session: Session, item: CollectionItem) -> deb822.Packages:
    assert item.artifact is not None
    fields = dict(item.artifact.data.get("deb_fields") or {})
    debs = _files(session, item.artifact.id)
    if len(debs) != 1:
        raise ValueError(f"binary package item {item.name} has {len(debs)} files")
    deb = debs[0]
    directory = pool_directory(
        item.data.get("component", "main"), str(item.data["srcpkg_name"])
    )
    stanza = deb822.Packages()
    for key, value in fields.items():
        stanza[key] = str(value)
    stanza["Section"] = str(item.data.get("section") or fields.get("Section") or "misc")
    stanza["Priority"] = str(
        item.data.get("priority") or fields.get("Priority") or "optional"
    )
    stanza["Filename"] = f"{directory}/{posixpath.basename(deb.path)}"
    stanza["Size"] = str(deb.file.size)
    stanza["SHA256"] = deb.file.sha256.hex()
    return stanza


def _source_stanza(session: Session, item: CollectionItem) -> deb822.Sources:
    assert item.artifact is not None
    fields = dict(item.artifact.data.get("dsc_fields") or {})
    stanza = deb822.Sources()
    stanza["Package"] = item.data["package"]
    for key, value in fields.items():
        if key not in _DSC_ONLY:
            stanza[key] = str(value)
    if "Format" in fields:
        stanza["Format"] = str(fields["Format"])
    stanza["Directory"] = pool_directory(
        item.data.get("component", "main"), item.data["package"]
    )
    stanza["Section"] = item.data.get("section", "misc")
    stanza["Priority"] = "source"
    # deb822 writes multivalued fields from lists of dicts.
    stanza["Checksums-Sha256"] = [  # type: ignore[assignment]
        {
            "sha256": f.file.sha256.hex(),
            "size": str(f.file.size),
            "name": posixpath.basename(f.path),
        }
        for f in _files(session, item.artifact.id)
    ]
    return stanza


def _render(stanzas: list[Any]) -> bytes:
    return "\n".join(str(stanza) for stanza in stanzas).encode()


def build_indexes(
    session: Session, suite: Collection, when: dt.datetime
) -> dict[str, bytes]:
    """Each index file's path (under dists/SUITE/) and content, Release last."""
    data = suite.data or {}
    items = _items_at(session, suite, when)
    components = list(data.get("components") or ["main"])
    architectures = list(data.get("architectures") or [])
    for item in items:
        component = item.data.get("component", "main")
        if component not in components:
            components.append(component)
        arch = item.data.get("architecture")
        if item.category == BINARY and arch != "all" and arch not in architectures:
            architectures.append(arch)
    files: dict[str, bytes] = {}
    for component in components:
        in_component = [
            i for i in items if i.data.get("component", "main") == component
        ]
        sources = [
            _source_stanza(session, i) for i in in_component if i.category == SOURCE
        ]
        _add_compressed(files, f"{component}/source/Sources", _render(sources))
        for arch in architectures:
            binaries = [
                _binary_stanza(session, i)
                for i in in_component
                if i.category == BINARY and i.data.get("architecture") in (arch, "all")
            ]
            _add_compressed(
                files, f"{component}/binary-{arch}/Packages", _render(binaries)
            )
    files["Release"] = _release(suite, when, components, architectures, files)
    return files


def _add_compressed(files: dict[str, bytes], path: str, content: bytes) -> None:
    files[path] = content
    files[f"{path}.xz"] = lzma.compress(content)


def _release(
    suite: Collection,
    when: dt.datetime,
    components: list[str],
    architectures: list[str],
    files: Mapping[str, bytes],
) -> bytes:
    release = deb822.Release()
    for key, value in (suite.data.get("release_fields") or {}).items():
        release[key] = str(value)
    release.setdefault("Suite", suite.name)
    release.setdefault("Codename", suite.name)
    release["Date"] = format_datetime(when.astimezone(dt.UTC), usegmt=True)
    release["Architectures"] = " ".join(sorted(architectures))
    release["Components"] = " ".join(components)
    release["SHA256"] = [  # type: ignore[assignment]
        {
            "sha256": hashlib.sha256(content).hexdigest(),
            "size": str(len(content)),
            "name": path,
        }
        for path, content in sorted(files.items())
    ]
    return release.dump().encode()


def generate_suite_indexes(
    session: Session,
    suite: Collection,
    when: dt.datetime,
    *,
    settings: Mapping[str, Any],
    work_request: WorkRequest,
) -> list[str]:
    """Store and add the suite's indexes; return their paths."""
    if suite.category != "debian:suite":
        raise ValueError(f"{suite.name}@{suite.category} is not a debian:suite")
    files = build_indexes(session, suite, when)
    file_store, store = default_store(
        session, dict(settings), work_request.workspace.scope
    )
    manager = get_manager(session, suite)
    creator: dict[str, Any] = (
        {"workflow": work_request.parent}
        if work_request.parent is not None
        else {"user": work_request.created_by}
    )
    artifacts: dict[str, Artifact] = {}
    for path, content in files.items():
        sha256 = hashlib.sha256(content)
        store.add_stream(io.BytesIO(content), sha256.hexdigest(), len(content))
        file = get_or_create_file(session, sha256.digest(), len(content))
        record_in_store(session, file_store, file)
        artifact = Artifact(
            category=INDEX,
            workspace_id=suite.workspace_id,
            data={"path": path},
            created_by_work_request_id=work_request.id,
        )
        session.add(artifact)
        session.flush()
        session.add(
            FileInArtifact(
                artifact_id=artifact.id,
                path=posixpath.basename(path),
                file_id=file.id,
                complete=True,
            )
        )
        artifacts[path] = artifact
        manager.add_artifact(
            artifact, variables={"path": path}, replace=True, **creator
        )
    release = artifacts["Release"]
    for path, artifact in artifacts.items():
        if path != "Release":
            session.add(
                ArtifactRelation(
                    artifact_id=release.id,
                    target_id=artifact.id,
                    type=ArtifactRelationType.RELATES_TO,
                )
            )
    session.flush()
    return sorted(files)
