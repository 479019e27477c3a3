"""`mergeuploads` (Worker): merge several uploads into one `.changes`."""

from __future__ import annotations

from typing import Any

from marshmallow import fields

from debusine.tasks.base import BaseTask, Resolved, TaskDataSchema, multiple_lookup
from debusine.tasks.describe import describe_source_and_environment
from debusine.tasks.fields import LookupMultiple, StrictSchema
from debusine.tasks.types import TaskType


class MergeUploadsInput(StrictSchema):
    uploads = LookupMultiple(required=True)


class MergeUploadsData(TaskDataSchema):
    input = fields.Nested(MergeUploadsInput, required=True)


class MergeUploads(BaseTask):
    """Runs mergechanges on the uploads' `.changes`; stores a debian:upload."""

    TASK_TYPE = TaskType.WORKER
    TASK_NAME = "mergeuploads"
    SCHEMA = MergeUploadsData
    LOOKUPS = (multiple_lookup("input.uploads"),)

    def describe_inputs(self, resolved: Resolved) -> dict[str, Any]:
        return describe_source_and_environment(resolved, "uploads_ids")
