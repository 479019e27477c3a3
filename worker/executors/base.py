"""The executor interface."""

from __future__ import annotations

from typing import ClassVar


class ExecutorUnavailable(Exception):
    """The task needs an executor this worker does not offer."""


class Executor:
    """Wraps the command that runs a task so it runs in the right place."""

    NAME: ClassVar[str]

    @classmethod
    def available(cls) -> bool:
        """Whether this host can use the executor (`executor:NAME:available`)."""
        raise NotImplementedError

    def wrap(self, argv: list[str]) -> list[str]:
        """The command line that runs `argv` inside the executor."""
        raise NotImplementedError
