"""Worker-side task implementations (importing this registers them)."""

from worker.tasks import noop  # noqa: F401  (registers the task)
from worker.tasks.base import (
    InputArtifact,
    InputDownloadFailed,
    OutputUploadFailed,
    TaskContext,
    TaskError,
    UnsupportedTaskError,
    WorkerTask,
    get_worker_task,
    worker_tasks,
)

__all__ = [
    "InputArtifact",
    "InputDownloadFailed",
    "OutputUploadFailed",
    "TaskContext",
    "TaskError",
    "UnsupportedTaskError",
    "WorkerTask",
    "get_worker_task",
    "worker_tasks",
]
