"""Internal tasks that only workflows create: callbacks and synchronization points.

They never reach a worker (no worker type): the orchestration loop runs a
`workflow` callback (its parent's `callback_<step>`) and completes a
`synchronization_point` as soon as it is pending.
"""

from __future__ import annotations

from debusine.tasks import BaseTask, TaskDataSchema, TaskType

CALLBACK_TASK_NAME = "workflow"
SYNCHRONIZATION_POINT_TASK_NAME = "synchronization_point"


class WorkflowCallback(BaseTask):
    """Runs `callback_<workflow_data.step>` of the parent workflow."""

    TASK_TYPE = TaskType.INTERNAL
    TASK_NAME = CALLBACK_TASK_NAME
    SCHEMA = TaskDataSchema


class SynchronizationPoint(BaseTask):
    """A node other children can depend on; completes as soon as it is unblocked."""

    TASK_TYPE = TaskType.INTERNAL
    TASK_NAME = SYNCHRONIZATION_POINT_TASK_NAME
    SCHEMA = TaskDataSchema
