"""`blhc` on the worker: the hardening check of a build log.

blhc reads the `debian:package-build-log` under `artifact_id`; its report
becomes a `debian:blhc` artifact (blhc.txt) related to the log. Missing
hardening flags fail the task (the package's fault); blhc refusing to run
(invalid arguments) is an error.
"""

from __future__ import annotations

from pathlib import Path

from debusine.artifacts.categories import ArtifactCategory
from worker.tasks.base import InputArtifact
from worker.tasks.tool_task import (
    InvalidInput,
    ToolFailed,
    ToolOutputNotUnderstood,
    ToolTask,
)
from worker.tools import ToolOutputError, blhc


def build_log_file(artifact: InputArtifact) -> Path:
    """The build log of a package-build-log artifact (its `filename`)."""
    filename = artifact.data.get("filename")
    if isinstance(filename, str) and filename in artifact.files:
        return artifact.files[filename]
    if len(artifact.files) == 1:
        return next(iter(artifact.files.values()))
    raise InvalidInput(
        f"artifact {artifact.id} ({artifact.category}) is not a build log: "
        f"it holds {len(artifact.files)} files and names none of them"
    )


class BlhcTask(ToolTask):
    NAME = "blhc"
    TOOL = "blhc"

    def execute(self) -> bool:
        build_log = build_log_file(self.inputs("artifact_id")[0])
        argv = blhc.blhc_command(build_log, self.data["extra_flags"])
        run = self.run_command(
            argv, cwd=self.context.work_directory, capture_stdout=True
        )
        output = self.context.work_directory / "output"
        output.mkdir(exist_ok=True)
        (output / "blhc.txt").write_text(run.stdout, encoding="utf-8")
        try:
            report = blhc.parse_output(run.stdout, run.returncode)
        except ToolOutputError as error:
            if run.returncode & blhc.EXIT_INVALID_ARGUMENTS or run.returncode >= 64:
                raise ToolFailed("blhc-failed", str(error)) from None
            raise ToolOutputNotUnderstood(str(error)) from None
        for line in run.stdout.splitlines():
            self.log(line)
        self.upload_artifact(
            ArtifactCategory.BLHC,
            {"blhc.txt": output / "blhc.txt"},
            {},
            relations=[("relates-to", i) for i in self.related_inputs],
        )
        if report.conditions:
            self.log(f"blhc: found {', '.join(report.conditions)}")
        if not report.clean:
            self.log(f"blhc: failure: {len(report.missing)} commands lack flags")
        return report.clean
