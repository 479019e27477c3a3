"""Worker-side task implementations (importing this registers them)."""

from worker.tasks import noop  # noqa: F401  (registers the task)
from worker.tasks.base import (
    TaskContext,
    UnsupportedTaskError,
    WorkerTask,
    get_worker_task,
    worker_tasks,
)

__all__ = [
    "TaskContext",
    "UnsupportedTaskError",
    "WorkerTask",
    "get_worker_task",
    "worker_tasks",
]
