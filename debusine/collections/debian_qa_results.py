"""`debian:qa-results`: the QA results of a suite's packages, for regression tracking.

Items are `debian:autopkgtest`, `debian:lintian` and `debian:blhc`
artifacts, or bare `debian:qa-result` data (a result with no artifact, e.g.
a skipped run). Each is named `{task}_{package}_{version}_{arch}_{wrid}`
and carries `task_name`, `package`, `version`, `architecture`,
`timestamp` (seconds since the epoch, when the run was made), `result`
and `work_request_id`.

`latest:TASK_PACKAGE_ARCH` finds the most recent result by `timestamp` (not
by when the item was added: results can arrive late and out of order).
The collection's data `old_items_to_keep` (default 5) bounds how many
results each (task, package, architecture) keeps; older ones are removed
and expire with the collection's retention periods. `suite_collection`
names the suite the results are about (informative).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select

from debusine.artifacts.categories import ArtifactCategory, BareDataCategory
from debusine.collections.base import (
    CollectionManager,
    InvalidLookupSegment,
    ItemAdditionError,
    active_items,
    register,
)
from debusine.models import Artifact, CollectionItem

TASK_FOR_CATEGORY = {
    ArtifactCategory.AUTOPKGTEST.value: "autopkgtest",
    ArtifactCategory.LINTIAN.value: "lintian",
    ArtifactCategory.BLHC.value: "blhc",
}
QA_RESULT = BareDataCategory.QA_RESULT.value
KEY_FIELDS = ("task_name", "package", "architecture")
NAME_FIELDS = ("task_name", "package", "version", "architecture", "work_request_id")
DEFAULT_OLD_ITEMS_TO_KEEP = 5
RESULTS = ("success", "failure", "error", "skipped")


@register
class DebianQAResultsManager(CollectionManager):
    COLLECTION_CATEGORY = "debian:qa-results"
    VALID_BARE_CATEGORIES = frozenset({QA_RESULT})
    VALID_ARTIFACT_CATEGORIES = frozenset(TASK_FOR_CATEGORY)
    VALID_COLLECTION_CATEGORIES = frozenset()
    LOOKUP_PREFIXES = ("latest",)

    def _item(self, values: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        missing = [
            key
            for key in (*NAME_FIELDS, "timestamp", "result")
            if values.get(key) in (None, "")
        ]
        if missing:
            raise ItemAdditionError(
                f"{self._label}: a QA result needs {', '.join(missing)}"
            )
        for key in ("work_request_id", "timestamp"):
            if not isinstance(values[key], int) or isinstance(values[key], bool):
                raise ItemAdditionError(f"{self._label}: {key} must be an integer")
        if values["result"] not in RESULTS:
            raise ItemAdditionError(
                f"{self._label}: result must be one of {', '.join(RESULTS)},"
                f" not {values['result']!r}"
            )
        for key in KEY_FIELDS:
            if "_" in str(values[key]):
                raise ItemAdditionError(f"{self._label}: {key} may not contain '_'")
        data = {key: values[key] for key in (*NAME_FIELDS, "timestamp", "result")}
        return "_".join(str(values[key]) for key in NAME_FIELDS), data

    def artifact_item(
        self, artifact: Artifact, variables: Mapping[str, Any], name: str | None
    ) -> tuple[str, dict[str, Any]]:
        values: dict[str, Any] = {
            "task_name": TASK_FOR_CATEGORY[artifact.category],
            "work_request_id": artifact.created_by_work_request_id,
            "timestamp": int(artifact.created_at.timestamp())
            if artifact.created_at is not None
            else None,
        }
        values.update(variables)
        return self._item(values)

    def bare_item(
        self, category: str, data: Mapping[str, Any], name: str | None
    ) -> tuple[str, dict[str, Any]]:
        return self._item(data)

    def _results(self, key: Mapping[str, str]) -> Select[tuple[CollectionItem]]:
        query = active_items(self.collection.id)
        for field in KEY_FIELDS:
            query = query.where(CollectionItem.data[field].astext == key[field])
        return query.order_by(
            CollectionItem.data["timestamp"].as_integer().desc(),
            CollectionItem.id.desc(),
        )

    def after_add(self, item: CollectionItem, artifact: Artifact | None) -> None:
        keep = int(
            self.collection.data.get("old_items_to_keep", DEFAULT_OLD_ITEMS_TO_KEEP)
        )
        results = list(self.session.scalars(self._results(item.data)))
        for old in results[max(keep, 1) :]:
            self.remove_item(old)

    def do_lookup(self, prefix: str, value: str) -> CollectionItem | None:
        # Package names may not contain "_", nor task names or architectures:
        # the first and last underscores split TASK_PACKAGE_ARCH.
        task, sep, rest = value.partition("_")
        package, sep2, architecture = rest.rpartition("_")
        if not (sep and sep2 and task and package and architecture):
            raise InvalidLookupSegment(
                f"expected {prefix}:TASK_PACKAGE_ARCHITECTURE"
                f" (e.g. latest:autopkgtest_hello_amd64), got {value!r}"
            )
        key = {"task_name": task, "package": package, "architecture": architecture}
        return self.session.scalar(self._results(key).limit(1))
