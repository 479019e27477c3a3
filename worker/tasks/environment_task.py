"""Worker tasks whose tools run inside the task's environment (unshare).

An `EnvironmentTask` downloads its `debian:system-tarball` (`environment_id`),
prepares the worker's unshare executor with it (unpacked once into the
worker's environment cache) and runs its commands there, with the work
directory bound at the same path. The version of `PACKAGE` in the
environment is logged; the debug logs are uploaded however the task ends
(as `ToolTask` does).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from debusine.artifacts.categories import ArtifactCategory
from worker.executors import ExecutorError, UnshareExecutor
from worker.tasks.base import OutputUploadFailed
from worker.tasks.tool_task import (
    COMMAND_LOG,
    CommandRun,
    InvalidInput,
    ToolFailed,
    ToolTask,
)


class EnvironmentTask(ToolTask):
    # The Debian package in the environment whose version the log reports.
    PACKAGE: ClassVar[str]

    executor: UnshareExecutor | None = None

    def run(self) -> bool:
        self.logs_directory.mkdir(parents=True, exist_ok=True)
        succeeded = False
        try:
            with self.unshare_executor() as executor:
                self.executor = executor
                self._prepare(executor)
                succeeded = self.execute()
        except ExecutorError as error:
            raise ToolFailed("environment-failed", str(error)) from None
        finally:
            self.executor = None
            failing = sys.exc_info()[0] is not None
            try:
                self.upload_logs()
            except OutputUploadFailed:
                if not failing:
                    raise
        return succeeded

    def _prepare(self, executor: UnshareExecutor) -> None:
        environment = self.download_inputs("environment_id")[0]
        if (
            environment.category != ArtifactCategory.SYSTEM_TARBALL
            or len(environment.files) != 1
        ):
            raise InvalidInput(
                f"environment artifact {environment.id} is not a "
                "debian:system-tarball of one tarball"
            )
        tarball = next(iter(environment.files.values()))
        self.log(f"environment: artifact {environment.id}, preparing")
        executor.prepare(
            tarball,
            key=f"artifact-{environment.id}",
            work_directory=self.context.work_directory,
        )
        version = self.in_environment(
            ["dpkg-query", "--show", "--showformat=${Version}", self.PACKAGE],
            capture_stdout=True,
        )
        if version.returncode != 0 or not version.stdout:
            raise ToolFailed(
                f"{self.TOOL}-missing",
                f"the environment has no {self.PACKAGE} (artifact {environment.id})",
            )
        self.tool_version = version.stdout.strip()
        self.log(f"{self.PACKAGE}: version {self.tool_version}")

    def in_environment(
        self,
        argv: Sequence[str],
        *,
        cwd: Path | None = None,
        capture_stdout: bool = False,
    ) -> CommandRun:
        """Run `argv` in the prepared environment; its output to the logs."""
        assert self.executor is not None, "the environment is not prepared"
        command = subprocess.list2cmdline(list(argv))
        self.log(f"{self.TOOL}: running {command} (in the environment)")
        with (self.logs_directory / COMMAND_LOG).open("a", encoding="utf-8") as log:
            log.write(f"$ {command}\n")
            result = self.executor.run(
                argv,
                cwd=cwd,
                env={"LC_ALL": "C.UTF-8", "HOME": "/root"},
                capture_output=True,
                text=True,
                errors="replace",
            )
            output = result.stderr if capture_stdout else result.stdout + result.stderr
            self._copy_lines(output.splitlines(keepends=True), log)
            log.write(f"[exit status {result.returncode}]\n")
        return CommandRun(result.returncode, result.stdout if capture_stdout else "")
