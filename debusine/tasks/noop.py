"""`noop` (Worker) and `servernoop` (Server): tasks for tests and smoke checks."""

from __future__ import annotations

from marshmallow import fields, validate

from debusine.tasks.base import BaseTask, TaskDataSchema
from debusine.tasks.types import TaskType

# An hour: long enough for any test of a slow task, short enough that a
# typo cannot park a worker for days.
MAX_NOOP_SLEEP = 3600.0


class NoopData(TaskDataSchema):
    result = fields.Boolean(load_default=True)
    sleep = fields.Float(
        load_default=0.0,
        allow_nan=False,
        validate=validate.Range(min=0, max=MAX_NOOP_SLEEP),
    )
    host_architecture = fields.String(load_default=None, allow_none=True)


class Noop(BaseTask):
    """Does nothing on the worker's host; succeeds unless `result` is false.

    `sleep` (seconds, 0 to 3600, default 0) makes it take that long first,
    logging a line a second: a slow task for testing abort, lost workers
    and server restarts with real workers.
    """

    TASK_TYPE = TaskType.WORKER
    TASK_NAME = "noop"
    SCHEMA = NoopData


class ServerNoopData(TaskDataSchema):
    result = fields.Boolean(load_default=True)
    exception = fields.Boolean(load_default=False)


class ServerNoop(BaseTask):
    """Does nothing in the server; `exception` makes it raise (an error)."""

    TASK_TYPE = TaskType.SERVER
    TASK_NAME = "servernoop"
    SCHEMA = ServerNoopData
