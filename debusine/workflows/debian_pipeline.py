"""The `debian_pipeline` workflow: build, check, confirm, sign and upload.

An `sbuild` sub-workflow builds the source on the effective architectures
(see the `qa` workflow); a `qa` sub-workflow checks the builds it
promises (`build-{arch}`); with `enable_confirmation`, a `confirm` wait
task asks a person to approve what was built once the builds and the
checks are done; with `enable_make_signed_source` and
`signing_template_names`, a `make_signed_source` sub-workflow signs the
builds; with `enable_upload`, a `package_upload` sub-workflow uploads the
source and its builds, and one more each signed source and its builds.
Signing and uploading wait for the confirmation.
"""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from debusine.artifacts.categories import ArtifactCategory
from debusine.collections import ExpectType
from debusine.models import WorkRequest
from debusine.tasks import TaskType
from debusine.tasks.fields import LookupSingle, architecture, backend
from debusine.tasks.server import check_upload_target
from debusine.tasks.signing import KEY_PURPOSES
from debusine.work_requests import add_dependency
from debusine.workflows.base import Workflow
from debusine.workflows.package_upload import DEFAULT_UPLOAD_TARGET
from debusine.workflows.qa import QAChecksData, effective_architectures
from debusine.workflows.sub_workflows import (
    check_categories,
    drop_none,
    ensure_sub_workflow,
    internal,
    lookup_single_or_promise,
    real_artifact_ids,
)

# Fields of this workflow handed to the qa sub-workflow as they are.
QA_FIELDS = tuple(
    name for name in QAChecksData().fields if name != "task_configuration"
)
QA_FLAGS = (
    "enable_autopkgtest",
    "enable_reverse_dependencies_autopkgtest",
    "enable_lintian",
    "enable_piuparts",
    "enable_debdiff",
    "enable_blhc",
)


