"""Worker-side task implementations: what a worker task does when it runs.

The task's type, name, version and data schema live in the shared registry
(`debusine.tasks`); this module adds the code that runs on the worker, in a
child process started by the daemon (`python -m worker.run_task`).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from debusine.tasks import TaskType, get_task, get_task_class

_REGISTRY: dict[str, type[WorkerTask]] = {}


class UnsupportedTaskError(Exception):
    """This worker has no implementation of the task."""


@dataclass(frozen=True)
class TaskContext:
    """Where and for whom a task runs."""

    work_request_id: int
    work_directory: Path
    api_url: str | None = None
    token: str | None = None


class WorkerTask:
    """Subclasses set NAME and implement `run()`: True success, False failure.

    An exception from `run()` makes the work request's result `error`.
    """

    NAME: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        name = cls.__dict__.get("NAME")
        if name:
            _REGISTRY[name.lower()] = cls

    def __init__(self, task_data: Mapping[str, Any], context: TaskContext) -> None:
        self.data = self.validate(task_data)
        self.context = context

    @classmethod
    def validate(cls, task_data: Mapping[str, Any]) -> dict[str, Any]:
        """The task data loaded by the shared schema (TaskDataError if wrong)."""
        return get_task(TaskType.WORKER, cls.NAME, task_data).task_data

    @classmethod
    def version(cls) -> int:
        return get_task_class(TaskType.WORKER, cls.NAME).TASK_VERSION

    @classmethod
    def executor_backend(cls) -> str | None:
        """The executor the task needs (None: the host, `null`)."""
        return get_task_class(TaskType.WORKER, cls.NAME).EXECUTOR_BACKEND

    def log(self, message: str) -> None:
        """A line of the task's log (streamed live to the server)."""
        print(message, file=sys.stdout, flush=True)

    def run(self) -> bool:
        raise NotImplementedError


def worker_tasks() -> dict[str, type[WorkerTask]]:
    return dict(_REGISTRY)


def get_worker_task(name: str) -> type[WorkerTask]:
    try:
        return _REGISTRY[name.lower()]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise UnsupportedTaskError(
            f"this worker cannot run the task {name!r}; it runs: {known}"
        ) from None
