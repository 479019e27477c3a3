"""The `qa` workflow: the quality checks of a source package and its builds.

Behind its `enable_*` flag, each check is a sub-workflow: `autopkgtest`,
`reverse_dependencies_autopkgtest` (in `qa_suite`), `lintian`,
`piuparts`, `debdiff` (against `qa_suite`) and `blhc` (on the builds'
logs). They run on the effective architectures: `architectures` (by
default, those with an environment for `vendor`:`codename`, plus `all`)
intersected with `architectures_allowlist`, minus
`architectures_denylist`; each gets the binaries of those architectures
(with none there, only the source checks, lintian and debdiff, run).
Sub-workflows are populated at once (their children wait for promised
builds), except blhc, which reads the builds' logs once they exist.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from debusine.artifacts.categories import ArtifactCategory
from debusine.errors import DomainError
from debusine.tasks import TaskDataSchema
from debusine.tasks.fields import (
    LookupMultiple,
    LookupSingle,
    architecture,
    backend,
    extra_repositories,
)
from debusine.workflows.base import LookupMultiple as LookupMultipleValue
from debusine.workflows.base import Workflow, WorkflowValidationError
from debusine.workflows.sub_workflows import (
    check_categories,
    drop_none,
    ensure_sub_workflow,
    lookup_multiple_or_promises,
    lookup_single_or_promise,
    real_artifact_ids,
)
from debusine.workflows.workflow_utils import (
    filter_artifact_lookup_by_arch,
    get_available_architectures,
)

_SOURCE_CATEGORIES = (ArtifactCategory.SOURCE_PACKAGE, ArtifactCategory.UPLOAD)
_BINARY_CATEGORIES = (
    ArtifactCategory.UPLOAD,
    ArtifactCategory.BINARY_PACKAGE,
    ArtifactCategory.BINARY_PACKAGES,
)
LINTIAN_SEVERITIES = (
    "error",
    "warning",
    "info",
    "pedantic",
    "experimental",
    "overridden",
    "none",
)


def architecture_list() -> fields.List:
    return fields.List(architecture(), load_default=None, allow_none=True)


class QAChecksData(TaskDataSchema):
    """The checks' settings, shared with `debian_pipeline`."""

    vendor = fields.String(required=True, validate=validate.Length(min=1))
    codename = fields.String(required=True, validate=validate.Length(min=1))
    extra_repositories = extra_repositories()
    architectures = architecture_list()
    architectures_allowlist = architecture_list()
    architectures_denylist = architecture_list()
    arch_all_host_architecture = architecture(load_default="amd64")
    qa_suite = LookupSingle(load_default=None, allow_none=True)
    enable_autopkgtest = fields.Boolean(load_default=True)
    autopkgtest_backend = backend()
    enable_reverse_dependencies_autopkgtest = fields.Boolean(load_default=False)
    enable_lintian = fields.Boolean(load_default=True)
    lintian_backend = backend()
    lintian_fail_on_severity = fields.String(
        load_default=None, allow_none=True, validate=validate.OneOf(LINTIAN_SEVERITIES)
    )
    enable_piuparts = fields.Boolean(load_default=True)
    piuparts_backend = backend()
    piuparts_environment = LookupSingle(load_default=None, allow_none=True)
    enable_debdiff = fields.Boolean(load_default=False)
    enable_blhc = fields.Boolean(load_default=False)

    @validates_schema
    def _suite_when_needed(self, data: dict[str, Any], **kwargs: Any) -> None:
        needs = [
            flag
            for flag in ("enable_reverse_dependencies_autopkgtest", "enable_debdiff")
            if data.get(flag)
        ]
        if needs and data.get("qa_suite") is None:
            raise ValidationError(
                f"Required when {' or '.join(needs)} is set.", "qa_suite"
            )


class QAWorkflowData(QAChecksData):
    prefix = fields.String(load_default="", validate=validate.Regexp(r"^[^/]*$"))
    source_artifact = LookupSingle(required=True)
    binary_artifacts = LookupMultiple(required=True)


def effective_architectures(workflow: Workflow) -> set[str]:
    """`architectures` (or those available), in the allowlist, not denied."""
    data = workflow.data
    if data["architectures"] is not None:
        architectures = set(data["architectures"])
    else:
        try:
            architectures = get_available_architectures(
                workflow, vendor=data["vendor"], codename=data["codename"]
            )
        except LookupError:
            architectures = set()  # no environments collection for the vendor
    if data["architectures_allowlist"] is not None:
        architectures &= set(data["architectures_allowlist"])
    architectures -= set(data["architectures_denylist"] or [])
    if not architectures:
        raise WorkflowValidationError(
            "architectures: no architecture left to run on (given or available"
            f" for {data['vendor']}:{data['codename']}, after the allow and deny"
            " lists)"
        )
    return architectures