class DebianPipelineWorkflowData(QAChecksData):
    source_artifact = LookupSingle(required=True)
    signing_template_names = fields.Dict(
        keys=architecture(),
        values=fields.List(fields.String(validate=validate.Length(min=1))),
        load_default=dict,
    )
    sbuild_backend = backend()
    sbuild_environment_variant = fields.String(load_default=None, allow_none=True)
    enable_make_signed_source = fields.Boolean(load_default=False)
    make_signed_source_purpose = fields.String(
        load_default=None, allow_none=True, validate=validate.OneOf(KEY_PURPOSES)
    )
    make_signed_source_key = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(min=1)
    )
    enable_confirmation = fields.Boolean(load_default=False)
    enable_upload = fields.Boolean(load_default=False)
    upload_key = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(min=1)
    )
    upload_require_signature = fields.Boolean(load_default=True)
    upload_include_source = fields.Boolean(load_default=True)
    upload_include_binaries = fields.Boolean(load_default=True)
    upload_merge_uploads = fields.Boolean(load_default=True)
    upload_since_version = fields.String(load_default=None, allow_none=True)
    upload_target_distribution = fields.String(load_default=None, allow_none=True)
    upload_target = fields.String(load_default=DEFAULT_UPLOAD_TARGET)
    upload_delayed_days = fields.Integer(
        strict=True, load_default=None, allow_none=True, validate=validate.Range(0, 15)
    )

    @validates_schema
    def _signing_settings(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("enable_make_signed_source"):
            for field in ("make_signed_source_purpose", "make_signed_source_key"):
                if not data.get(field):
                    raise ValidationError(
                        "Required when enable_make_signed_source is set.", field
                    )

    @validates_schema
    def _upload_settings(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not data.get("enable_upload"):
            return
        check = data.get("upload_target", DEFAULT_UPLOAD_TARGET)
        try:
            check_upload_target(check)
        except ValidationError as exc:
            raise ValidationError(exc.messages, "upload_target") from exc
        if not (
            data.get("upload_include_source", True)
            or data.get("upload_include_binaries", True)
        ):
            raise ValidationError(
                "Nothing to upload: include the source, the binaries or both.",
                "upload_include_source",
            )


class DebianPipelineWorkflow(Workflow):
    """Build, check, confirm, sign and upload; see the module docstring."""

    TASK_NAME = "debian_pipeline"
    SCHEMA = DebianPipelineWorkflowData

    def _source(self) -> Any:
        result = lookup_single_or_promise(
            self, "source_artifact", self.data["source_artifact"]
        )
        check_categories(
            "source_artifact",
            [result],
            (ArtifactCategory.SOURCE_PACKAGE, ArtifactCategory.UPLOAD),
        )
        return result

    def validate_input(self) -> None:
        self._source()
        effective_architectures(self)

    def build_dynamic_data(self) -> dict[str, Any]:
        source = self._source()
        subject = None
        if source.artifact is not None:
            data = source.artifact.data
            subject = data.get("name") or (data.get("changes_fields") or {}).get(
                "Source"
            )
        return {
            "subject": subject,
            "parameter_summary": (
                f"Pipeline for {self.data['vendor']}:{self.data['codename']}"
            ),
            "input_artifacts_ids": real_artifact_ids([source]),
        }

    # -- structure ---------------------------------------------------------------------

    def _built(self, architectures: set[str], prefix: str = "") -> list[str]:
        """Architectures whose build is promised (or done): `build-{arch}` exists."""
        built = []
        for arch in sorted(architectures):
            try:
                self.lookup(
                    internal(f"{prefix}build-{arch}"),
                    expect_type=ExpectType.ARTIFACT_OR_PROMISE,
                )
            except LookupError:
                continue
            built.append(arch)
        return built

    def populate(self) -> None:
        data = self.data
        self._source()
        architectures = effective_architectures(self)
        sbuild = ensure_sub_workflow(
            self,
            task_name="sbuild",
            task_data=drop_none(
                {
                    "input": {"source_artifact": data["source_artifact"]},
                    "target_distribution": f"{data['vendor']}:{data['codename']}",
                    "backend": data["sbuild_backend"],
                    "architectures": sorted(architectures),
                    "arch_all_host_architecture": data["arch_all_host_architecture"],
                    "environment_variant": data["sbuild_environment_variant"],
                    "extra_repositories": data["extra_repositories"],
                    "signing_template_names": data["signing_template_names"] or None,
                }
            ),
            workflow_data={"display_name": "sbuild", "step": "sbuild"},
        )
        built = self._built(architectures)
        builds = [internal(f"build-{arch}") for arch in built]
        qa = None
        if builds and any(data[flag] for flag in QA_FLAGS):
            qa = ensure_sub_workflow(
                self,
                task_name="qa",
                task_data=drop_none(
                    {
                        **{name: data[name] for name in QA_FIELDS},
                        "source_artifact": data["source_artifact"],
                        "binary_artifacts": builds,
                        "architectures": sorted(architectures),
                    }
                ),
                workflow_data={"display_name": "QA", "step": "qa"},
            )
        confirm = self._confirm(sbuild, qa) if data["enable_confirmation"] else None
        signed = self._make_signed_source(architectures, built, confirm)
        if data["enable_upload"]:
            self._uploads(built, signed, confirm)

    def _confirm(self, sbuild: WorkRequest, qa: WorkRequest | None) -> WorkRequest:
        confirm = self.work_request_ensure_child(
            task_type=TaskType.WAIT,
            task_name="confirm",
            task_data={"confirm_label": "Sign and upload"},
            workflow_data={
                "display_name": "Confirm what was built",
                "step": "confirm",
                "needs_input": True,
            },
        )
        for done_first in (sbuild, qa):
            if done_first is not None:
                add_dependency(self.session, confirm, done_first)
        return confirm

    def _make_signed_source(
        self, architectures: set[str], built: list[str], confirm: WorkRequest | None
    ) -> dict[str, WorkRequest]:
        """Lay out make_signed_source: its sbuild of each `{arch}-{template}`."""
        data = self.data
        templates = [
            (arch, name)
            for arch, names in sorted(data["signing_template_names"].items())
            if arch in built
            for name in sorted(set(names))
        ]
        if not (data["enable_make_signed_source"] and templates):
            return {}
        child = ensure_sub_workflow(
            self,
            task_name="make_signed_source",
            task_data={
                "binary_artifacts": [internal(f"build-{arch}") for arch in built],
                "signing_template_artifacts": [
                    internal(f"signing-template-{arch}-{name}")
                    for arch, name in templates
                ],
                "vendor": data["vendor"],
                "codename": data["codename"],
                "architectures": sorted(architectures),
                "purpose": data["make_signed_source_purpose"],
                "key": data["make_signed_source_key"],
                "sbuild_backend": data["sbuild_backend"],
            },
            workflow_data={
                "display_name": "make signed source",
                "step": "make-signed-source",
            },
        )
        if confirm is not None:
            self._wait_for(confirm, child, "extractforsigning")
        children = self.children_of(child)
        return {
            f"{arch}-{name}": next(
                c
                for c in children
                if c.workflow_data.get("step") == f"sbuild-signed-source-{arch}-{name}"
            )
            for arch, name in templates
        }

    def _wait_for(
        self, confirm: WorkRequest, workflow: WorkRequest, first: str
    ) -> None:
        """The `first` steps of a sub-workflow wait for the confirmation."""
        for child in self.children_of(workflow):
            if first in ("*", child.task_name):
                add_dependency(self.session, child, confirm)

    def _upload_task_data(
        self, source: str | None, binaries: Any, prefix: str
    ) -> dict[str, Any]:
        data = self.data
        return drop_none(
            {
                "prefix": prefix,
                "source_artifact": source,
                "binary_artifacts": binaries,
                "merge_uploads": data["upload_merge_uploads"],
                "since_version": data["upload_since_version"],
                "target_distribution": data["upload_target_distribution"],
                "key": data["upload_key"],
                "require_signature": data["upload_require_signature"],
                "target": data["upload_target"],
                "delayed_days": data["upload_delayed_days"],
                "vendor": data["vendor"],
                "codename": data["codename"],
            }
        )

    def _uploads(
        self,
        built: list[str],
        signed: dict[str, WorkRequest],
        confirm: WorkRequest | None,
    ) -> None:
        data = self.data
        include_binaries = data["upload_include_binaries"]
        source = data["source_artifact"] if data["upload_include_source"] else None
        binaries = [internal(f"build-{arch}") for arch in built]
        if source is not None or (include_binaries and binaries):
            main = ensure_sub_workflow(
                self,
                task_name="package_upload",
                task_data=self._upload_task_data(
                    source, binaries if include_binaries else [], ""
                ),
                workflow_data={"display_name": "upload", "step": "upload"},
            )
            if confirm is not None:
                self._wait_for(confirm, main, "*")
        for key, sbuild in sorted(signed.items()):
            prefix = f"signed-source-{key}|"
            # Which architectures the signed source builds is known once its
            # sbuild has run: upload after it, with what it built.
            ensure_sub_workflow(
                self,
                task_name="package_upload",
                task_data=self._upload_task_data(
                    internal(f"signed-source-{key}"),
                    {
                        "collection": "internal@collections",
                        "name__startswith": f"{prefix}build-",
                    }
                    if include_binaries
                    else [],
                    prefix,
                ),
                workflow_data={
                    "display_name": f"upload signed source {key}",
                    "step": f"upload-signed-source-{key}",
                },
                after=[sbuild],
            )
