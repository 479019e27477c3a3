"""`debusine:task-history` (singleton): the recent runs of each task."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sqlalchemy import ColumnElement, func, select

from debusine.collections.base import (
    CollectionManager,
    InvalidLookupSegment,
    ItemAdditionError,
    active_items,
    register,
)
from debusine.models import Artifact, CollectionItem, WorkRequest

HISTORICAL_RUN = "debusine:historical-task-run"
KEY_FIELDS = ("task_type", "task_name", "subject", "context")
DEFAULT_OLD_ITEMS_TO_KEEP = 5
SUCCESS = ("success",)
FAILURE = ("failure", "error")


def work_request_ids(results: Iterable[Any]) -> set[int]:
    """The work requests that made the results of a nested lookup."""
    ids: set[int] = set()
    for result in results:
        if result.artifact is not None and result.artifact.created_by_work_request_id:
            ids.add(result.artifact.created_by_work_request_id)
        item = result.collection_item
        if item is not None and isinstance(item.data.get("work_request_id"), int):
            ids.add(item.data["work_request_id"])
    return ids


def same_work_request_filter(
    value: Any, resolve: Callable[[Any], list[Any]], same_workflow: bool
) -> ColumnElement[bool]:
    ids = work_request_ids(resolve(value))
    column = CollectionItem.data["work_request_id"].as_integer()
    if not same_workflow:
        return column.in_(ids)
    parents = select(WorkRequest.parent_id).where(
        WorkRequest.id.in_(ids), WorkRequest.parent_id.is_not(None)
    )
    return column.in_(select(WorkRequest.id).where(WorkRequest.parent_id.in_(parents)))


def history_key(data: Mapping[str, Any]) -> list[str]:
    return [str(data.get(key) or "") for key in KEY_FIELDS]


@register
class TaskHistoryManager(CollectionManager):
    """Keeps `old_items_to_keep` runs per task key, plus the last success
    and the last failure whatever their age."""

    COLLECTION_CATEGORY = "debusine:task-history"
    VALID_BARE_CATEGORIES = frozenset({HISTORICAL_RUN})
    VALID_ARTIFACT_CATEGORIES = frozenset()
    VALID_COLLECTION_CATEGORIES = frozenset()
    LOOKUP_PREFIXES = ("last-entry", "last-success", "last-failure")

    def bare_item(
        self, category: str, data: Mapping[str, Any], name: str | None
    ) -> tuple[str, dict[str, Any]]:
        if not data.get("task_type") or not data.get("task_name"):
            raise ItemAdditionError(
                f"{self._label}: a run needs task_type and task_name"
            )
        if not isinstance(data.get("work_request_id"), int):
            raise ItemAdditionError(f"{self._label}: a run needs a work_request_id")
        return ":".join([*history_key(data), str(data["work_request_id"])]), dict(data)

    def _runs(self, key: list[str]) -> Any:
        query = active_items(self.collection.id).where(
            CollectionItem.category == HISTORICAL_RUN
        )
        for field, value in zip(KEY_FIELDS, key, strict=True):
            query = query.where(
                func.coalesce(CollectionItem.data[field].astext, "") == value
            )
        return query.order_by(
            CollectionItem.created_at.desc(), CollectionItem.id.desc()
        )

    def after_add(self, item: CollectionItem, artifact: Artifact | None) -> None:
        keep = int(
            self.collection.data.get("old_items_to_keep", DEFAULT_OLD_ITEMS_TO_KEEP)
        )
        runs = list(self.session.scalars(self._runs(history_key(item.data))))
        kept = {run.id for run in runs[:keep]}
        for results in (SUCCESS, FAILURE):
            last = next((r for r in runs if r.data.get("result") in results), None)
            if last is not None:
                kept.add(last.id)
        for run in runs:
            if run.id not in kept:
                self.remove_item(run)

    def do_lookup(self, prefix: str, value: str) -> CollectionItem | None:
        key = value.split(":")
        if len(key) != len(KEY_FIELDS):
            raise InvalidLookupSegment(
                f"expected {prefix}:TASK_TYPE:TASK_NAME:SUBJECT:CONTEXT, got {value!r}"
            )
        query = self._runs(key)
        if prefix == "last-success":
            query = query.where(CollectionItem.data["result"].astext.in_(SUCCESS))
        elif prefix == "last-failure":
            query = query.where(CollectionItem.data["result"].astext.in_(FAILURE))
        return self.session.scalar(query.limit(1))

    def lookup_filter(
        self, key: str, value: Any, resolve: Callable[[Any], list[Any]]
    ) -> ColumnElement[bool]:
        if key in ("same_work_request", "same_workflow"):
            return same_work_request_filter(value, resolve, key == "same_workflow")
        return super().lookup_filter(key, value, resolve)
