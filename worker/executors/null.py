"""The `null` executor: the task runs on the worker's host, unconfined.

Only for trusted tasks (noop and the like): nothing separates them from the
worker's user and files.
"""

from __future__ import annotations

from worker.executors.base import Executor


class NullExecutor(Executor):
    NAME = "null"

    @classmethod
    def available(cls) -> bool:
        return True

    def wrap(self, argv: list[str]) -> list[str]:
        return list(argv)
