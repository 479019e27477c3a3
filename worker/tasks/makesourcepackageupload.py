"""`makesourcepackageupload` on the worker: a source-only upload of a `.dsc`.

In the task's environment, `dpkg-source -x` unpacks the source package and
`dpkg-genchanges -S` writes its `.changes` (with the changelog entries
since `since_version`, and `target_distribution` as its Distribution when
given). The `.changes` and the source's files become a `debian:upload`
that extends and relates to the source package.
"""

from __future__ import annotations

from debusine.artifacts.local import InvalidLocalArtifact, upload_from_changes
from worker.tasks.environment_task import EnvironmentTask
from worker.tasks.tool_task import ToolFailed, ToolOutputNotUnderstood, one_dsc


class MakeSourcePackageUploadTask(EnvironmentTask):
    NAME = "makesourcepackageupload"
    TOOL = "dpkg-genchanges"
    PACKAGE = "dpkg-dev"

    def execute(self) -> bool:
        source = self.inputs("source_artifact_id")[0]
        dsc = one_dsc(source)
        tree = source.directory / "tree"
        unpacked = self.in_environment(
            ["dpkg-source", "--no-check", "-x", dsc.name, tree.name],
            cwd=source.directory,
        )
        if unpacked.returncode != 0:
            raise ToolFailed(
                "dpkg-source-failed",
                f"dpkg-source cannot unpack {dsc.name} "
                f"(exit status {unpacked.returncode})",
            )
        name, version = str(source.data["name"]), str(source.data["version"])
        plain_version = version.split(":", 1)[-1]
        changes = source.directory / f"{name}_{plain_version}_source.changes"
        argv = ["dpkg-genchanges", "-S", f"-O{changes}"]
        if self.data.get("since_version"):
            argv.append(f"-v{self.data['since_version']}")
        if self.data.get("target_distribution"):
            argv.append(f"-DDistribution={self.data['target_distribution']}")
        made = self.in_environment(argv, cwd=tree)
        if made.returncode != 0 or not changes.is_file():
            raise ToolFailed(
                "dpkg-genchanges-failed",
                f"dpkg-genchanges failed with exit status {made.returncode}",
            )
        try:
            upload = upload_from_changes(changes).artifacts[0]
        except InvalidLocalArtifact as error:
            raise ToolOutputNotUnderstood(str(error)) from None
        self.upload_artifact(
            upload.category,
            upload.files,
            upload.data,
            relations=[("extends", source.id), ("relates-to", source.id)],
        )
        return True
