"""The common shape of the worker tasks that run one Debian tool.

A `ToolTask` logs the tool's installed version, runs `execute()` and, however
that ends (success, failure, error), uploads what the tool wrote as a
`debusine:work-request-debug-logs` artifact, so a failed run can always be
looked into. Commands run with `run_command()`, which copies their output
live to the task's log and to a log file that is part of that artifact.

Errors carry a code: `ToolFailed` (the tool itself broke or the testbed
did, not the package), `ToolOutputNotUnderstood` (the tool's output could
not be read), `InvalidInput` (the inputs cannot be what the task needs).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, ClassVar

from debusine.artifacts.categories import ArtifactCategory
from debusine.artifacts.files import DEB_SUFFIXES
from worker.tasks.base import InputArtifact, OutputUploadFailed, TaskError, WorkerTask
from worker.tools.versions import installed_versions

COMMAND_LOG = "cmd-output.log"


class CodedTaskError(TaskError):
    """A TaskError whose code is chosen where it is raised."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class ToolFailed(CodedTaskError):
    pass


class ToolOutputNotUnderstood(TaskError):
    code = "tool-output-not-understood"


class InvalidInput(TaskError):
    code = "invalid-input"


@dataclass(frozen=True)
class CommandRun:
    returncode: int
    # The command's stdout when it was captured (`capture_stdout=True`).
    stdout: str


def files_ending(
    artifacts: Iterable[InputArtifact], suffixes: Sequence[str]
) -> list[Path]:
    """The local files of `artifacts` whose names end with one of `suffixes`."""
    return [
        local
        for artifact in artifacts
        for path, local in sorted(artifact.files.items())
        if path.endswith(tuple(suffixes))
    ]


def debs_of(artifacts: Iterable[InputArtifact]) -> list[Path]:
    return files_ending(artifacts, DEB_SUFFIXES)


def one_dsc(artifact: InputArtifact) -> Path:
    """The .dsc of a source package (or upload) artifact."""
    found = files_ending([artifact], (".dsc",))
    if len(found) != 1:
        raise InvalidInput(
            f"artifact {artifact.id} ({artifact.category}) must hold exactly one "
            f".dsc, it holds {len(found)}"
        )
    return found[0]


class ToolTask(WorkerTask):
    """A worker task built around one tool (`TOOL`, as in worker.tools.versions)."""

    TOOL: ClassVar[str]

    def __init__(self, task_data: Mapping[str, Any], context: Any) -> None:
        super().__init__(task_data, context)
        self.logs_directory = self.context.work_directory / "logs"
        self.tool_version: str | None = None
        # Inputs the debug-logs artifact relates to.
        self.related_inputs: list[int] = []

    def execute(self) -> bool:
        """Do the task's work: True success, False failure (the package's fault)."""
        raise NotImplementedError

    def run(self) -> bool:
        self.logs_directory.mkdir(parents=True, exist_ok=True)
        self.tool_version = installed_versions().get(self.TOOL)
        if self.tool_version is None:
            raise ToolFailed(
                f"{self.TOOL}-missing", f"{self.TOOL} is not installed on this worker"
            )
        self.log(f"{self.TOOL}: version {self.tool_version}")
        (self.logs_directory / COMMAND_LOG).write_text(
            f"{self.TOOL} version {self.tool_version}\n", encoding="utf-8"
        )
        succeeded = False
        try:
            succeeded = self.execute()
        finally:
            # Upload the logs even on an error, but never hide that error
            # behind a failed upload of the logs.
            failing = sys.exc_info()[0] is not None
            try:
                self.upload_logs()
            except OutputUploadFailed:
                if not failing:
                    raise
        return succeeded

    def inputs(self, key: str) -> list[InputArtifact]:
        """Download the artifacts under `key`; the logs will relate to them."""
        artifacts = self.download_inputs(key)
        self.related_inputs += [a.id for a in artifacts]
        return artifacts

    def run_command(
        self,
        argv: Sequence[str],
        *,
        cwd: Path | None = None,
        capture_stdout: bool = False,
        env: Mapping[str, str] | None = None,
        timeout: float | None = None,
        tee: Path | None = None,
    ) -> CommandRun:
        """Run `argv` on the host; its output goes to the log (and to the
        log file, and to `tee`), or its stdout is returned with
        `capture_stdout`."""
        self.log(f"{self.TOOL}: running {subprocess.list2cmdline(list(argv))}")
        log_path = self.logs_directory / COMMAND_LOG
        with (
            log_path.open("a", encoding="utf-8") as log_file,
            (tee or Path(os.devnull)).open("w", encoding="utf-8") as tee_file,
        ):
            log_file.write(f"$ {subprocess.list2cmdline(list(argv))}\n")
            log_file.flush()
            try:
                process = subprocess.Popen(  # noqa: S603
                    list(argv),
                    cwd=cwd,
                    env=dict(env) if env is not None else None,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE if capture_stdout else subprocess.STDOUT,
                    text=True,
                    errors="replace",
                )
            except OSError as error:
                raise ToolFailed(
                    f"{self.TOOL}-failed", f"cannot run {argv[0]}: {error}"
                ) from None
            # A timer rather than wait(timeout): the output is read to its end.
            timer = threading.Timer(timeout or 0, process.kill)
            if timeout:
                timer.start()
            try:
                if capture_stdout:
                    stdout, stderr = process.communicate()
                    self._copy_lines(
                        stderr.splitlines(keepends=True), log_file, tee_file
                    )
                else:
                    stdout = ""
                    assert process.stdout is not None
                    self._copy_lines(process.stdout, log_file, tee_file)
                    process.wait()
            finally:
                timer.cancel()
            if timeout and process.returncode == -signal.SIGKILL:
                log_file.write(f"[killed after {timeout:g} s]\n")
                raise ToolFailed(
                    f"{self.TOOL}-timeout", f"{argv[0]} took longer than {timeout:g} s"
                )
            log_file.write(f"[exit status {process.returncode}]\n")
        self.log(f"{self.TOOL}: exit status {process.returncode}")
        return CommandRun(process.returncode, stdout)

    def _copy_lines(
        self, lines: Iterable[str], log_file: IO[str], tee_file: IO[str] | None = None
    ) -> None:
        for line in lines:
            log_file.write(line)
            log_file.flush()
            if tee_file is not None:
                tee_file.write(line)
            self.log(line.rstrip("\n"))

    def upload_logs(self) -> int | None:
        """The debug-logs artifact of every file in the logs directory."""
        files = {
            path.name: path
            for path in sorted(self.logs_directory.iterdir())
            if path.is_file() and path.stat().st_size > 0
        }
        if not files:
            return None
        return self.upload_artifact(
            ArtifactCategory.WORK_REQUEST_DEBUG_LOGS,
            files,
            {},
            relations=[("relates-to", i) for i in dict.fromkeys(self.related_inputs)],
        )
