"""The executor interface.

The daemon starts a task's own process with `wrap()`. A task that runs
commands in an environment (sbuild, autopkgtest...) uses an executor
instance as a context manager::

    with get_executor("unshare") as executor:
        executor.prepare(tarball, key="artifact-42", work_directory=directory)
        executor.run(["apt-get", "install", "-y", "hello"], network=True)
        executor.run(["hello"], cwd=directory)

`prepare()` makes a throw-away environment from a `debian:system-tarball`
artifact's file, `run()`/`popen()` run commands in it (network off unless
asked), and leaving the block (`cleanup()`) drops it.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Self

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class ExecutorUnavailable(Exception):
    """The task needs an executor this worker does not offer."""


class ExecutorError(Exception):
    """The environment cannot be prepared; the message says why."""


class Executor:
    """Where a task's commands run."""

    NAME: ClassVar[str]

    @classmethod
    def available(cls) -> bool:
        """Whether this host can use the executor (`executor:NAME:available`)."""
        raise NotImplementedError

    def wrap(self, argv: list[str]) -> list[str]:
        """The command line that starts the task's own process (the daemon's)."""
        raise NotImplementedError

    def prepare(
        self,
        environment: Path | None = None,
        *,
        key: str | None = None,
        work_directory: Path | None = None,
    ) -> None:
        """Make the environment commands run in.

        `environment` is a system tarball, `key` names it in caches (an
        artifact id; default: its sha256), `work_directory` is the host
        directory commands may read and write.
        """
        raise NotImplementedError

    def command(
        self, argv: Sequence[str], *, cwd: Path | None = None, network: bool = False
    ) -> list[str]:
        """The host command line that runs `argv` in the environment."""
        raise NotImplementedError

    def cleanup(self) -> None:
        """Drop what `prepare()` made; the executor can be prepared again."""

    def popen(
        self,
        argv: Sequence[str],
        *,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        network: bool = False,
        **kwargs: Any,
    ) -> subprocess.Popen[Any]:
        """Start `argv` in the environment (other arguments go to Popen)."""
        return subprocess.Popen(  # noqa: S603
            self.command(argv, cwd=cwd, network=network),
            env=self.environment_variables(env),
            cwd=self.host_cwd(cwd),
            **kwargs,
        )

    def run(
        self,
        argv: Sequence[str],
        *,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        network: bool = False,
        **kwargs: Any,
    ) -> subprocess.CompletedProcess[Any]:
        """Run `argv` in the environment to its end (like subprocess.run)."""
        kwargs.setdefault("stdin", subprocess.DEVNULL)
        kwargs.setdefault("check", False)
        return subprocess.run(  # noqa: S603
            self.command(argv, cwd=cwd, network=network),
            env=self.environment_variables(env),
            cwd=self.host_cwd(cwd),
            **kwargs,
        )

    def environment_variables(self, env: Mapping[str, str] | None) -> dict[str, str]:
        """A command's variables: those given (default: a minimal set), a PATH."""
        result = (
            {"PATH": DEFAULT_PATH, "LANG": "C.UTF-8", "HOME": "/root"}
            if env is None
            else dict(env)
        )
        result.setdefault("PATH", DEFAULT_PATH)
        return result

    def host_cwd(self, cwd: Path | None) -> Path | None:
        """The directory the host process starts in (None: the executor's)."""
        return None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.cleanup()
