"""`debdiff` on the worker: what changed between two sources or two builds.

Two sources (`original_id`, `new_id`) are compared by their .dsc files; two
sets of binaries (`original_ids`, `new_ids`) by their .deb files. debdiff's
report becomes a `debian:debdiff` artifact (debdiff.txt) related to both
sides. Differences are the expected outcome, not a failure; only debdiff
breaking (an exit status other than 0 or 1) is an error.
"""

from __future__ import annotations

from debusine.artifacts.categories import ArtifactCategory
from worker.tasks.tool_task import (
    InvalidInput,
    ToolFailed,
    ToolOutputNotUnderstood,
    ToolTask,
    debs_of,
    one_dsc,
)
from worker.tools import ToolOutputError, debdiff


class DebdiffTask(ToolTask):
    NAME = "debdiff"
    TOOL = "debdiff"

    def execute(self) -> bool:
        flags = self.data["extra_flags"]
        if self.dynamic_data.get("original_id") is not None:
            original = one_dsc(self.inputs("original_id")[0])
            new = one_dsc(self.inputs("new_id")[0])
            argv = debdiff.source_command(original, new, flags)
            described = (original.name, new.name)
        else:
            originals = debs_of(self.inputs("original_ids"))
            news = debs_of(self.inputs("new_ids"))
            if not originals or not news:
                raise InvalidInput("debdiff of binaries needs .deb files on both sides")
            argv = debdiff.binary_command(originals, news, flags)
            described = (
                " ".join(sorted(p.name for p in originals)),
                " ".join(sorted(p.name for p in news)),
            )
        run = self.run_command(
            argv, cwd=self.context.work_directory, capture_stdout=True
        )
        output = self.context.work_directory / "output"
        output.mkdir(exist_ok=True)
        (output / "debdiff.txt").write_text(run.stdout, encoding="utf-8")
        try:
            summary = debdiff.parse_output(run.stdout, run.returncode)
        except ToolOutputError as error:
            if run.returncode not in (0, 1):
                raise ToolFailed("debdiff-failed", str(error)) from None
            raise ToolOutputNotUnderstood(str(error)) from None
        self.upload_artifact(
            ArtifactCategory.DEBDIFF,
            {"debdiff.txt": output / "debdiff.txt"},
            debdiff.artifact_data(*described),
            relations=[("relates-to", i) for i in self.related_inputs],
        )
        if summary.identical:
            self.log("debdiff: no differences")
        else:
            self.log(
                f"debdiff: {len(summary.changed_files)} files changed, "
                f"{len(summary.files_added)} added, {len(summary.files_removed)} "
                f"removed, control changes in {len(summary.control_changes)} packages"
            )
        return True
