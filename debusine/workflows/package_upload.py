"""The `package_upload` workflow: sign and upload packages to an upload queue.

For a `debian:source-package` source, a `makesourcepackageupload` makes
its `.changes` first; with `merge_uploads` and more than one upload, a
`mergeuploads` combines them (`vendor` and `codename` give the
environment of `makesourcepackageupload`). Each upload is then signed (`debsign` with
`key`, or an `externaldebsign` waiting for the user when a signature is
required and no key is given) and uploaded by a `packageupload` server
task. Each step depends on the previous one through promises in the
internal collection, named with `prefix` (several uploads can share one
root workflow).
"""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate, validates, validates_schema

from debusine.artifacts.categories import ArtifactCategory
from debusine.collections import LookupResult
from debusine.tasks import TaskDataSchema, TaskType
from debusine.tasks.fields import LookupMultiple, LookupSingle
from debusine.tasks.server import check_upload_target
from debusine.workflows.base import Workflow, WorkflowValidationError
from debusine.workflows.sub_workflows import (
    check_categories,
    drop_none,
    internal,
    lookup_multiple_or_promises,
    lookup_single_or_promise,
    real_artifact_ids,
    result_category,
    single_lookup_for,
)

DEFAULT_UPLOAD_TARGET = "ftp://anonymous@ftp.upload.debian.org/pub/UploadQueue/"
_SOURCE_CATEGORIES = (ArtifactCategory.SOURCE_PACKAGE, ArtifactCategory.UPLOAD)
_UPLOAD_CATEGORIES = (ArtifactCategory.UPLOAD,)


