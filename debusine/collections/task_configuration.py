"""`debusine:task-configuration`: per-workspace task data overrides."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from debusine.collections.base import CollectionManager, ItemAdditionError, register

CONFIGURATION = "debusine:task-configuration"


def configuration_name(data: Mapping[str, Any]) -> str:
    """`TASK_TYPE:TASK_NAME:SUBJECT:CONTEXT`, or `template:NAME` for templates."""
    if data.get("template"):
        return f"template:{data['template']}"
    if not data.get("task_type") or not data.get("task_name"):
        raise ItemAdditionError(
            "a task configuration needs task_type and task_name (or template)"
        )
    return ":".join(
        str(data.get(key) or "")
        for key in ("task_type", "task_name", "subject", "context")
    )


@register
class TaskConfigurationManager(CollectionManager):
    COLLECTION_CATEGORY = "debusine:task-configuration"
    VALID_BARE_CATEGORIES = frozenset({CONFIGURATION})
    VALID_ARTIFACT_CATEGORIES = frozenset()
    VALID_COLLECTION_CATEGORIES = frozenset()

    def bare_item(
        self, category: str, data: Mapping[str, Any], name: str | None
    ) -> tuple[str, dict[str, Any]]:
        return configuration_name(data), dict(data)
