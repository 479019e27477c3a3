"""Wait tasks: nodes that wait for a person (or a time) rather than a worker.

Only workflows create them; no worker runs them. The orchestrator marks a
pending wait task running as soon as it may start
(`debusine.orchestration.wait_tasks`), and it stays running until what it
waits for happens:

* `delay`: the orchestrator completes it (success) once `delay_until` has
  passed;
* `externaldebsign`: its creator provides the signed `debian:upload`
  (`POST /api/1.0/work-request/{id}/external-debsign/`);
* `confirm`: a reviewer accepts (success) or rejects (failure) it
  (`POST /api/1.0/work-request/{id}/confirm/`).

`NEEDS_INPUT` says whether a person must act; workflows copy it into the
child's `workflow_data.needs_input`, which makes the workflow's runtime
status `needs_input` rather than `waiting`.
"""

from __future__ import annotations

from typing import ClassVar

from marshmallow import fields, validate

from debusine.tasks.base import BaseTask, TaskDataSchema, single_lookup
from debusine.tasks.fields import LookupSingle
from debusine.tasks.types import TaskType


class WaitTask(BaseTask):
    """A task no worker runs: it waits for a time or a person."""

    NEEDS_INPUT: ClassVar[bool] = False


class DelayData(TaskDataSchema):
    # Aware: the orchestrator compares it with the current UTC time.
    delay_until = fields.AwareDateTime(required=True)


class Delay(WaitTask):
    """Wait until `delay_until` (an ISO 8601 date/time with a time zone)."""

    TASK_TYPE = TaskType.WAIT
    TASK_NAME = "delay"
    SCHEMA = DelayData


class ExternalDebsignData(TaskDataSchema):
    unsigned = LookupSingle(required=True)


class ExternalDebsign(WaitTask):
    """Wait for a user to provide a signature for a `debian:upload`."""

    NEEDS_INPUT = True
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


class Confirm(WaitTask):
    """A manual approval step: a user confirms (or denies) before what follows.

    With `auto_confirm_if_no_failure`, it confirms itself when it starts if
    nothing in its workflow has failed so far.
    """

    NEEDS_INPUT = True
    TASK_TYPE = TaskType.WAIT
    TASK_NAME = "confirm"
    SCHEMA = ConfirmData
