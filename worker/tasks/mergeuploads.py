"""`mergeuploads` on the worker: several `debian:upload`s become one.

devscripts' `mergechanges` merges the uploads' `.changes` (of one source
and version) into one, which with every file the inputs hold becomes a
`debian:upload` that extends and relates to each input. mergechanges reads
and writes text only, so it runs on the worker's host. Two inputs holding
different files under one name cannot be merged: `invalid-input`.
"""

from __future__ import annotations

import filecmp
import shutil
from pathlib import Path

from debusine.artifacts.categories import ArtifactCategory
from debusine.artifacts.local import InvalidLocalArtifact, upload_from_changes
from worker.tasks.base import InputArtifact
from worker.tasks.tool_task import (
    InvalidInput,
    ToolFailed,
    ToolOutputNotUnderstood,
    ToolTask,
    files_ending,
)


def gather(uploads: list[InputArtifact], directory: Path) -> list[Path]:
    """Every upload's files side by side in `directory`; their `.changes`."""
    directory.mkdir(parents=True, exist_ok=True)
    changes: list[Path] = []
    for upload in uploads:
        if upload.category != ArtifactCategory.UPLOAD:
            raise InvalidInput(
                f"artifact {upload.id} is a {upload.category}, not a debian:upload"
            )
        found = files_ending([upload], (".changes",))
        if len(found) != 1:
            raise InvalidInput(
                f"artifact {upload.id} holds {len(found)} .changes files, not one"
            )
        for path, local in sorted(upload.files.items()):
            target = directory / Path(path).name
            if target.exists():
                if not filecmp.cmp(target, local, shallow=False):
                    raise InvalidInput(
                        f"two uploads hold different files named {target.name}"
                    )
                if local in found:
                    raise InvalidInput(f"two uploads are both {target.name}")
                continue
            shutil.copyfile(local, target)
        changes.append(directory / found[0].name)
    return changes


class MergeUploadsTask(ToolTask):
    NAME = "mergeuploads"
    TOOL = "mergechanges"

    def execute(self) -> bool:
        uploads = self.inputs("uploads_ids")
        directory = self.context.work_directory / "merged"
        changes = gather(uploads, directory)
        if len(changes) == 1:
            merged = changes[0]
            self.log(f"mergeuploads: one upload, {merged.name}: nothing to merge")
        else:
            run = self.run_command(
                ["mergechanges", "-f", *(c.name for c in changes)],
                cwd=directory,
            )
            if run.returncode != 0:
                raise ToolFailed(
                    "mergechanges-failed",
                    f"mergechanges failed with exit status {run.returncode}",
                )
            made = sorted(directory.glob("*_multi.changes"))
            if len(made) != 1:
                raise ToolOutputNotUnderstood(
                    f"mergechanges made {len(made)} *_multi.changes files, not one"
                )
            merged = made[0]
        try:
            upload = upload_from_changes(merged).artifacts[0]
        except InvalidLocalArtifact as error:
            raise ToolOutputNotUnderstood(str(error)) from None
        self.upload_artifact(
            upload.category,
            upload.files,
            upload.data,
            relations=[
                (relation, artifact.id)
                for artifact in uploads
                for relation in ("extends", "relates-to")
            ],
        )
        return True
