"""The `autopkgtest` workflow: run a source package's tests per architecture.

One `autopkgtest` task per concrete architecture of the binaries (the
requested `architectures` only, when given); binaries that are all `all`
are tested on `arch_all_host_architecture`. Each task gets the binaries
(and context artifacts) of its architecture and of `all`, depends on the
work requests that promised them, and promises `{prefix}autopkgtest-{arch}`.
"""

from __future__ import annotations

from typing import Any

from marshmallow import fields, validate

from debusine.artifacts.categories import ArtifactCategory
from debusine.tasks import TaskDataSchema, TaskType
from debusine.tasks.autopkgtest import (
    NEEDS_INTERNET,
    AutopkgtestFailOn,
    AutopkgtestTimeout,
)
from debusine.tasks.fields import (
    LookupMultiple,
    LookupSingle,
    architecture,
    backend,
    extra_repositories,
)
from debusine.workflows.base import Workflow, WorkflowValidationError
from debusine.workflows.workflow_utils import (
    filter_artifact_lookup_by_arch,
    get_architectures,
    locate_debian_source_package_lookup,
)

NAME_RE = r"^[A-Za-z0-9][A-Za-z0-9.+_-]*$"


class AutopkgtestWorkflowData(TaskDataSchema):
    prefix = fields.String(
        load_default="", validate=validate.Regexp(r"^[^/]*$", error="No '/' allowed.")
    )
    source_artifact = LookupSingle(required=True)
    binary_artifacts = LookupMultiple(required=True)
    context_artifacts = LookupMultiple(load_default=list)
    vendor = fields.String(required=True, validate=validate.Regexp(NAME_RE))
    codename = fields.String(required=True, validate=validate.Regexp(NAME_RE))
    backend = backend()
    extra_repositories = extra_repositories()
    architectures = fields.List(architecture(), load_default=list)
    arch_all_host_architecture = architecture(load_default="amd64")
    include_tests = fields.List(fields.String(), load_default=list)
    exclude_tests = fields.List(fields.String(), load_default=list)
    debug_level = fields.Integer(
        strict=True, load_default=0, validate=validate.Range(min=0, max=3)
    )
    extra_environment = fields.Dict(
        keys=fields.String(), values=fields.String(), load_default=dict
    )
    needs_internet = fields.String(
        load_default="run", validate=validate.OneOf(NEEDS_INTERNET)
    )
    fail_on = fields.Nested(AutopkgtestFailOn, load_default=None, allow_none=True)
    timeout = fields.Nested(AutopkgtestTimeout, load_default=None, allow_none=True)


# Task options passed to each child when the workflow data sets them.
_PASSED_ON = (
    "backend",
    "include_tests",
    "exclude_tests",
    "debug_level",
    "extra_environment",
    "needs_internet",
    "fail_on",
    "timeout",
    "extra_repositories",
)


class AutopkgtestWorkflow(Workflow):
    """One `autopkgtest` per architecture; see the module docstring."""

    TASK_NAME = "autopkgtest"
    SCHEMA = AutopkgtestWorkflowData

    def architectures(self) -> list[str]:
        try:
            found = get_architectures(self, self.data["binary_artifacts"])
        except LookupError as exc:
            raise WorkflowValidationError(f"binary_artifacts: {exc}") from exc
        concrete = found - {"all", "source"}
        if not concrete and "all" in found:
            concrete = {self.data["arch_all_host_architecture"]}
        if self.data["architectures"]:
            concrete &= set(self.data["architectures"])
        return sorted(concrete)

    def source_lookup(self) -> int | str:
        try:
            return locate_debian_source_package_lookup(
                self, "source_artifact", self.data["source_artifact"]
            )
        except LookupError as exc:
            raise WorkflowValidationError(f"source_artifact: {exc}") from exc

    def validate_input(self) -> None:
        self.source_lookup()
        self.architectures()

    def build_dynamic_data(self) -> dict[str, Any]:
        return {
            "subject": None,
            "parameter_summary": (
                f"{self.data['vendor']}:{self.data['codename']}"
                f" {' '.join(self.data['architectures']) or 'all architectures'}"
            ),
            "input_artifacts_ids": [],
        }

    def populate(self) -> None:
        source = self.source_lookup()
        prefix = self.data["prefix"]
        environment = f"{self.data['vendor']}/match:codename={self.data['codename']}"
        for arch in self.architectures():
            binaries = filter_artifact_lookup_by_arch(
                self, self.data["binary_artifacts"], (arch, "all")
            )
            context = (
                filter_artifact_lookup_by_arch(
                    self, self.data["context_artifacts"], (arch, "all")
                )
                if self.data["context_artifacts"]
                else []
            )
            task_data: dict[str, Any] = {
                "input": {
                    "source_artifact": source,
                    "binary_artifacts": binaries,
                    "context_artifacts": context,
                },
                "host_architecture": arch,
                "environment": environment,
            }
            task_data.update(
                {k: self.data[k] for k in _PASSED_ON if self.data[k] is not None}
            )
            child = self.work_request_ensure_child(
                task_type=TaskType.WORKER,
                task_name="autopkgtest",
                task_data=task_data,
                workflow_data={
                    "display_name": f"autopkgtest {arch}",
                    "step": f"autopkgtest-{arch}",
                },
            )
            self.requires_artifact(child, binaries)
            if context:
                self.requires_artifact(child, context)
            self.provides_artifact(
                child,
                ArtifactCategory.AUTOPKGTEST,
                f"{prefix}autopkgtest-{arch}",
                data={"architecture": arch},
            )
