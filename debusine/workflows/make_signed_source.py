"""The `make_signed_source` workflow: signed source packages from templates.

For each architecture found in both `binary_artifacts` and
`signing_template_artifacts` (and in `architectures`, if set), and each
signing template of that architecture: `extractforsigning` takes the
files to sign out of the binaries, `sign` signs them, and
`assemblesignedsource` builds the signed source package, which an `sbuild`
sub-workflow (prefix `signed-source-{arch}-{template}|`) then builds. The
assembled upload is promised as `signed-source-{arch}-{template}`.
"""

from __future__ import annotations

from typing import Any

from marshmallow import fields, validate

from debusine.artifacts.categories import ArtifactCategory
from debusine.collections import LookupResult
from debusine.tasks import TaskDataSchema, TaskType
from debusine.tasks.fields import LookupMultiple, architecture, backend
from debusine.tasks.signing import KEY_PURPOSES
from debusine.workflows.base import Workflow, WorkflowValidationError
from debusine.workflows.sub_workflows import (
    check_categories,
    ensure_sub_workflow,
    internal,
    lookup_multiple_or_promises,
    real_artifact_ids,
    single_lookup_for,
)
from debusine.workflows.workflow_utils import (
    lookup_result_architecture,
    lookup_result_binary_package_name,
)

_BINARY_CATEGORIES = (ArtifactCategory.BINARY_PACKAGE, ArtifactCategory.UPLOAD)
_TEMPLATE_CATEGORIES = (ArtifactCategory.BINARY_PACKAGE,)


class MakeSignedSourceWorkflowData(TaskDataSchema):
    binary_artifacts = LookupMultiple(required=True)
    signing_template_artifacts = LookupMultiple(required=True)
    vendor = fields.String(required=True, validate=validate.Length(min=1))
    codename = fields.String(required=True, validate=validate.Length(min=1))
    architectures = fields.List(architecture(), load_default=None, allow_none=True)
    purpose = fields.String(required=True, validate=validate.OneOf(KEY_PURPOSES))
    key = fields.String(required=True, validate=validate.Length(min=1))
    sbuild_backend = backend()


class MakeSignedSourceWorkflow(Workflow):
    """Sign builds and make signed source packages; see the module docstring."""

    TASK_NAME = "make_signed_source"
    SCHEMA = MakeSignedSourceWorkflowData

    def _architecture(self, field: str, result: LookupResult) -> str:
        try:
            return lookup_result_architecture(result)
        except LookupError as exc:
            raise WorkflowValidationError(f"{field}: {exc}") from exc

    def _binaries(self) -> list[tuple[str, str]]:
        """(architecture, single lookup) of each binary artifact."""
        results = lookup_multiple_or_promises(
            self, "binary_artifacts", self.data["binary_artifacts"]
        )
        check_categories("binary_artifacts", results, _BINARY_CATEGORIES)
        return [
            (self._architecture("binary_artifacts", r), single_lookup_for(r))
            for r in results
        ]

    def _templates(self) -> list[tuple[str, str, str]]:
        """(architecture, binary package name, single lookup) of each template."""
        field = "signing_template_artifacts"
        results = lookup_multiple_or_promises(
            self, field, self.data["signing_template_artifacts"]
        )
        check_categories(field, results, _TEMPLATE_CATEGORIES)
        templates = []
        for result in results:
            try:
                name = lookup_result_binary_package_name(result)
            except LookupError as exc:
                raise WorkflowValidationError(f"{field}: {exc}") from exc
            templates.append(
                (self._architecture(field, result), name, single_lookup_for(result))
            )
        return templates

    def validate_input(self) -> None:
        self._binaries()
        self._templates()

    def build_dynamic_data(self) -> dict[str, Any]:
        results = lookup_multiple_or_promises(
            self, "binary_artifacts", self.data["binary_artifacts"]
        ) + lookup_multiple_or_promises(
            self, "signing_template_artifacts", self.data["signing_template_artifacts"]
        )
        return {
            "subject": None,
            "parameter_summary": (
                f"Sign for {self.data['vendor']}:{self.data['codename']}"
                f" with {self.data['purpose']} key {self.data['key']}"
            ),
            "input_artifacts_ids": real_artifact_ids(results),
        }

    def populate(self) -> None:
        binaries, templates = self._binaries(), self._templates()
        architectures = {arch for arch, _ in binaries} & {
            arch for arch, _, _ in templates
        }
        if self.data["architectures"] is not None:
            architectures &= set(self.data["architectures"])
        for arch, name, template in sorted(templates):
            if arch not in architectures:
                continue
            inputs = [lookup for a, lookup in binaries if a in (arch, "all")]
            self._sign_and_build(arch, name, template, inputs)

    def _sign_and_build(
        self, arch: str, name: str, template: str, binaries: list[str]
    ) -> None:
        key = f"{arch}-{name}"
        environment = f"{self.data['vendor']}/match:codename={self.data['codename']}"
        extract = self.work_request_ensure_child(
            task_name="extractforsigning",
            task_data={
                "input": {"template_artifact": template, "binary_artifacts": binaries},
                "environment": environment,
            },
            workflow_data={
                "display_name": f"Extract {name} for signing on {arch}",
                "step": f"extract-for-signing-{key}",
            },
        )
        self.requires_artifact(extract, [template, *binaries])
        self.provides_artifact(
            extract, ArtifactCategory.SIGNING_INPUT, f"signing-input-{key}"
        )
        sign = self.work_request_ensure_child(
            task_type=TaskType.SIGNING,
            task_name="sign",
            task_data={
                "purpose": self.data["purpose"],
                "unsigned": [internal(f"signing-input-{key}")],
                "key": self.data["key"],
            },
            workflow_data={
                "display_name": f"Sign {name} on {arch}",
                "step": f"sign-{key}",
            },
        )
        self.requires_artifact(sign, internal(f"signing-input-{key}"))
        self.provides_artifact(
            sign, ArtifactCategory.SIGNING_OUTPUT, f"signing-output-{key}"
        )
        assemble = self.work_request_ensure_child(
            task_name="assemblesignedsource",
            task_data={
                "environment": environment,
                "template": template,
                "signed": [internal(f"signing-output-{key}")],
            },
            workflow_data={
                "display_name": f"Assemble signed source of {name} on {arch}",
                "step": f"assemble-signed-source-{key}",
            },
        )
        self.requires_artifact(assemble, internal(f"signing-output-{key}"))
        # sbuild needs the source package; uploads use the .changes.
        self.provides_artifact(
            assemble, ArtifactCategory.SOURCE_PACKAGE, f"signed-source-package-{key}"
        )
        self.provides_artifact(
            assemble, ArtifactCategory.UPLOAD, f"signed-source-{key}"
        )
        # The sbuild workflow wants its architectures: those of this
        # workflow (or the template's), plus `all`.
        architectures = sorted({*(self.data["architectures"] or [arch]), "all"})
        ensure_sub_workflow(
            self,
            task_name="sbuild",
            task_data={
                "prefix": f"signed-source-{key}|",
                "input": {"source_artifact": internal(f"signed-source-package-{key}")},
                "target_distribution": f"{self.data['vendor']}:{self.data['codename']}",
                "backend": self.data["sbuild_backend"],
                "architectures": architectures,
            },
            workflow_data={
                "display_name": f"Build signed source of {name} on {arch}",
                "step": f"sbuild-signed-source-{key}",
            },
            requires=[internal(f"signed-source-package-{key}")],
        )
