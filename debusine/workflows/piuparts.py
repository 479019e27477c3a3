"""The `piuparts` workflow: installation, upgrade and removal tests.

One `piuparts` task per concrete architecture of the binaries (the
requested `architectures` only, when given), testing that architecture's
binaries together with the `all` ones; binaries that are all `all` are
tested on `arch_all_host_architecture`. Each task depends on the work
requests that promised its binaries.

The task runs in `environment` (default `{vendor}/match:codename={codename}`)
and starts piuparts from the `base_tgz` tarball (default: the environment
lookup); a `match:` lookup for the tarball is narrowed to the task's
architecture, as the environment is by the task itself. piuparts stores
no artifact of its own, so nothing is promised.
"""

from __future__ import annotations

from typing import Any

from marshmallow import fields, validate

from debusine.tasks import TaskDataSchema, TaskType
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
    get_binary_architectures,
)

NAME_RE = r"^[A-Za-z0-9][A-Za-z0-9.+_-]*$"


class PiupartsWorkflowData(TaskDataSchema):
    prefix = fields.String(
        load_default="", validate=validate.Regexp(r"^[^/]*$", error="No '/' allowed.")
    )
    binary_artifacts = LookupMultiple(required=True)
    vendor = fields.String(required=True, validate=validate.Regexp(NAME_RE))
    codename = fields.String(required=True, validate=validate.Regexp(NAME_RE))
    backend = backend()
    environment = LookupSingle(load_default=None, allow_none=True)
    base_tgz = LookupSingle(load_default=None, allow_none=True)
    architectures = fields.List(architecture(), load_default=list)
    arch_all_host_architecture = architecture(load_default="amd64")
    extra_repositories = extra_repositories()


def narrow_match(lookup: int | str, **filters: str) -> int | str:
    """Add `filters` to a `.../match:...` lookup unless it sets them already."""
    if not isinstance(lookup, str):
        return lookup
    head, sep, match = lookup.rpartition("/match:")
    if not sep:
        return lookup
    parts = [part for part in match.split(":") if part]
    given = {part.partition("=")[0] for part in parts}
    parts += [f"{key}={value}" for key, value in filters.items() if key not in given]
    return f"{head}/match:{':'.join(parts)}"


class PiupartsWorkflow(Workflow):
    """One `piuparts` per architecture; see the module docstring."""

    TASK_NAME = "piuparts"
    SCHEMA = PiupartsWorkflowData

    def architectures(self) -> list[str]:
        found = get_binary_architectures(self, "binary_artifacts")
        if not found:
            raise WorkflowValidationError("binary_artifacts: no binaries to test")
        concrete = found - {"all"}
        if self.data["architectures"]:
            concrete &= set(self.data["architectures"])
        if not concrete and "all" in found:
            concrete = {self.data["arch_all_host_architecture"]}
        return sorted(concrete)

    def environment(self) -> int | str:
        given = self.data["environment"]
        if given is not None:
            return given
        return f"{self.data['vendor']}/match:codename={self.data['codename']}"

    def validate_input(self) -> None:
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
        environment = self.environment()
        base_tgz = self.data["base_tgz"]
        if base_tgz is None:
            base_tgz = environment
        for arch in self.architectures():
            binaries = filter_artifact_lookup_by_arch(
                self, self.data["binary_artifacts"], (arch, "all")
            )
            task_data: dict[str, Any] = {
                "input": {"binary_artifacts": binaries},
                "host_architecture": arch,
                "environment": environment,
                "base_tgz": narrow_match(base_tgz, architecture=arch, format="tarball"),
                "backend": self.data["backend"],
            }
            if self.data["extra_repositories"] is not None:
                task_data["extra_repositories"] = self.data["extra_repositories"]
            child = self.work_request_ensure_child(
                task_type=TaskType.WORKER,
                task_name="piuparts",
                task_data=task_data,
                workflow_data={
                    "display_name": f"piuparts {arch}",
                    "step": f"piuparts-{arch}",
                },
            )
            self.requires_artifact(child, binaries)
