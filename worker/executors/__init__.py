"""Executors: where a worker task's process runs.

`null` runs it on the worker's host, for trusted tasks such as `noop`. The
`unshare` executor (a root-less container made from a
`debian:system-tarball` artifact) comes with the Debian tools (sbuild,
autopkgtest...), which are the tasks that need it.
"""

from __future__ import annotations

from worker.executors.base import Executor, ExecutorUnavailable
from worker.executors.null import NullExecutor

EXECUTORS: dict[str, type[Executor]] = {NullExecutor.NAME: NullExecutor}


def available_executors() -> list[str]:
    return sorted(name for name, cls in EXECUTORS.items() if cls.available())


def get_executor(name: str | None) -> Executor:
    """The executor for a task's EXECUTOR_BACKEND (None: the host)."""
    cls = EXECUTORS.get(name or NullExecutor.NAME)
    if cls is None or not cls.available():
        raise ExecutorUnavailable(f"executor {name!r} is not available on this worker")
    return cls()


__all__ = [
    "EXECUTORS",
    "Executor",
    "ExecutorUnavailable",
    "NullExecutor",
    "available_executors",
    "get_executor",
]
