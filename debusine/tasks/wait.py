"""Wait tasks: nodes that wait for a person (or a time) rather than a worker.

Only workflows create them; the server completes them when what they wait
for happens.
"""

from __future__ import annotations

from marshmallow import fields, validate

from debusine.tasks.base import BaseTask, TaskDataSchema, single_lookup
from debusine.tasks.fields import LookupSingle
from debusine.tasks.types import TaskType


class ExternalDebsignData(TaskDataSchema):
    unsigned = LookupSingle(required=True)


class ExternalDebsign(BaseTask):
    """Wait for a user to provide a signature for a `debian:upload`."""

    TASK_TYPE = TaskType.WAIT
    TASK_NAME = "externaldebsign"
    SCHEMA = ExternalDebsignData
    LOOKUPS = (single_lookup("unsigned"),)


class ConfirmData(TaskDataSchema):
    auto_confirm_if_no_failure = fields.Boolean(load_default=False)
    confirm_label = fields.String(
        load_default="Confirm", validate=validate.Length(min=1, max=255)
    )
    deny_label = fields.String(
        load_default="Deny", validate=validate.Length(min=1, max=255)
    )


class Confirm(BaseTask):
    """A manual approval step: a user confirms (or denies) before what follows."""

    TASK_TYPE = TaskType.WAIT
    TASK_NAME = "confirm"
    SCHEMA = ConfirmData
