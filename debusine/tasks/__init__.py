"""Task registry: task-data schemas and worker requirements.

Importable without the database (the worker and the signer use it).
Importing this package registers every task.
"""

# Importing the task modules registers the tasks.
from debusine.tasks import (  # noqa: F401
    assemblesignedsource,
    autopkgtest,
    blhc,
    debdiff,
    extractforsigning,
    lintian,
    makesourcepackageupload,
    mergeuploads,
    mmdebstrap,
    noop,
    piuparts,
    sbuild,
    server,
    signing,
    suite_tasks,
    wait,
)
from debusine.tasks.base import (
    BaseTask,
    TaskDataError,
    TaskDataSchema,
    UnknownTaskError,
    WorkerRequirements,
    get_task,
    get_task_class,
    task_names,
    worker_architectures,
    worker_capabilities,
)
from debusine.tasks.types import TaskType, WorkerType, WorkRequestResult

__all__ = [
    "BaseTask",
    "TaskDataError",
    "TaskDataSchema",
    "TaskType",
    "UnknownTaskError",
    "WorkRequestResult",
    "WorkerRequirements",
    "WorkerType",
    "get_task",
    "get_task_class",
    "task_names",
    "worker_architectures",
    "worker_capabilities",
]
