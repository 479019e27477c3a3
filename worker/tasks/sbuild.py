"""`sbuild` on the worker: build a source package in an unshare environment.

sbuild runs on the worker's host with `--chroot-mode=unshare` and the
environment's tarball as its chroot: sbuild makes its own user, mount, pid
and network namespaces from the tarball for each build, so the package's
code never runs on the host. Running sbuild inside our unshare executor
instead would nest those namespaces (which needs subordinate ids inside
the container) and gain no isolation; the worker's environment cache is
not used for sbuild, whose unpacking is part of each build.

Outputs, however the build ends: the `.build` log as a
`debian:package-build-log` (with dose-distcheck's report as
`bd_uninstallable` when the build-dependencies cannot be installed) and the
debug logs. A successful build adds one `debian:binary-package` per
`.deb` (built-using the source) and a `debian:upload` of the `.changes`
(extending and relating to the binaries); the log then relates to the
source and the binaries.

Results: success; failure for the package's own fault, with an
`errors` entry whose code is `bd-uninstallable` (the build-dependencies
cannot be installed: may succeed later, when the archive has them) or
`build-failure`, and a one-line reason from the log; error with a code for
the worker's problems (no build log, a bad environment...).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from debusine.artifacts.categories import ArtifactCategory
from debusine.artifacts.files import DEB_SUFFIXES
from debusine.artifacts.local import (
    InvalidLocalArtifact,
    binary_package_from_deb,
    upload_from_changes,
)
from worker.tasks.base import InputArtifact
from worker.tasks.tool_task import (
    InvalidInput,
    ToolFailed,
    ToolOutputNotUnderstood,
    ToolTask,
    debs_of,
    one_dsc,
)
from worker.tools import ToolCommandError, ToolOutputError
from worker.tools import sbuild as sbuild_tool

# How long a build may take before it is killed.
BUILD_TIMEOUT = 6 * 3600


def environment_tarball(environment: InputArtifact, architecture: str) -> Path:
    """The tarball of a `debian:system-tarball` for `architecture` builds."""
    if environment.category != ArtifactCategory.SYSTEM_TARBALL:
        raise InvalidInput(
            f"environment artifact {environment.id} is a {environment.category}, "
            "sbuild needs a debian:system-tarball"
        )
    if len(environment.files) != 1:
        raise InvalidInput(
            f"environment artifact {environment.id} holds "
            f"{len(environment.files)} files, not one tarball"
        )
    built_for = environment.data.get("architecture")
    if built_for and built_for != architecture:
        raise InvalidInput(
            f"environment artifact {environment.id} is for {built_for}, "
            f"the build is for {architecture}"
        )
    return next(iter(environment.files.values()))


def repository_options(
    repositories: list[Mapping[str, Any]], keys_directory: Path
) -> list[str]:
    """sbuild's --extra-repository (and --extra-repository-key) options."""
    options: list[str] = []
    for number, repository in enumerate(repositories):
        line = f"deb {repository['url']} {repository['suite']}"
        if repository.get("components"):
            line += " " + " ".join(repository["components"])
        options.append(f"--extra-repository={line}")
        if repository.get("signing_key"):
            keys_directory.mkdir(parents=True, exist_ok=True)
            key = keys_directory / f"repository-{number}.asc"
            key.write_text(repository["signing_key"], encoding="utf-8")
            options.append(f"--extra-repository-key={key}")
    return options


def binnmu_options(binnmu: Mapping[str, Any] | None) -> list[str]:
    if not binnmu:
        return []
    options = [
        f"--make-binNMU={binnmu['changelog']}",
        f"--append-to-version={binnmu['suffix']}",
        "--binNMU=0",
    ]
    if binnmu.get("timestamp"):
        options.append(f"--binNMU-timestamp={binnmu['timestamp']}")
    if binnmu.get("maintainer"):
        options.append(f"--maintainer={binnmu['maintainer']}")
    return options


