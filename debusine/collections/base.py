"""The collection manager interface and the registry of managers by category.

A manager holds one collection's rules: which items it accepts, how they
are named, what per-item data they carry, and what its lookup segments
(`source:hello`, `match:codename=trixie`, ...) mean. Adding an item whose
name is taken either fails or, with `replace=True`, marks the old item
removed and adds the new one: removed items stay as history until
retention (`debusine.collections.retention`) deletes them.
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from debusine.db.base import unsaved_row_object
from debusine.db.ids import next_id
from debusine.models import (
    Artifact,
    Collection,
    CollectionItem,
    CollectionItemMatchConstraint,
    CollectionItemType,
    User,
    WorkRequest,
)
from debusine.models.validation import DomainError

# A list in `session.info` while a workflow orchestration lays out children
# (see debusine.workflows.orchestration_run): a manager that needs no id at
# once (FLUSH_ON_ADD false) builds each new item complete, id included, and
# appends it there instead of adding it to the session; the orchestration
# inserts them all in one batch before the session's next statement.
DEFERRED_ITEMS_KEY = "debusine.deferred_collection_items"


class ItemAdditionError(DomainError):
    """The collection refuses this item."""


class ItemRemovalError(DomainError):
    """The collection refuses to remove this item."""


class InvalidLookupSegment(DomainError):
    """A lookup segment this collection does not understand."""


ANY = None  # a valid-categories value meaning "any category"

_MANAGERS: dict[str, type[CollectionManager]] = {}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def register(cls: type[CollectionManager]) -> type[CollectionManager]:
    _MANAGERS[cls.COLLECTION_CATEGORY] = cls
    return cls


def manager_class(category: str) -> type[CollectionManager]:
    _load_all()
    return _MANAGERS.get(category, CollectionManager)


def get_manager(session: Session, collection: Collection) -> CollectionManager:
    """The manager for `collection`'s category (a generic one if none)."""
    record_items_read(session, collection)
    return manager_class(collection.category)(session, collection)


# A set in `session.info` while a workflow populates (see
# debusine.workflows.populate_memo): the ids of the collections whose items
# it reads. Item reads go through a manager (lookups included), or call
# record_items_read themselves.
ITEMS_READ_KEY = "debusine.collection_items_read"


def record_items_read(session: Session, collection: Collection) -> None:
    """Note that the code running reads `collection`'s items."""
    read = session.info.get(ITEMS_READ_KEY)
    if read is not None and collection.id is not None:
        read.add(collection.id)


def registered_categories() -> list[str]:
    _load_all()
    return sorted(_MANAGERS)


_CATEGORY_MODULES = (
    "debian_archive",
    "debian_environments",
    "debian_package_build_logs",
    "debian_qa_results",
    "debian_suite",
    "debian_suite_lintian",
    "task_configuration",
    "task_history",
    "workflow_internal",
)


@functools.cache
def _load_all() -> None:
    # The category modules register themselves when imported (once).
    for module in _CATEGORY_MODULES:
        importlib.import_module(f"debusine.collections.{module}")


def active_items(collection_id: int) -> Select[tuple[CollectionItem]]:
    # Lookups return the artifact too: load it in the same query.
    return (
        select(CollectionItem)
        .where(
            CollectionItem.parent_collection_id == collection_id,
            CollectionItem.removed_at.is_(None),
        )
        .options(joinedload(CollectionItem.artifact))
    )


