"""`extractforsigning` (Worker): extract the files a signing template lists."""

from __future__ import annotations

from marshmallow import fields

from debusine.tasks.base import (
    BaseTask,
    TaskDataSchema,
    environment_lookup,
    multiple_lookup,
    single_lookup,
)
from debusine.tasks.fields import (
    LookupMultiple,
    LookupSingle,
    StrictSchema,
    backend,
    environment,
)
from debusine.tasks.types import TaskType


class ExtractForSigningInput(StrictSchema):
    # A debian:binary-package holding a signing template (files.json).
    template_artifact = LookupSingle(required=True)
    # The binaries holding the files to sign.
    binary_artifacts = LookupMultiple(required=True)


class ExtractForSigningData(TaskDataSchema):
    input = fields.Nested(ExtractForSigningInput, required=True)
    environment = environment(required=True)
    backend = backend()


class ExtractForSigning(BaseTask):
    """Stores one debusine:signing-input per package the template names."""

    TASK_TYPE = TaskType.WORKER
    TASK_NAME = "extractforsigning"
    SCHEMA = ExtractForSigningData
    EXECUTOR_BACKEND = "unshare"
    LOOKUPS = (
        single_lookup("input.template_artifact"),
        multiple_lookup("input.binary_artifacts"),
        environment_lookup(),
    )
