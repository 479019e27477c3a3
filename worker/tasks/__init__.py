"""Worker-side task implementations (importing this registers them)."""

from worker.tasks import (  # noqa: F401  (importing registers the tasks)
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
)
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
