"""The `null` executor: the task runs on the worker's host, unconfined.

Only for trusted tasks (noop and the like): nothing separates them from the
worker's user and files.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from worker.executors.base import Executor, ExecutorError


class NullExecutor(Executor):
    NAME = "null"

    @classmethod
    def available(cls) -> bool:
        return True

    def wrap(self, argv: list[str]) -> list[str]:
        return list(argv)

    def prepare(
        self,
        environment: Path | None = None,
        *,
        key: str | None = None,
        work_directory: Path | None = None,
    ) -> None:
        if environment is not None:
            raise ExecutorError(
                "the null executor runs commands on the worker's host: "
                "it cannot use an environment"
            )

    def command(
        self, argv: Sequence[str], *, cwd: Path | None = None, network: bool = False
    ) -> list[str]:
        return list(argv)

    def host_cwd(self, cwd: Path | None) -> Path | None:
        return cwd

    def environment_variables(self, env: Mapping[str, str] | None) -> dict[str, str]:
        # On the host, the worker's own variables by default.
        return dict(os.environ) if env is None else super().environment_variables(env)
