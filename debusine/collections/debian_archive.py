"""`debian:archive` (singleton): the suites of a workspace, sharing one pool."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from debusine.collections.base import (
    CollectionManager,
    ItemAdditionError,
    active_items,
    register,
)
from debusine.collections.debian_suite import (
    BINARY,
    INDEX,
    POOL_FILE,
    SOURCE,
    _split,
)
from debusine.models import (
    Artifact,
    Collection,
    CollectionItem,
    CollectionItemMatchConstraint,
)


@register
class DebianArchiveManager(CollectionManager):
    COLLECTION_CATEGORY = "debian:archive"
    VALID_BARE_CATEGORIES = frozenset()
    VALID_ARTIFACT_CATEGORIES = frozenset({INDEX})
    VALID_COLLECTION_CATEGORIES = frozenset({"debian:suite"})
    LOOKUP_PREFIXES = ("source-version", "binary-version", "index")

    def artifact_item(
        self, artifact: Artifact, variables: Mapping[str, Any], name: str | None
    ) -> tuple[str, dict[str, Any]]:
        path = variables.get("path")
        if not path:
            raise ItemAdditionError(
                f"{self._label}: a repository index needs the variable 'path'"
            )
        return f"index:{path}", {"path": path}

    def collection_item(
        self, collection: Collection, variables: Mapping[str, Any], name: str | None
    ) -> tuple[str, dict[str, Any]]:
        if collection.workspace_id != self.collection.workspace_id:
            raise ItemAdditionError(
                f"{self._label}: suite {collection.name} belongs to another workspace"
            )
        return collection.name, {}

    def _suite_pool(self, suite_id: int) -> dict[str, str]:
        rows = self.session.execute(
            select(
                CollectionItemMatchConstraint.key, CollectionItemMatchConstraint.value
            ).where(
                CollectionItemMatchConstraint.collection_id == suite_id,
                CollectionItemMatchConstraint.constraint_name == POOL_FILE,
            )
        )
        return {row.key: row.value for row in rows}

    def before_add(
        self,
        name: str,
        category: str,
        data: dict[str, Any],
        existing: CollectionItem | None,
        artifact: Artifact | None,
    ) -> None:
        if category == "debian:suite":
            suite = self.session.scalar(
                select(Collection).where(
                    Collection.workspace_id == self.collection.workspace_id,
                    Collection.category == "debian:suite",
                    Collection.name == name,
                )
            )
            if suite is not None:
                self.check_match_constraints(POOL_FILE, self._suite_pool(suite.id))

    def after_add(self, item: CollectionItem, artifact: Artifact | None) -> None:
        if item.collection_id is not None:
            self.record_match_constraints(
                item, POOL_FILE, self._suite_pool(item.collection_id)
            )

    def _in_suites(self, name: str, category: str) -> CollectionItem | None:
        suites = select(CollectionItem.collection_id).where(
            CollectionItem.parent_collection_id == self.collection.id,
            CollectionItem.child_type == "c",
            CollectionItem.removed_at.is_(None),
        )
        return self.session.scalar(
            select(CollectionItem)
            .where(
                CollectionItem.parent_collection_id.in_(suites),
                CollectionItem.removed_at.is_(None),
                CollectionItem.name == name,
                CollectionItem.category == category,
            )
            .order_by(CollectionItem.created_at.desc(), CollectionItem.id.desc())
            .limit(1)
        )

    def do_lookup(self, prefix: str, value: str) -> CollectionItem | None:
        if prefix == "source-version":
            package, version = _split(value, 2, "source-version:NAME_VERSION")
            return self._in_suites(f"{package}_{version}", SOURCE)
        if prefix == "binary-version":
            package, version, arch = _split(
                value, 3, "binary-version:NAME_VERSION_ARCH"
            )
            return self._in_suites(
                f"{package}_{version}_{arch}", BINARY
            ) or self._in_suites(f"{package}_{version}_all", BINARY)
        if prefix == "index":
            return self.session.scalar(
                active_items(self.collection.id).where(
                    CollectionItem.name == f"index:{value}"
                )
            )
        return super().do_lookup(prefix, value)
