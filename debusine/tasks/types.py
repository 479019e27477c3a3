"""Enums shared by the server, the worker and the signer (no database imports)."""

from __future__ import annotations

import enum


class TaskType(enum.StrEnum):
    WORKER = "Worker"
    SERVER = "Server"
    INTERNAL = "Internal"
    WORKFLOW = "Workflow"
    SIGNING = "Signing"
    WAIT = "Wait"


class WorkRequestResult(enum.StrEnum):
    NONE = ""
    SUCCESS = "success"
    FAILURE = "failure"
    ERROR = "error"
    SKIPPED = "skipped"


class WorkerType(enum.StrEnum):
    EXTERNAL = "external"
    SIGNING = "signing"
    # The orchestrator's in-process pool that runs server tasks.
    SERVER = "server"


# Which kind of worker runs each task type; the others never reach a worker.
WORKER_TYPE_FOR_TASK_TYPE: dict[TaskType, WorkerType] = {
    TaskType.WORKER: WorkerType.EXTERNAL,
    TaskType.SIGNING: WorkerType.SIGNING,
    TaskType.SERVER: WorkerType.SERVER,
}
