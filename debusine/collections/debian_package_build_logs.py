"""`debian:package-build-logs` (singleton): build logs of every build."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import ColumnElement

from debusine.collections.base import CollectionManager, ItemAdditionError, register
from debusine.collections.task_history import same_work_request_filter
from debusine.models import Artifact

BUILD_LOG = "debian:package-build-log"
FIELDS = (
    "work_request_id",
    "worker",
    "vendor",
    "codename",
    "architecture",
    "srcpkg_name",
    "srcpkg_version",
)
NAME_FIELDS = (
    "vendor",
    "codename",
    "architecture",
    "srcpkg_name",
    "srcpkg_version",
    "work_request_id",
)


@register
class DebianPackageBuildLogsManager(CollectionManager):
    COLLECTION_CATEGORY = "debian:package-build-logs"
    VALID_BARE_CATEGORIES = frozenset({BUILD_LOG})
    VALID_ARTIFACT_CATEGORIES = frozenset({BUILD_LOG})
    VALID_COLLECTION_CATEGORIES = frozenset()

    def _item(self, values: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        missing = [key for key in NAME_FIELDS if values.get(key) in (None, "")]
        if missing:
            raise ItemAdditionError(
                f"{self._label}: a build log needs {', '.join(missing)}"
            )
        data = {key: values.get(key) for key in FIELDS}
        return "_".join(str(values[key]) for key in NAME_FIELDS), data

    def artifact_item(
        self, artifact: Artifact, variables: Mapping[str, Any], name: str | None
    ) -> tuple[str, dict[str, Any]]:
        return self._item(variables)

    def bare_item(
        self, category: str, data: Mapping[str, Any], name: str | None
    ) -> tuple[str, dict[str, Any]]:
        return self._item(data)

    def lookup_filter(
        self, key: str, value: Any, resolve: Callable[[Any], list[Any]]
    ) -> ColumnElement[bool]:
        if key in ("same_work_request", "same_workflow"):
            return same_work_request_filter(value, resolve, key == "same_workflow")
        return super().lookup_filter(key, value, resolve)