class QAWorkflow(Workflow):
    """The QA checks as sub-workflows; see the module docstring."""

    TASK_NAME = "qa"
    SCHEMA = QAWorkflowData

    def _check_inputs(self) -> list[Any]:
        source = lookup_single_or_promise(
            self, "source_artifact", self.data["source_artifact"]
        )
        check_categories("source_artifact", [source], _SOURCE_CATEGORIES)
        binaries = lookup_multiple_or_promises(
            self, "binary_artifacts", self.data["binary_artifacts"]
        )
        check_categories("binary_artifacts", binaries, _BINARY_CATEGORIES)
        return [source, *binaries]

    def _binaries(self, architectures: set[str]) -> LookupMultipleValue:
        try:
            return filter_artifact_lookup_by_arch(
                self, self.data["binary_artifacts"], architectures
            )
        except (DomainError, LookupError) as exc:
            raise WorkflowValidationError(f"binary_artifacts: {exc}") from exc

    def validate_input(self) -> None:
        self._check_inputs()
        self._binaries(effective_architectures(self))

    def build_dynamic_data(self) -> dict[str, Any]:
        return {
            "subject": None,
            "parameter_summary": (
                f"QA for {self.data['vendor']}:{self.data['codename']}"
            ),
            "input_artifacts_ids": real_artifact_ids(self._check_inputs()),
        }

    def populate(self) -> None:
        self._check_inputs()
        architectures = effective_architectures(self)
        binaries = self._binaries(architectures)
        data, prefix = self.data, self.data["prefix"]
        common = {
            "prefix": prefix,
            "vendor": data["vendor"],
            "codename": data["codename"],
            "architectures": sorted(architectures),
            "arch_all_host_architecture": data["arch_all_host_architecture"],
        }
        checks: list[tuple[str, str, Callable[[], dict[str, Any]], list[Any]]] = [
            (
                "enable_autopkgtest",
                "autopkgtest",
                lambda: {
                    "source_artifact": data["source_artifact"],
                    "binary_artifacts": binaries,
                    **common,
                    "backend": data["autopkgtest_backend"],
                    "extra_repositories": data["extra_repositories"],
                },
                [],
            ),
            (
                "enable_reverse_dependencies_autopkgtest",
                "reverse_dependencies_autopkgtest",
                lambda: {
                    "source_artifact": data["source_artifact"],
                    "binary_artifacts": binaries,
                    "qa_suite": data["qa_suite"],
                    **common,
                    "backend": data["autopkgtest_backend"],
                    "extra_repositories": data["extra_repositories"],
                },
                [],
            ),
            (
                "enable_lintian",
                "lintian",
                lambda: {
                    "source_artifact": data["source_artifact"],
                    "binary_artifacts": binaries,
                    **common,
                    "backend": data["lintian_backend"],
                    "fail_on_severity": data["lintian_fail_on_severity"],
                },
                [],
            ),
            (
                "enable_piuparts",
                "piuparts",
                lambda: {
                    "binary_artifacts": binaries,
                    **common,
                    "backend": data["piuparts_backend"],
                    "environment": data["piuparts_environment"],
                    "extra_repositories": data["extra_repositories"],
                },
                [],
            ),
            (
                "enable_debdiff",
                "debdiff",
                lambda: {
                    "source_artifact": data["source_artifact"],
                    "binary_artifacts": binaries,
                    "original": data["qa_suite"],
                    **common,
                },
                [],
            ),
            (
                "enable_blhc",
                "blhc",
                # The builds' logs, once the builds have run.
                lambda: {
                    "package_build_logs": {
                        "collection": "_@debian:package-build-logs",
                        "lookup__same_work_request": binaries,
                    },
                    "prefix": prefix,
                },
                [binaries],
            ),
        ]
        source_checks = ("lintian", "debdiff")
        for flag, name, task_data, requires in checks:
            # With no build on these architectures, only the source is checked.
            if not data[flag] or (not binaries and name not in source_checks):
                continue
            ensure_sub_workflow(
                self,
                task_name=name,
                task_data=drop_none(task_data()),
                workflow_data={"display_name": name, "step": name},
                requires=requires,
            )
