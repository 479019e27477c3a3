"""`noop` (Worker) and `servernoop` (Server): tasks for tests and smoke checks."""

from __future__ import annotations

from marshmallow import fields

from debusine.tasks.base import BaseTask, TaskDataSchema
from debusine.tasks.types import TaskType


class NoopData(TaskDataSchema):
    result = fields.Boolean(load_default=True)
    host_architecture = fields.String(load_default=None, allow_none=True)


class Noop(BaseTask):
    """Does nothing on the worker's host; succeeds unless `result` is false."""

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
