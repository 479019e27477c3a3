"""`makesourcepackageupload` (Worker): make a source-only upload of a `.dsc`."""

from __future__ import annotations

from typing import Any

from marshmallow import fields, validate

from debusine.tasks.base import (
    BaseTask,
    Resolved,
    TaskDataSchema,
    environment_lookup,
    single_lookup,
)
from debusine.tasks.describe import describe_source_and_environment
from debusine.tasks.fields import LookupSingle, StrictSchema, backend, environment
from debusine.tasks.types import TaskType


class MakeSourcePackageUploadInput(StrictSchema):
    source_artifact = LookupSingle(required=True)


class MakeSourcePackageUploadData(TaskDataSchema):
    input = fields.Nested(MakeSourcePackageUploadInput, required=True)
    # Include changelog entries since this version (dpkg-genchanges -v).
    since_version = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Regexp(r"^([0-9]+:)?[0-9][A-Za-z0-9.+~:-]*$"),
    )
    # The .changes file's Distribution (default: the changelog's).
    target_distribution = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9.+_-]*$"),
    )
    environment = environment(required=True)
    backend = backend()


class MakeSourcePackageUpload(BaseTask):
    """Runs dpkg-genchanges on the source; stores a debian:upload."""

    TASK_TYPE = TaskType.WORKER
    TASK_NAME = "makesourcepackageupload"
    SCHEMA = MakeSourcePackageUploadData
    EXECUTOR_BACKEND = "unshare"
    LOOKUPS = (single_lookup("input.source_artifact"), environment_lookup())

    def describe_inputs(self, resolved: Resolved) -> dict[str, Any]:
        return describe_source_and_environment(resolved, "source_artifact_id")
