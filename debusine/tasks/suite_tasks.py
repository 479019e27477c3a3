"""Server tasks that maintain suites: their task data.

`generatesuiteindexes` writes a `debian:suite`'s Packages, Sources and
Release files; `updatesuitelintiancollection` keeps a
`debian:suite-lintian` collection in step with its suite. They run in the
orchestrator (debusine.orchestration.server_tasks).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from marshmallow import ValidationError, fields, validates

from debusine.tasks.base import BaseTask, TaskDataSchema
from debusine.tasks.fields import LookupSingle
from debusine.tasks.types import TaskType


class GenerateSuiteIndexesData(TaskDataSchema):
    suite_collection = LookupSingle(required=True)
    generate_at = fields.String(required=True)

    @validates("generate_at")
    def _generate_at(self, value: str, **kwargs: Any) -> None:
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            raise ValidationError("Expected an ISO 8601 date and time") from None
        if parsed.tzinfo is None:
            raise ValidationError("Expected a time zone, e.g. +00:00")


class GenerateSuiteIndexes(BaseTask):
    """Write the suite's indexes as of `generate_at`."""

    TASK_TYPE = TaskType.SERVER
    TASK_NAME = "generatesuiteindexes"
    SCHEMA = GenerateSuiteIndexesData


class UpdateSuiteLintianCollectionData(TaskDataSchema):
    base_collection = LookupSingle(required=True)
    derived_collection = LookupSingle(required=True)
    child_task_data = fields.Dict(
        keys=fields.String(), load_default=None, allow_none=True
    )
    force = fields.Boolean(load_default=False)


class UpdateSuiteLintianCollection(BaseTask):
    """Drop lintian results of packages no longer in the suite; list the
    packages that still need a lintian run (in `output_data`)."""

    TASK_TYPE = TaskType.SERVER
    TASK_NAME = "updatesuitelintiancollection"
    SCHEMA = UpdateSuiteLintianCollectionData
