"""The `package_publish` workflow: copy packages into a `debian:suite`.

One `copycollectionitems` server task copies the source and binary
artifacts into `target_suite`; when the target lives in a workspace with
its own build-logs or task-history collection, the build logs and task
history of the binaries' work requests are copied there too.
"""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validates_schema

from debusine.artifacts.categories import ArtifactCategory
from debusine.collections import ExpectType, LookupResult
from debusine.models import Collection, Workspace
from debusine.tasks import TaskDataSchema, TaskType
from debusine.tasks.fields import LookupMultiple, LookupSingle
from debusine.workflows.base import Workflow, WorkflowValidationError
from debusine.workflows.sub_workflows import (
    check_categories,
    lookup_multiple_or_promises,
    lookup_single_or_promise,
    real_artifact_ids,
)

_SOURCE_CATEGORIES = (ArtifactCategory.SOURCE_PACKAGE, ArtifactCategory.UPLOAD)
_BINARY_CATEGORIES = (
    ArtifactCategory.UPLOAD,
    ArtifactCategory.BINARY_PACKAGE,
    ArtifactCategory.BINARY_PACKAGES,
)


class PackagePublishWorkflowData(TaskDataSchema):
    source_artifact = LookupSingle(load_default=None, allow_none=True)
    binary_artifacts = LookupMultiple(load_default=list)
    target_suite = LookupSingle(required=True)
    unembargo = fields.Boolean(load_default=False)
    replace = fields.Boolean(load_default=False)
    suite_variables = fields.Dict(
        keys=fields.String(), load_default=None, allow_none=True
    )

    @validates_schema
    def _something_to_publish(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("source_artifact") is None and not data.get("binary_artifacts"):
            raise ValidationError(
                "Set source_artifact or binary_artifacts (or both).",
                "source_artifact",
            )


class PackagePublishWorkflow(Workflow):
    """Publish packages to a suite; see the module docstring."""

    TASK_NAME = "package_publish"
    SCHEMA = PackagePublishWorkflowData

    def _inputs(self) -> list[LookupResult]:
        results = []
        if self.data["source_artifact"] is not None:
            source = lookup_single_or_promise(
                self, "source_artifact", self.data["source_artifact"]
            )
            check_categories("source_artifact", [source], _SOURCE_CATEGORIES)
            results.append(source)
        if self.data["binary_artifacts"]:
            binaries = lookup_multiple_or_promises(
                self, "binary_artifacts", self.data["binary_artifacts"]
            )
            check_categories("binary_artifacts", binaries, _BINARY_CATEGORIES)
            results += binaries
        return results

    def _target_suite(self) -> Collection:
        try:
            result = self.lookup(
                self.data["target_suite"],
                expect_type=ExpectType.COLLECTION,
                default_category="debian:suite",
            )
        except LookupError as exc:
            raise WorkflowValidationError(f"target_suite: {exc}") from exc
        collection = result.collection
        assert collection is not None
        if collection.category != "debian:suite":
            raise WorkflowValidationError(
                f"target_suite: {collection.name}@{collection.category} is not a"
                " debian:suite collection"
            )
        return collection

    def validate_input(self) -> None:
        self._inputs()
        self._target_suite()

    def build_dynamic_data(self) -> dict[str, Any]:
        suite = self._target_suite()
        return {
            "subject": None,
            "parameter_summary": f"Publish to {suite.name}@debian:suite",
            "input_artifacts_ids": real_artifact_ids(self._inputs()),
        }

    def _singleton(self, category: str, workspace: Workspace) -> Collection | None:
        try:
            return self.lookup_singleton_collection(category, workspace=workspace)
        except LookupError:
            return None

    def populate(self) -> None:
        self._inputs()
        suite = self._target_suite()
        binaries = self.data["binary_artifacts"]
        source_items: list[Any] = []
        if self.data["source_artifact"] is not None:
            source_items.append(self.data["source_artifact"])
        if isinstance(binaries, dict):
            source_items.append(binaries)
        else:
            source_items += binaries
        common = {"unembargo": self.data["unembargo"], "replace": self.data["replace"]}
        copies: list[dict[str, Any]] = [
            {
                "source_items": source_items,
                "target_collection": self.data["target_suite"],
                **common,
                "variables": self.data["suite_variables"],
            }
        ]
        if binaries:
            # Where the packages go, their build logs and task history follow.
            for category, filter_key in (
                ("debian:package-build-logs", "lookup__same_work_request"),
                ("debusine:task-history", "lookup__same_workflow"),
            ):
                here = self._singleton(category, self.workspace)
                there = self._singleton(category, suite.workspace)
                if here is not None and there is not None and here.id != there.id:
                    copies.append(
                        {
                            "source_items": {
                                "collection": f"{here.id}@collections",
                                filter_key: binaries,
                            },
                            "target_collection": f"{there.id}@collections",
                            **common,
                        }
                    )
        child = self.work_request_ensure_child(
            task_type=TaskType.SERVER,
            task_name="copycollectionitems",
            task_data={"copies": copies},
            workflow_data={
                "display_name": f"Copy to {suite.name}@debian:suite",
                "step": "copy-collection-items",
            },
        )
        self.requires_artifact(child, source_items)
