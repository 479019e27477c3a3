"""The `lintian` workflow: check a source package and its binaries.

One `lintian` task per concrete architecture of the binaries (the
requested `architectures` only, when given), each checking the source,
the `all` binaries and that architecture's binaries together, so lintian
sees the package as a whole. Binaries that are all `all` are checked in
one task named for `arch_all_host_architecture`; with no binaries, a
single task checks the source alone.

Each analysis is stored once: the source and `all` analyses come from
one task (the one for `arch_all_host_architecture` when there is one,
else the first architecture), each architecture's analysis from its own
task. Every analysis is promised as `{prefix}lintian-{source|all|ARCH}`.
"""

from __future__ import annotations

from typing import Any

from marshmallow import fields, validate

from debusine.artifacts.categories import ArtifactCategory
from debusine.tasks import TaskDataSchema, TaskType
from debusine.tasks.fields import (
    LookupMultiple,
    LookupSingle,
    architecture,
    backend,
)
from debusine.tasks.lintian import FAIL_ON_SEVERITIES, TAG_RE
from debusine.workflows.base import LookupMultiple as LookupMultipleValue
from debusine.workflows.base import Workflow, WorkflowValidationError
from debusine.workflows.workflow_utils import (
    filter_artifact_lookup_by_arch,
    get_binary_architectures,
    locate_debian_source_package_lookup,
)

NAME_RE = r"^[A-Za-z0-9][A-Za-z0-9.+_-]*$"


def _tags() -> fields.List:
    return fields.List(
        fields.String(validate=validate.Regexp(TAG_RE, error="Not a lintian tag.")),
        load_default=list,
    )


class LintianWorkflowData(TaskDataSchema):
    prefix = fields.String(
        load_default="", validate=validate.Regexp(r"^[^/]*$", error="No '/' allowed.")
    )
    source_artifact = LookupSingle(required=True)
    binary_artifacts = LookupMultiple(load_default=list)
    vendor = fields.String(required=True, validate=validate.Regexp(NAME_RE))
    codename = fields.String(required=True, validate=validate.Regexp(NAME_RE))
    backend = backend()
    architectures = fields.List(architecture(), load_default=list)
    arch_all_host_architecture = architecture(load_default="amd64")
    include_tags = _tags()
    exclude_tags = _tags()
    # Unset: the task's own default (error).
    fail_on_severity = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.OneOf(FAIL_ON_SEVERITIES),
    )


class LintianWorkflow(Workflow):
    """One `lintian` per architecture; see the module docstring."""

    TASK_NAME = "lintian"
    SCHEMA = LintianWorkflowData

    def binary_architectures(self) -> set[str]:
        """The architectures of the binaries (`all` included)."""
        return get_binary_architectures(self, "binary_artifacts")

    def task_architectures(self) -> list[str]:
        """One task each: concrete architectures, else the `all` host."""
        found = self.binary_architectures()
        concrete = found - {"all"}
        if self.data["architectures"]:
            concrete &= set(self.data["architectures"])
        if not concrete and "all" in found:
            concrete = {self.data["arch_all_host_architecture"]}
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
        self.task_architectures()

    def build_dynamic_data(self) -> dict[str, Any]:
        return {
            "subject": None,
            "parameter_summary": (
                f"{self.data['vendor']}:{self.data['codename']}"
                f" {' '.join(self.data['architectures']) or 'all architectures'}"
            ),
            "input_artifacts_ids": [],
        }

    def _task_data(
        self, source: int | str, binaries: LookupMultipleValue, output: dict[str, bool]
    ) -> dict[str, Any]:
        task_data: dict[str, Any] = {
            "input": {"source_artifact": source, "binary_artifacts": binaries},
            "output": output,
            "target_distribution": f"{self.data['vendor']}:{self.data['codename']}",
            "include_tags": self.data["include_tags"],
            "exclude_tags": self.data["exclude_tags"],
            "backend": self.data["backend"],
        }
        if self.data["fail_on_severity"] is not None:
            task_data["fail_on_severity"] = self.data["fail_on_severity"]
        return task_data

    def _promise(self, child: Any, analysis: str) -> None:
        self.provides_artifact(
            child,
            ArtifactCategory.LINTIAN,
            f"{self.data['prefix']}lintian-{analysis}",
            data={"architecture": analysis},
            artifact_filters={"data__architecture": analysis},
        )

    def populate(self) -> None:
        source = self.source_lookup()
        found = self.binary_architectures()
        architectures = self.task_architectures()
        if not architectures:
            child = self.work_request_ensure_child(
                task_type=TaskType.WORKER,
                task_name="lintian",
                task_data=self._task_data(
                    source,
                    [],
                    {
                        "source_analysis": True,
                        "binary_all_analysis": False,
                        "binary_any_analysis": False,
                    },
                ),
                workflow_data={
                    "display_name": "lintian source",
                    "step": "lintian-source",
                },
            )
            self._promise(child, "source")
            return
        host = self.data["arch_all_host_architecture"]
        # The task that also stores the source and `all` analyses.
        main = host if host in architectures else architectures[0]
        for arch in architectures:
            binaries = filter_artifact_lookup_by_arch(
                self, self.data["binary_artifacts"], (arch, "all")
            )
            has_any = arch in found
            child = self.work_request_ensure_child(
                task_type=TaskType.WORKER,
                task_name="lintian",
                task_data=self._task_data(
                    source,
                    binaries,
                    {
                        "source_analysis": arch == main,
                        "binary_all_analysis": arch == main and "all" in found,
                        "binary_any_analysis": has_any,
                    },
                ),
                workflow_data={
                    "display_name": f"lintian {arch}",
                    "step": f"lintian-{arch}",
                },
            )
            self.requires_artifact(child, binaries)
            if arch == main:
                self._promise(child, "source")
                if "all" in found:
                    self._promise(child, "all")
            if has_any:
                self._promise(child, arch)