class SbuildTask(ToolTask):
    NAME = "sbuild"
    TOOL = "sbuild"

    def execute(self) -> bool:
        source = self.inputs("source_artifact_id")[0]
        dsc = one_dsc(source)
        architecture = str(self.data["host_architecture"])
        environment = self.download_inputs("environment_id")[0]
        tarball = environment_tarball(environment, architecture)
        extra_binaries = (
            self.inputs("extra_binary_artifacts_ids")
            if self.dynamic_data.get("extra_binary_artifacts_ids")
            else []
        )
        distribution = str(environment.data.get("codename") or "")
        if not distribution:
            raise InvalidInput(
                f"environment artifact {environment.id} names no codename"
            )

        output = self.context.work_directory / "build"
        output.mkdir(parents=True, exist_ok=True)
        components = set(self.data["build_components"])
        extra_options = [
            *(f"--extra-package={deb}" for deb in debs_of(extra_binaries)),
            *repository_options(
                self.data.get("extra_repositories") or [],
                self.context.work_directory / "keys",
            ),
            *binnmu_options(self.data.get("binnmu")),
        ]
        if self.data.get("build_dep_resolver"):
            extra_options.append(
                f"--build-dep-resolver={self.data['build_dep_resolver']}"
            )
        if self.data.get("aspcud_criteria"):
            extra_options.append(f"--aspcud-criteria={self.data['aspcud_criteria']}")
        try:
            argv = sbuild_tool.sbuild_command(
                dsc,
                distribution=distribution,
                host_architecture=architecture,
                environment=tarball,
                build_arch_any="any" in components,
                build_arch_all="all" in components,
                build_source="source" in components,
                build_profiles=self.data.get("build_profiles") or [],
                extra_options=extra_options,
            )
        except ToolCommandError as error:
            raise InvalidInput(str(error)) from None
        # The network reaches the mirror for the build-dependencies; sbuild
        # cuts it off for the build itself.
        run = self.run_command(
            argv, cwd=output, env=self._environment(), timeout=BUILD_TIMEOUT
        )
        return self._results(run.returncode, output, source)

    @staticmethod
    def _environment() -> dict[str, str]:
        keep = ("PATH", "HOME", "USER", "LOGNAME", "TMPDIR")
        env = {key: os.environ[key] for key in keep if key in os.environ}
        env["LC_ALL"] = "C.UTF-8"
        return env

    def _results(self, returncode: int, output: Path, source: InputArtifact) -> bool:
        log_file = self._build_log(output)
        if log_file is None:
            raise ToolFailed(
                "sbuild-failed",
                f"sbuild exited with status {returncode} without writing a build log",
            )
        text = log_file.read_text(encoding="utf-8", errors="replace")
        try:
            build = sbuild_tool.parse_build_log(text)
        except ToolOutputError as error:
            self._upload_log(log_file, source, None, [])
            raise ToolOutputNotUnderstood(f"{log_file.name}: {error}") from None
        self.log(f"sbuild: {build.source} {build.version}: {build.status}")

        binaries: list[int] = []
        try:
            if build.outcome == sbuild_tool.BuildOutcome.SUCCESS:
                binaries = self._upload_build(output, source)
        finally:
            self._upload_log(log_file, source, build, binaries)

        if build.outcome == sbuild_tool.BuildOutcome.SUCCESS:
            if returncode != 0:
                raise ToolFailed(
                    "sbuild-failed",
                    f"sbuild exited with status {returncode} after a successful build",
                )
            return True
        reason = build.reason or f"sbuild status {build.status}"
        if build.outcome == sbuild_tool.BuildOutcome.OTHER_FAILURE:
            # Neither the dependencies nor the build: sbuild or the worker.
            raise ToolFailed("sbuild-failed", reason)
        code = str(build.outcome)
        self.log(f"sbuild: {code}: {reason}")
        self.output_data["errors"] = [{"code": code, "message": reason[:1000]}]
        return False

    @staticmethod
    def _build_log(output: Path) -> Path | None:
        """sbuild's `.build` log (the stable name is a link to the dated file)."""
        logs = sorted(output.glob("*.build"))
        links = [log for log in logs if log.is_symlink() and log.exists()]
        found = links or [log for log in logs if log.is_file()]
        return found[0] if found else None

    def _upload_build(self, output: Path, source: InputArtifact) -> list[int]:
        changes_files = sorted(output.glob("*.changes"))
        if len(changes_files) != 1:
            raise ToolFailed(
                "sbuild-failed",
                f"the build made {len(changes_files)} .changes files, not one",
            )
        changes = changes_files[0]
        try:
            group = upload_from_changes(changes)
            debs = {
                path.name: binary_package_from_deb(path)
                for name in group.artifacts[0].files
                if name.endswith(DEB_SUFFIXES)
                for path in [output / name]
            }
        except InvalidLocalArtifact as error:
            raise ToolOutputNotUnderstood(str(error)) from None
        binaries: list[int] = []
        for name, artifact in sorted(debs.items()):
            binaries.append(
                self.upload_artifact(
                    artifact.category,
                    artifact.files,
                    artifact.data,
                    relations=[("built-using", source.id)],
                )
            )
            self.log(f"sbuild: {name} is artifact {binaries[-1]}")
        upload = group.artifacts[0]
        self.upload_artifact(
            upload.category,
            upload.files,
            upload.data,
            relations=[
                (relation, binary)
                for binary in binaries
                for relation in ("extends", "relates-to")
            ],
        )
        return binaries

    def _upload_log(
        self,
        log_file: Path,
        source: InputArtifact,
        build: sbuild_tool.BuildLog | None,
        binaries: list[int],
    ) -> int:
        name = log_file.name
        if build is not None:
            data = sbuild_tool.package_build_log_data(build, name)
        else:
            data = {
                "source": str(source.data.get("name") or name.split("_")[0]),
                "version": str(source.data.get("version") or ""),
                "architecture": self.data["host_architecture"],
                "filename": name,
                "bd_uninstallable": None,
            }
        return self.upload_artifact(
            ArtifactCategory.PACKAGE_BUILD_LOG,
            {name: log_file.resolve()},
            data,
            relations=[("relates-to", i) for i in [source.id, *binaries]],
        )
