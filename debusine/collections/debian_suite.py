"""`debian:suite`: source and binary packages of one suite of an archive."""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from typing import Any

from debian.debian_support import Version
from sqlalchemy import select

from debusine.collections.base import (
    CollectionManager,
    InvalidLookupSegment,
    ItemAdditionError,
    active_items,
    register,
)
from debusine.models import Artifact, Collection, CollectionItem, FileInArtifact

SOURCE = "debian:source-package"
BINARY = "debian:binary-package"
INDEX = "debian:repository-index"
POOL_FILE = "pool-file"


def pool_prefix(source: str) -> str:
    return source[:4] if source.startswith("lib") and len(source) > 3 else source[:1]


def pool_directory(component: str, source: str) -> str:
    return f"pool/{component}/{pool_prefix(source)}/{source}"


def highest_version(items: list[CollectionItem]) -> CollectionItem | None:
    best: CollectionItem | None = None
    for item in items:
        if best is None or Version(item.data["version"]) > Version(
            best.data["version"]
        ):
            best = item
    return best


def _split(value: str, parts: int, form: str) -> list[str]:
    pieces = value.rsplit("_", parts - 1)
    if len(pieces) != parts or not all(pieces):
        raise InvalidLookupSegment(f"expected {form}, got {value!r}")
    return pieces


def artifact_package_data(artifact: Artifact) -> dict[str, Any]:
    """Package, version (and architecture, source) from a package artifact."""
    data = artifact.data
    try:
        if artifact.category == SOURCE:
            return {"package": data["name"], "version": data["version"]}
        fields = data["deb_fields"]
        return {
            "srcpkg_name": data.get("srcpkg_name") or fields["Package"],
            "srcpkg_version": data.get("srcpkg_version") or fields["Version"],
            "package": fields["Package"],
            "version": fields["Version"],
            "architecture": fields["Architecture"],
        }
    except (KeyError, TypeError) as exc:
        raise ItemAdditionError(
            f"artifact {artifact.id} ({artifact.category}) lacks {exc} in its data"
        ) from None


@register
class DebianSuiteManager(CollectionManager):
    COLLECTION_CATEGORY = "debian:suite"
    VALID_BARE_CATEGORIES = frozenset()
    VALID_ARTIFACT_CATEGORIES = frozenset({SOURCE, BINARY, INDEX})
    VALID_COLLECTION_CATEGORIES = frozenset()
    LOOKUP_PREFIXES = ("source", "source-version", "binary", "binary-version", "index")

    def artifact_item(
        self, artifact: Artifact, variables: Mapping[str, Any], name: str | None
    ) -> tuple[str, dict[str, Any]]:
        if artifact.category == INDEX:
            path = variables.get("path")
            if not path:
                raise ItemAdditionError(
                    f"{self._label}: a repository index needs the variable 'path'"
                )
            return f"index:{path}", {"path": path}
        data = artifact_package_data(artifact)
        data["component"] = variables.get("component", "main")
        data["section"] = variables.get("section", "misc")
        if artifact.category == SOURCE:
            return f"{data['package']}_{data['version']}", data
        data["priority"] = variables.get("priority", "optional")
        return f"{data['package']}_{data['version']}_{data['architecture']}", data

    def _archive_ids(self) -> list[int]:
        """The archives this suite belongs to (they share its pool)."""
        return list(
            self.session.scalars(
                select(CollectionItem.parent_collection_id).where(
                    CollectionItem.collection_id == self.collection.id,
                    CollectionItem.parent_category == "debian:archive",
                    CollectionItem.removed_at.is_(None),
                )
            )
        )

    def _may_reuse_versions(self, archive_ids: list[int]) -> bool:
        if self.collection.data.get("may_reuse_versions", False):
            return True
        return any(
            (self.session.get(Collection, archive_id) or self.collection).data.get(
                "may_reuse_versions", False
            )
            for archive_id in archive_ids
        )

    def _pool_paths(self, data: dict[str, Any], artifact: Artifact) -> dict[str, str]:
        """Each pool path the artifact's files take, with its sha256."""
        source = data.get("srcpkg_name", data.get("package"))
        directory = pool_directory(data.get("component", "main"), str(source))
        rows = self.session.scalars(
            select(FileInArtifact).where(FileInArtifact.artifact_id == artifact.id)
        )
        return {
            f"{directory}/{posixpath.basename(fia.path)}": fia.file.sha256.hex()
            for fia in rows
        }

    def before_add(
        self,
        name: str,
        category: str,
        data: dict[str, Any],
        existing: CollectionItem | None,
        artifact: Artifact | None,
    ) -> None:
        self._pending: tuple[list[int], dict[str, str]] | None = None
        if category not in (SOURCE, BINARY) or artifact is None:
            return
        collection_ids = [self.collection.id, *self._archive_ids()]
        pool = self._pool_paths(data, artifact)
        self.check_match_constraints(POOL_FILE, pool, collection_ids)
        if not self._may_reuse_versions(collection_ids[1:]):
            self._refuse_reuse(name)
        self._pending = (collection_ids, pool)

    def after_add(self, item: CollectionItem, artifact: Artifact | None) -> None:
        if self._pending is not None:
            collection_ids, pool = self._pending
            self.record_match_constraints(item, POOL_FILE, pool, collection_ids)
            self._pending = None

    def _refuse_reuse(self, name: str) -> None:
        used = self.session.scalar(
            select(CollectionItem.id)
            .where(
                CollectionItem.parent_collection_id == self.collection.id,
                CollectionItem.name == name,
            )
            .limit(1)
        )
        if used is not None:
            raise ItemAdditionError(
                f"{self._label}: {name} was already in this suite and versions"
                " may not be reused (may_reuse_versions is not set)"
            )

    # --- lookups -----------------------------------------------------------

    def _by_package(
        self, category: str, package: str, **data: Any
    ) -> list[CollectionItem]:
        query = active_items(self.collection.id).where(
            CollectionItem.category == category,
            CollectionItem.data["package"].astext == package,
        )
        for key, value in data.items():
            if isinstance(value, tuple):
                query = query.where(CollectionItem.data[key].astext.in_(value))
            else:
                query = query.where(CollectionItem.data[key].astext == value)
        return list(self.session.scalars(query))

    def _named(self, name: str, category: str) -> CollectionItem | None:
        item = self.lookup_name(name)
        return item if item is not None and item.category == category else None

    def do_lookup(self, prefix: str, value: str) -> CollectionItem | None:
        if prefix == "source":
            return highest_version(self._by_package(SOURCE, value))
        if prefix == "source-version":
            package, version = _split(value, 2, "source-version:NAME_VERSION")
            return self._named(f"{package}_{version}", SOURCE)
        if prefix == "binary":
            package, arch = _split(value, 2, "binary:NAME_ARCH")
            return highest_version(
                self._by_package(BINARY, package, architecture=(arch, "all"))
            )
        if prefix == "binary-version":
            package, version, arch = _split(
                value, 3, "binary-version:NAME_VERSION_ARCH"
            )
            return self._named(f"{package}_{version}_{arch}", BINARY) or (
                self._named(f"{package}_{version}_all", BINARY)
            )
        if prefix == "index":
            return self._named(f"index:{value}", INDEX)
        return super().do_lookup(prefix, value)