class PackageUploadWorkflowData(TaskDataSchema):
    prefix = fields.String(load_default="", validate=validate.Regexp(r"^[^/]*$"))
    source_artifact = LookupSingle(load_default=None, allow_none=True)
    binary_artifacts = LookupMultiple(load_default=list)
    merge_uploads = fields.Boolean(load_default=False)
    since_version = fields.String(load_default=None, allow_none=True)
    target_distribution = fields.String(load_default=None, allow_none=True)
    key = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(min=1)
    )
    require_signature = fields.Boolean(load_default=True)
    target = fields.String(required=True)
    delayed_days = fields.Integer(
        strict=True, load_default=None, allow_none=True, validate=validate.Range(0, 15)
    )
    vendor = fields.String(load_default=None, allow_none=True)
    codename = fields.String(load_default=None, allow_none=True)

    @validates("target")
    def _target(self, value: str, **kwargs: Any) -> None:
        check_upload_target(value)

    @validates_schema
    def _something_to_upload(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("source_artifact") is None and not data.get("binary_artifacts"):
            raise ValidationError(
                "Set source_artifact or binary_artifacts (or both).",
                "source_artifact",
            )


class PackageUploadWorkflow(Workflow):
    """Sign and upload source and binary uploads; see the module docstring."""

    TASK_NAME = "package_upload"
    SCHEMA = PackageUploadWorkflowData

    # -- inputs ------------------------------------------------------------------------

    def _source(self) -> LookupResult | None:
        lookup = self.data["source_artifact"]
        if lookup is None:
            return None
        result = lookup_single_or_promise(self, "source_artifact", lookup)
        check_categories("source_artifact", [result], _SOURCE_CATEGORIES)
        return result

    def _binaries(self) -> list[LookupResult]:
        if not self.data["binary_artifacts"]:
            return []
        results = lookup_multiple_or_promises(
            self, "binary_artifacts", self.data["binary_artifacts"]
        )
        check_categories("binary_artifacts", results, _UPLOAD_CATEGORIES)
        return results

    def _environment(self, needed_by: str) -> str:
        for field in ("vendor", "codename"):
            if not self.data[field]:
                raise WorkflowValidationError(
                    f"{field}: required to run {needed_by} (its environment is"
                    " {vendor}/match:codename={codename})"
                )
        return f"{self.data['vendor']}/match:codename={self.data['codename']}"

    def _needs_source_upload(self, source: LookupResult | None) -> bool:
        return (
            source is not None
            and result_category(source) == ArtifactCategory.SOURCE_PACKAGE
        )

    def _needs_merge(self, source: LookupResult | None, binaries: list[Any]) -> bool:
        return self.data["merge_uploads"] and (source is not None) + len(binaries) > 1

    def validate_input(self) -> None:
        source = self._source()
        self._binaries()
        if self._needs_source_upload(source):
            self._environment("makesourcepackageupload")

    def build_dynamic_data(self) -> dict[str, Any]:
        source, binaries = self._source(), self._binaries()
        subject = None
        if source is not None and source.artifact is not None:
            data = source.artifact.data
            subject = data.get("name") or (data.get("changes_fields") or {}).get(
                "Source"
            )
        return {
            "subject": subject,
            "parameter_summary": f"Upload to {self.data['target']}",
            "input_artifacts_ids": real_artifact_ids(
                [r for r in [source, *binaries] if r is not None]
            ),
        }

    # -- structure ---------------------------------------------------------------------

    def _name(self, name: str) -> str:
        return f"{self.data['prefix']}{name}"

    def populate(self) -> None:
        source, binaries = self._source(), self._binaries()
        uploads: list[str] = []
        if source is not None:
            uploads.append(self._source_upload(source))
        uploads += [single_lookup_for(result) for result in binaries]
        if self._needs_merge(source, binaries):
            uploads = [self._merge(uploads)]
        for index, upload in enumerate(uploads):
            self._upload(index, self._sign(index, upload))

    def _source_upload(self, source: LookupResult) -> str:
        lookup = single_lookup_for(source)
        if not self._needs_source_upload(source):
            return lookup
        child = self.work_request_ensure_child(
            task_name="makesourcepackageupload",
            task_data=drop_none(
                {
                    "input": {"source_artifact": lookup},
                    "since_version": self.data["since_version"],
                    "target_distribution": self.data["target_distribution"],
                    "environment": self._environment("makesourcepackageupload"),
                }
            ),
            workflow_data={
                "display_name": "Make .changes for the source package",
                "step": "source-package-upload",
            },
        )
        self.requires_artifact(child, lookup)
        name = self._name("package-upload-source")
        self.provides_artifact(child, ArtifactCategory.UPLOAD, name)
        return internal(name)

    def _merge(self, uploads: list[str]) -> str:
        child = self.work_request_ensure_child(
            task_name="mergeuploads",
            # mergechanges runs on the worker's host: no environment.
            task_data={"input": {"uploads": uploads}},
            workflow_data={"display_name": "Merge uploads", "step": "merge-uploads"},
        )
        self.requires_artifact(child, uploads)
        name = self._name("package-upload-merged")
        self.provides_artifact(child, ArtifactCategory.UPLOAD, name)
        return internal(name)

    def _sign(self, index: int, upload: str) -> str:
        """The lookup of the upload to send: signed by debusine, by the user, or not."""
        if self.data["key"]:
            child = self.work_request_ensure_child(
                task_type=TaskType.SIGNING,
                task_name="debsign",
                task_data={"unsigned": upload, "key": self.data["key"]},
                workflow_data={
                    "display_name": f"Sign upload {index}",
                    "step": f"debsign-{index}",
                },
            )
        elif self.data["require_signature"]:
            child = self.work_request_ensure_child(
                task_type=TaskType.WAIT,
                task_name="externaldebsign",
                task_data={"unsigned": upload},
                workflow_data={
                    "display_name": f"Wait for the signature of upload {index}",
                    "step": f"external-debsign-{index}",
                    "needs_input": True,
                },
            )
        else:
            return upload
        self.requires_artifact(child, upload)
        name = self._name(f"package-upload-signed-{index}")
        self.provides_artifact(child, ArtifactCategory.UPLOAD, name)
        return internal(name)

    def _upload(self, index: int, upload: str) -> None:
        child = self.work_request_ensure_child(
            task_type=TaskType.SERVER,
            task_name="packageupload",
            task_data=drop_none(
                {
                    "input": {"upload": upload},
                    "target": self.data["target"],
                    "delayed_days": self.data["delayed_days"],
                }
            ),
            workflow_data={
                "display_name": f"Upload {index} to {self.data['target']}",
                "step": f"package-upload-{index}",
            },
        )
        self.requires_artifact(child, upload)
