"""`debusine:workflow-internal`: what a workflow's steps hand to each other."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from debusine.collections.base import (
    CollectionManager,
    ItemAdditionError,
    active_items,
    register,
)
from debusine.db.transaction_cache import TransactionCache
from debusine.models import Artifact, CollectionItem

PROMISE = "debusine:promise"
PROMISE_PREFIX = "promise_"


def _check_promise_keys(label: str, data: Mapping[str, Any], is_promise: bool) -> None:
    reserved = sorted(key for key in data if key.startswith(PROMISE_PREFIX))
    if reserved and not is_promise:
        raise ItemAdditionError(
            f"{label}: data keys starting with {PROMISE_PREFIX!r} are reserved for"
            f" {PROMISE} items: {', '.join(reserved)}"
        )


@register
class WorkflowInternalManager(CollectionManager):
    """Any artifact or bare item, under the name the workflow gives it."""

    COLLECTION_CATEGORY = "debusine:workflow-internal"
    # Populating a workflow adds a promise per child: inserted in a batch.
    FLUSH_ON_ADD = False

    def artifact_item(
        self, artifact: Artifact, variables: Mapping[str, Any], name: str | None
    ) -> tuple[str, dict[str, Any]]:
        item_name, data = super().artifact_item(artifact, variables, name)
        _check_promise_keys(self._label, data, is_promise=False)
        return item_name, data

    def bare_item(
        self, category: str, data: Mapping[str, Any], name: str | None
    ) -> tuple[str, dict[str, Any]]:
        item_name, item_data = super().bare_item(category, data, name)
        _check_promise_keys(self._label, item_data, is_promise=category == PROMISE)
        return item_name, item_data

    def after_add(self, item: CollectionItem, artifact: Artifact | None) -> None:
        # Not flushed yet: the cached names must already include it.
        items = _cache(self.session).get(self.collection.id)
        if items is not None:
            items[item.name] = item

    def lookup_name(self, name: str) -> CollectionItem | None:
        """The active item `name`, from the transaction's cache of the collection."""
        collection_id = self.collection.id
        if collection_id is None:
            return super().lookup_name(name)
        items = _cache(self.session).get(collection_id)
        if items is None:
            items = {
                item.name: item
                for item in self.session.scalars(active_items(collection_id)).unique()
            }
            _cache(self.session)[collection_id] = items
        return items.get(name)


# --- the per-transaction item cache --------------------------------------------
#
# Populating a workflow looks up promises by name in its internal collection
# hundreds of times (`internal@collections/build-amd64`...). The collection
# is small and only this transaction's workflow adds to it, so its active
# items are loaded once per transaction and kept up to date from the
# session's own writes; any bulk statement, detached item or end of
# transaction drops the cache (see TransactionCache).


class _ItemCache(TransactionCache):
    """Collection id -> {name: active item}, following the session's writes."""

    def __init__(self) -> None:
        super().__init__("workflow_internal_items", (CollectionItem,))
        event.listen(Session, "persistent_to_detached", self._follow_detach)
        event.listen(Session, "deleted_to_detached", self._follow_detach)

    def _follow_flush(self, session: Session, flush_context: Any) -> None:
        # Updated rather than dropped: a populate adds items all the time.
        cache = session.info.get(self.key)
        if not cache:
            return
        for obj in (*session.new, *session.dirty, *session.deleted):
            if not isinstance(obj, CollectionItem):
                continue
            collection_id = inspect(obj).dict.get("parent_collection_id")
            if collection_id is None:
                cache.clear()
                return
            items = cache.get(collection_id)
            if items is None:
                continue
            if obj in session.new and obj.removed_at is None:
                items[obj.name] = obj
            else:
                # Removed, deleted or changed: load the collection again.
                del cache[collection_id]

    def _follow_detach(self, session: Session, instance: object) -> None:
        if isinstance(instance, CollectionItem):
            self._drop(session)


_cache = _ItemCache()
