"""`piuparts` on the worker: install, upgrade and remove the binaries.

piuparts 1.1.7 has no unshare mode: it chroots and mounts, so it runs on
the host as root. It starts from the `base_tgz` system tarball
(`base_tgz_id`), which it can only read as gzip: another compression is
recompressed first. The distribution and mirror are the tarball's. The
binaries (`binary_artifacts_ids`) of the host architecture and `all` are
tested together.

piuparts' log is the task's result: uploaded (piuparts.log in the
`debusine:work-request-debug-logs` artifact) whatever happened; the task
fails when piuparts reports a failure.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from worker.tasks.base import InputArtifact
from worker.tasks.tool_task import (
    InvalidInput,
    ToolFailed,
    ToolOutputNotUnderstood,
    ToolTask,
    debs_of,
)
from worker.tools import ToolCommandError, ToolOutputError, piuparts

# Tarball suffix -> the command that writes it uncompressed to stdout.
DECOMPRESSORS = {
    ".tar.zst": ["zstd", "-dc"],
    ".tar.xz": ["xz", "-dc"],
    ".tar": ["cat"],
}


def gzip_tarball(tarball: Path, directory: Path) -> Path:
    """`tarball` as a gzip tarball (itself if it already is one)."""
    if tarball.name.endswith((".tar.gz", ".tgz")):
        return tarball
    suffix = next((s for s in DECOMPRESSORS if tarball.name.endswith(s)), None)
    if suffix is None:
        raise InvalidInput(
            f"base_tgz {tarball.name}: not a .tar.gz, .tar.zst, .tar.xz or .tar"
        )
    target = directory / "base.tgz"
    with target.open("wb") as output:
        reader = subprocess.Popen(  # noqa: S603
            [*DECOMPRESSORS[suffix], str(tarball)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert reader.stdout is not None
        writer = subprocess.run(
            ["gzip", "-1"],  # noqa: S607
            stdin=reader.stdout,
            stdout=output,
            stderr=subprocess.PIPE,
            check=False,
        )
        reader.stdout.close()
        error = reader.stderr.read() if reader.stderr else b""
        reader.wait()
    if reader.returncode != 0 or writer.returncode != 0:
        target.unlink(missing_ok=True)
        why = (error or writer.stderr).decode(errors="replace").strip()
        raise InvalidInput(f"base_tgz {tarball.name} cannot be read: {why}")
    return target


def one_tarball(artifact: InputArtifact) -> Path:
    if len(artifact.files) != 1:
        raise InvalidInput(
            f"base_tgz artifact {artifact.id} ({artifact.category}) must hold one "
            f"tarball, it holds {len(artifact.files)} files"
        )
    return next(iter(artifact.files.values()))


class PiupartsTask(ToolTask):
    NAME = "piuparts"
    TOOL = "piuparts"

    def execute(self) -> bool:
        if self.data["extra_repositories"]:
            raise ToolFailed(
                "unsupported-option",
                "extra_repositories are not supported by this worker's piuparts",
            )
        if os.geteuid() != 0:
            raise ToolFailed(
                "piuparts-needs-root", "piuparts needs a worker that runs as root"
            )
        architecture = self.data["host_architecture"]
        debs = [
            deb
            for deb in debs_of(self.inputs("binary_artifacts_ids"))
            if deb.name.rsplit(".", 1)[0].rsplit("_", 1)[-1] in ("all", architecture)
        ]
        if not debs:
            raise InvalidInput(f"no .deb files for {architecture} or all to test")
        base = self.inputs("base_tgz_id")[0]
        codename = base.data.get("codename")
        mirror = base.data.get("mirror")
        if not codename or not mirror:
            raise InvalidInput(
                f"base_tgz artifact {base.id} has no codename or mirror in its data"
            )
        self.log(f"piuparts: base system {base.id}: {codename} from {mirror}")
        base_tgz = gzip_tarball(one_tarball(base), self.context.work_directory)
        try:
            argv = piuparts.piuparts_command(
                debs, distribution=str(codename), mirror=str(mirror), base_tgz=base_tgz
            )
        except ToolCommandError as error:
            raise InvalidInput(str(error)) from None
        log_file = self.logs_directory / "piuparts.log"
        run = self.run_command(argv, cwd=self.context.work_directory, tee=log_file)
        try:
            result = piuparts.parse_log(log_file.read_text(errors="replace"))
        except ToolOutputError as error:
            if run.returncode != 0:
                raise ToolFailed(
                    "piuparts-failed",
                    f"piuparts exit status {run.returncode}: {error}",
                ) from None
            raise ToolOutputNotUnderstood(str(error)) from None
        for failure in result.failures:
            self.log(f"piuparts: {failure}")
        if result.passed:
            self.log(f"piuparts: passed: {'; '.join(result.passed_tests)}")
        else:
            self.log("piuparts: failure")
        return result.passed
