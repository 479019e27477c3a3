"""Executors: where a worker task's commands run.

`null` runs them on the worker's host, for trusted tasks such as `noop`.
`unshare` runs them in a root-less container made from a
`debian:system-tarball` artifact, for the Debian tools (sbuild,
autopkgtest...). See base.py for the interface.
"""

from __future__ import annotations

from worker.executors.base import Executor, ExecutorError, ExecutorUnavailable
from worker.executors.null import NullExecutor
from worker.executors.unshare import UnshareExecutor

EXECUTORS: dict[str, type[Executor]] = {
    NullExecutor.NAME: NullExecutor,
    UnshareExecutor.NAME: UnshareExecutor,
}


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
    "ExecutorError",
    "ExecutorUnavailable",
    "NullExecutor",
    "UnshareExecutor",
    "available_executors",
    "get_executor",
]