class CollectionManager:
    """Rules shared by every category; subclasses narrow them.

    `VALID_*_CATEGORIES` list the categories of items each kind of child may
    have; `ANY` allows any, an empty set none.
    """

    COLLECTION_CATEGORY: ClassVar[str] = ""
    VALID_BARE_CATEGORIES: ClassVar[frozenset[str] | None] = ANY
    VALID_ARTIFACT_CATEGORIES: ClassVar[frozenset[str] | None] = ANY
    VALID_COLLECTION_CATEGORIES: ClassVar[frozenset[str] | None] = ANY
    # Extra lookup segment prefixes (besides `name:`) the manager understands.
    LOOKUP_PREFIXES: ClassVar[tuple[str, ...]] = ()
    # Whether a new item is flushed at once (its id known to `after_add`);
    # a category whose rules need no id may leave it to the next flush, so
    # many additions are inserted in one batch.
    FLUSH_ON_ADD: ClassVar[bool] = True

    def __init__(self, session: Session, collection: Collection) -> None:
        self.session = session
        self.collection = collection

    # --- naming and data (overridden per category) -------------------------

    def artifact_item(
        self, artifact: Artifact, variables: Mapping[str, Any], name: str | None
    ) -> tuple[str, dict[str, Any]]:
        """The item name and per-item data for `artifact`."""
        if not name:
            raise ItemAdditionError(
                f"{self._label}: adding an artifact needs an explicit item name"
            )
        return name, dict(variables)

    def bare_item(
        self, category: str, data: Mapping[str, Any], name: str | None
    ) -> tuple[str, dict[str, Any]]:
        if not name:
            raise ItemAdditionError(
                f"{self._label}: adding bare data needs an explicit item name"
            )
        return name, dict(data)

    def collection_item(
        self, collection: Collection, variables: Mapping[str, Any], name: str | None
    ) -> tuple[str, dict[str, Any]]:
        return name or collection.name, dict(variables)

    # --- adding and removing ----------------------------------------------

    @property
    def _label(self) -> str:
        return f"{self.collection.name}@{self.collection.category}"

    def _check_category(
        self, kind: str, category: str, valid: frozenset[str] | None
    ) -> None:
        if valid is not None and category not in valid:
            allowed = ", ".join(sorted(valid)) or "none"
            raise ItemAdditionError(
                f"{self._label} does not accept {kind} of category {category}"
                f" (allowed: {allowed})"
            )

    def add_artifact(
        self,
        artifact: Artifact,
        *,
        user: User | None = None,
        workflow: WorkRequest | None = None,
        variables: Mapping[str, Any] | None = None,
        name: str | None = None,
        replace: bool = False,
    ) -> CollectionItem:
        self._check_category(
            "artifacts", artifact.category, self.VALID_ARTIFACT_CATEGORIES
        )
        item_name, data = self.artifact_item(artifact, variables or {}, name)
        return self._add(
            CollectionItemType.ARTIFACT,
            artifact.category,
            item_name,
            data,
            artifact=artifact,
            user=user,
            workflow=workflow,
            replace=replace,
        )

    def add_bare_data(
        self,
        category: str,
        *,
        data: Mapping[str, Any] | None = None,
        user: User | None = None,
        workflow: WorkRequest | None = None,
        name: str | None = None,
        replace: bool = False,
    ) -> CollectionItem:
        self._check_category("bare items", category, self.VALID_BARE_CATEGORIES)
        item_name, item_data = self.bare_item(category, data or {}, name)
        return self._add(
            CollectionItemType.BARE,
            category,
            item_name,
            item_data,
            user=user,
            workflow=workflow,
            replace=replace,
        )

    def add_collection(
        self,
        collection: Collection,
        *,
        user: User | None = None,
        workflow: WorkRequest | None = None,
        variables: Mapping[str, Any] | None = None,
        name: str | None = None,
        replace: bool = False,
    ) -> CollectionItem:
        self._check_category(
            "collections", collection.category, self.VALID_COLLECTION_CATEGORIES
        )
        if collection.id == self.collection.id:
            raise ItemAdditionError(f"{self._label} cannot contain itself")
        item_name, data = self.collection_item(collection, variables or {}, name)
        return self._add(
            CollectionItemType.COLLECTION,
            collection.category,
            item_name,
            data,
            collection=collection,
            user=user,
            workflow=workflow,
            replace=replace,
        )

    def before_add(
        self,
        name: str,
        category: str,
        data: dict[str, Any],
        existing: CollectionItem | None,
        artifact: Artifact | None,
    ) -> None:
        """A hook for category rules that look at the collection's history."""

    def after_add(self, item: CollectionItem, artifact: Artifact | None) -> None:
        """A hook run once the item has an id (match constraints, pruning)."""

    def _add(
        self,
        child_type: CollectionItemType,
        category: str,
        name: str,
        data: dict[str, Any],
        *,
        artifact: Artifact | None = None,
        collection: Collection | None = None,
        user: User | None,
        workflow: WorkRequest | None,
        replace: bool,
    ) -> CollectionItem:
        existing = self.lookup_name(name)
        if existing is not None and not replace:
            raise ItemAdditionError(f"{self._label} already has an item named {name!r}")
        self.before_add(name, category, data, existing, artifact)
        if existing is not None:
            self.remove_item(existing, user=user, workflow=workflow)
        values = {
            "parent_collection_id": self.collection.id,
            "parent_category": self.collection.category,
            "name": name,
            "child_type": child_type,
            "category": category,
            "data": data,
            "created_by_user_id": user.id if user is not None else None,
        }
        deferred = (
            None if self.FLUSH_ON_ADD else self.session.info.get(DEFERRED_ITEMS_KEY)
        )
        if deferred is not None:
            item = self._deferred_item(values, artifact, collection, workflow)
            deferred.append(item)
        else:
            item = CollectionItem(
                **values,
                artifact=artifact,
                collection=collection,
                created_by_workflow=workflow,
            )
            self.session.add(item)
            if self.FLUSH_ON_ADD:
                self.session.flush()
        self.after_add(item, artifact)
        return item

    def _deferred_item(
        self,
        values: dict[str, Any],
        artifact: Artifact | None,
        collection: Collection | None,
        workflow: WorkRequest | None,
    ) -> CollectionItem:
        """An item with every column the database would give it, outside
        the session (see DEFERRED_ITEMS_KEY); relationships as loaded values."""
        item = unsaved_row_object(
            CollectionItem,
            {
                "id": next_id(self.session, CollectionItem.__tablename__),
                "artifact_id": artifact.id if artifact is not None else None,
                "collection_id": collection.id if collection is not None else None,
                "created_by_workflow_id": workflow.id if workflow else None,
                "created_at": utcnow(),
                "removed_at": None,
                "removed_by_user_id": None,
                "removed_by_workflow_id": None,
                **values,
            },
        )
        set_committed_value(item, "parent_collection", self.collection)
        set_committed_value(item, "artifact", artifact)
        set_committed_value(item, "collection", collection)
        set_committed_value(item, "created_by_workflow", workflow)
        return item

    def remove_item(
        self,
        item: CollectionItem,
        *,
        user: User | None = None,
        workflow: WorkRequest | None = None,
    ) -> None:
        """Mark `item` removed: it stays as history."""
        if item.parent_collection_id != self.collection.id:
            raise ItemRemovalError(f"item {item.id} is not in {self._label}")
        if item.removed_at is not None:
            return
        item.removed_at = utcnow()
        item.removed_by_user_id = user.id if user is not None else None
        item.removed_by_workflow_id = workflow.id if workflow is not None else None
        # The partial unique index on active names must see it before the
        # replacement is inserted.
        self.session.flush()

    # --- match constraints -------------------------------------------------

    def check_match_constraints(
        self,
        constraint_name: str,
        values: Mapping[str, str],
        collection_ids: Iterable[int] | None = None,
    ) -> None:
        """Refuse values that contradict a constraint already recorded."""
        if not values:
            return
        ids = list(collection_ids or [self.collection.id])
        rows = self.session.execute(
            select(
                CollectionItemMatchConstraint.key, CollectionItemMatchConstraint.value
            )
            .where(
                CollectionItemMatchConstraint.collection_id.in_(ids),
                CollectionItemMatchConstraint.constraint_name == constraint_name,
                CollectionItemMatchConstraint.key.in_(list(values)),
            )
            .distinct()
        )
        for key, value in rows:
            if values[key] != value:
                raise ItemAdditionError(
                    f"{self._label}: {constraint_name} {key!r} already refers to"
                    f" {value}, not {values[key]}"
                )

    def record_match_constraints(
        self,
        item: CollectionItem,
        constraint_name: str,
        values: Mapping[str, str],
        collection_ids: Iterable[int] | None = None,
    ) -> None:
        for collection_id in collection_ids or [self.collection.id]:
            existing = set(
                self.session.scalars(
                    select(CollectionItemMatchConstraint.key).where(
                        CollectionItemMatchConstraint.collection_id == collection_id,
                        CollectionItemMatchConstraint.constraint_name
                        == constraint_name,
                        CollectionItemMatchConstraint.key.in_(list(values)),
                    )
                )
            )
            self.session.add_all(
                CollectionItemMatchConstraint(
                    collection_id=collection_id,
                    collection_item_id=item.id,
                    constraint_name=constraint_name,
                    key=key,
                    value=value,
                )
                for key, value in values.items()
                if key not in existing
            )
        self.session.flush()

    # --- lookups -----------------------------------------------------------

    def lookup_name(self, name: str) -> CollectionItem | None:
        return self.session.scalar(
            active_items(self.collection.id).where(CollectionItem.name == name)
        )

    def lookup(self, query: str) -> CollectionItem | None:
        """The active item a lookup segment names, or None.

        A segment without a known `prefix:` is an item name.
        """
        prefix, sep, rest = query.partition(":")
        if sep and prefix == "name":
            return self.lookup_name(rest)
        if sep and prefix in self.LOOKUP_PREFIXES:
            return self.do_lookup(prefix, rest)
        return self.lookup_name(query)

    def do_lookup(self, prefix: str, value: str) -> CollectionItem | None:
        raise InvalidLookupSegment(f"{self._label}: unknown lookup {prefix!r}")

    def lookup_filter(self, key: str, value: Any, resolve: Any) -> ColumnElement[bool]:
        """A SQL condition on CollectionItem for `lookup__KEY: value`.

        `resolve` turns a nested multiple lookup into its results.
        """
        raise InvalidLookupSegment(f"{self._label} has no lookup filter {key!r}")


def latest(items: Iterable[CollectionItem]) -> CollectionItem | None:
    """The most recently added of `items` (ties broken by id)."""
    best: CollectionItem | None = None
    for item in items:
        if best is None or (item.created_at, item.id) > (best.created_at, best.id):
            best = item
    return best
