"""`debusine:workflow-internal`: what a workflow's steps hand to each other."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from debusine.collections.base import CollectionManager, ItemAdditionError, register
from debusine.models import Artifact

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
