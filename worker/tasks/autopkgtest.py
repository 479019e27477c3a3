"""`autopkgtest` on the worker: a source's tests in an unshare testbed.

autopkgtest runs on the host and makes its testbed with
`autopkgtest-virt-unshare` from the environment's system tarball
(`environment_id`); it tests the source (`source_artifact_id`) with its
binaries (`binary_artifacts_ids`, plus `context_artifacts_ids`). Its output
directory, without the copies of the binaries, becomes a
`debian:autopkgtest` artifact with each test's status.

The task fails when a test result named in `fail_on` is found or the
package is broken (autopkgtest's exit status 12); a testbed failure (16)
or an unexpected autopkgtest failure (20) is an error with a code. The
`timeout.global` limit, which autopkgtest lacks, bounds the whole run.
"""

from __future__ import annotations

import os
import shlex
import shutil
from pathlib import Path
from typing import Any

from debusine.artifacts.categories import ArtifactCategory
from worker.executors import namespaces
from worker.tasks.base import InputArtifact
from worker.tasks.tool_task import (
    CodedTaskError,
    InvalidInput,
    ToolFailed,
    ToolOutputNotUnderstood,
    ToolTask,
    debs_of,
    one_dsc,
)
from worker.tools import ToolCommandError, ToolOutputError, autopkgtest

EXIT_NO_TESTS = 8


def environment_tarball(artifact: InputArtifact) -> Path:
    """The tarball of a system-tarball artifact (its only file)."""
    if len(artifact.files) != 1:
        raise InvalidInput(
            f"environment artifact {artifact.id} ({artifact.category}) must hold "
            f"one tarball, it holds {len(artifact.files)} files"
        )
    return next(iter(artifact.files.values()))


def distribution_of(environment: InputArtifact) -> str:
    """`vendor:codename` of a system-tarball artifact."""
    vendor = environment.data.get("vendor") or "debian"
    codename = environment.data.get("codename")
    if not codename:
        raise InvalidInput(
            f"environment artifact {environment.id} has no codename in its data"
        )
    return f"{vendor}:{codename}"


class AutopkgtestTask(ToolTask):
    NAME = "autopkgtest"
    TOOL = "autopkgtest"

    @staticmethod
    def _environment(work: Path) -> dict[str, str] | None:
        """autopkgtest-virt-unshare's `unshare --map-auto` made explicit."""
        shim = namespaces.map_auto_shim(work / "unshare-shim", namespaces.id_mapping())
        if shim is None:
            return None
        return {**os.environ, "PATH": f"{shim}{os.pathsep}{os.environ.get('PATH', '')}"}

    def execute(self) -> bool:
        self._refuse_unsupported()
        source = self.inputs("source_artifact_id")[0]
        dsc = one_dsc(source)
        binaries = debs_of(self.inputs("binary_artifacts_ids"))
        if not binaries:
            raise InvalidInput("no .deb files among the binary artifacts")
        if self.dynamic_data.get("context_artifacts_ids"):
            binaries += debs_of(self.inputs("context_artifacts_ids"))
        environment = self.inputs("environment_id")[0]
        tarball = environment_tarball(environment)
        distribution = distribution_of(environment)

        work = self.context.work_directory
        output_dir = work / "autopkgtest-output"
        summary_file = work / "autopkgtest-summary"
        timeouts: dict[str, Any] = dict(self.data["timeout"] or {})
        global_timeout = timeouts.pop("global", None)
        try:
            argv = autopkgtest.autopkgtest_command(
                dsc,
                binaries,
                output_dir=output_dir,
                summary_file=summary_file,
                environment=tarball,
                architecture=self.data["host_architecture"],
                include_tests=self.data["include_tests"],
                exclude_tests=self.data["exclude_tests"],
                needs_internet=self.data["needs_internet"],
                timeouts=timeouts,
                extra_environment=self.data["extra_environment"],
            )
        except ToolCommandError as error:
            raise InvalidInput(str(error)) from None
        if self.data["debug_level"] > 0:
            argv.insert(1, "--debug")
        run = self.run_command(
            argv, cwd=work, timeout=global_timeout, env=self._environment(work)
        )
        summary_text = (
            summary_file.read_text(encoding="utf-8", errors="replace")
            if summary_file.is_file()
            else ""
        )
        (self.logs_directory / "summary").write_text(summary_text, encoding="utf-8")

        if autopkgtest.is_infrastructure_failure(run.returncode):
            code = (
                "autopkgtest-testbed-failure"
                if run.returncode == autopkgtest.EXIT_TESTBED_FAILURE
                else "autopkgtest-failed"
            )
            why = summary_text.strip().splitlines()[:1] or ["no summary"]
            raise ToolFailed(
                code, f"autopkgtest exit status {run.returncode}: {why[0]}"
            )
        results, problems = self._results(summary_text, run.returncode)
        name, version = self._tested_package(output_dir, source)
        self._upload_results(
            output_dir,
            autopkgtest.artifact_data(
                results,
                cmdline=shlex.join(argv),
                source_name=name,
                source_version=version,
                architecture=self.data["host_architecture"],
                distribution=distribution,
            ),
        )
        for problem in problems:
            self.log(f"autopkgtest: {problem}")
        fail_on = self.data["fail_on"]
        failed = bool(problems) or autopkgtest.fails(
            results,
            failed_test=fail_on["failed_test"],
            flaky_test=fail_on["flaky_test"],
            skipped_test=fail_on["skipped_test"],
        )
        statuses = ", ".join(f"{n} {r.status}" for n, r in results.items())
        self.log(f"autopkgtest: {statuses or 'no tests'}")
        if failed:
            self.log("autopkgtest: failure")
        return not failed

    def _refuse_unsupported(self) -> None:
        # Better refused than silently tested without them.
        if self.data["extra_repositories"]:
            raise CodedTaskError(
                "unsupported-option",
                "extra_repositories are not supported by this worker's autopkgtest",
            )
        if self.data["use_packages_from_base_repository"]:
            raise CodedTaskError(
                "unsupported-option",
                "use_packages_from_base_repository is not supported by this worker",
            )

    def _results(
        self, summary_text: str, returncode: int
    ) -> tuple[dict[str, autopkgtest.TestResult], list[str]]:
        if not summary_text.strip() and returncode == EXIT_NO_TESTS:
            return {}, []
        try:
            summary = autopkgtest.parse_summary(summary_text)
        except ToolOutputError as error:
            raise ToolOutputNotUnderstood(str(error)) from None
        return summary.results, summary.problems

    def _tested_package(
        self, output_dir: Path, source: InputArtifact
    ) -> tuple[str, str]:
        version_file = output_dir / "testpkg-version"
        if version_file.is_file():
            try:
                return autopkgtest.parse_testpkg_version(version_file.read_text())
            except ToolOutputError as error:
                raise ToolOutputNotUnderstood(str(error)) from None
        return str(source.data.get("name")), str(source.data.get("version"))

    def _upload_results(self, output_dir: Path, data: dict[str, Any]) -> int:
        # The binaries/ copies are the inputs again: not worth storing twice.
        shutil.rmtree(output_dir / "binaries", ignore_errors=True)
        files = {
            str(path.relative_to(output_dir)): path
            for path in sorted(output_dir.rglob("*"))
            if path.is_file()
        }
        return self.upload_artifact(ArtifactCategory.AUTOPKGTEST, files, data)
