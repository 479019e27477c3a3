"""autopkgtest: the command line (unshare virt server) and its results.

autopkgtest writes one line per test to its summary file
(`NAME  STATUS [details]`) and `testpkg-version` (`source version`) to its
output directory. When the testbed or the package is broken it writes
`blame:`/`badpkg:` lines instead and exits 12, 16 or 20.

A mmdebstrap tarball has no apt lists, so the testbed needs
`apt-get update` before autopkgtest can install the test dependencies:
`autopkgtest_command()` passes it as a setup command.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from worker.tools import (
    ARCHITECTURE_RE,
    ToolCommandError,
    ToolOutputError,
    check_name,
)

STATUSES = ("PASS", "FAIL", "FLAKY", "SKIP")
TEST_NAME_RE = re.compile(r"[A-Za-z0-9*][A-Za-z0-9_.+@*-]*")
_LINE_RE = re.compile(r"^(?P<name>\S+)\s+(?P<status>[A-Z]+)(?:\s+(?P<details>.*))?$")
ENV_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
TIMEOUTS = ("short", "install", "test", "copy", "build")

# Exit codes (autopkgtest(1)): bit 2 some test skipped or a flaky one
# failed, 4 a test failed, 8 no tests ran, 12 erroneous package, 16 testbed
# failure, 20 other unexpected failure.
EXIT_TESTBED_FAILURE = 16
EXIT_UNEXPECTED = 20
EXIT_BAD_PACKAGE = 12


@dataclass(frozen=True)
class TestResult:
    status: str
    details: str | None


@dataclass(frozen=True)
class Summary:
    results: dict[str, TestResult]
    # autopkgtest's `blame:`/`badpkg:` lines: why it could not run tests.
    problems: list[str]


def parse_summary(text: str) -> Summary:
    """Results by test name, and any problems, from the summary file."""
    results: dict[str, TestResult] = {}
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if line.startswith(("blame:", "badpkg:")):
            problems.append(line)
            continue
        match = _LINE_RE.match(line)
        if match is None or match["status"] not in STATUSES:
            raise ToolOutputError(
                f"autopkgtest summary line {number} not understood: {line!r}"
            )
        results[match["name"]] = TestResult(match["status"], match["details"])
    if not results and not problems:
        raise ToolOutputError("autopkgtest summary is empty: no test ran")
    return Summary(results, problems)


def parse_testpkg_version(text: str) -> tuple[str, str]:
    """(source name, version) from the output directory's testpkg-version."""
    parts = text.split()
    if len(parts) != 2:
        raise ToolOutputError(f"testpkg-version not understood: {text.strip()!r}")
    return parts[0], parts[1]


def is_infrastructure_failure(exit_code: int) -> bool:
    """Whether the exit code blames the testbed rather than the package."""
    return exit_code in (EXIT_TESTBED_FAILURE, EXIT_UNEXPECTED) or exit_code > 20


def fails(
    results: Mapping[str, TestResult],
    *,
    failed_test: bool = True,
    flaky_test: bool = False,
    skipped_test: bool = False,
) -> bool:
    """Whether the run fails the task under the `fail_on` settings."""
    statuses = {result.status for result in results.values()}
    return (
        (failed_test and "FAIL" in statuses)
        or (flaky_test and "FLAKY" in statuses)
        or (skipped_test and "SKIP" in statuses)
    )


def artifact_data(
    results: Mapping[str, TestResult],
    *,
    cmdline: str,
    source_name: str,
    source_version: str,
    architecture: str,
    distribution: str,
    source_url: str | None = None,
) -> dict[str, Any]:
    """The data of a `debian:autopkgtest` artifact."""
    return {
        "results": {
            name: {"status": result.status, "details": result.details}
            for name, result in results.items()
        },
        "cmdline": cmdline,
        "source_package": {
            "name": source_name,
            "version": source_version,
            "url": source_url,
        },
        "architecture": architecture,
        "distribution": distribution,
    }


def autopkgtest_command(
    source: Path,
    binaries: Sequence[Path],
    *,
    output_dir: Path,
    summary_file: Path,
    environment: Path,
    architecture: str,
    include_tests: Sequence[str] = (),
    exclude_tests: Sequence[str] = (),
    needs_internet: str = "run",
    timeouts: Mapping[str, float] | None = None,
    extra_environment: Mapping[str, str] | None = None,
) -> list[str]:
    """The autopkgtest argv testing `source` with `binaries` in an unshare
    testbed made from the `environment` tarball."""
    check_name("architecture", architecture, ARCHITECTURE_RE)
    if needs_internet not in ("run", "try", "skip"):
        raise ToolCommandError(
            f"needs_internet must be run, try or skip, not {needs_internet!r}"
        )
    argv = [
        "autopkgtest",
        f"--output-dir={output_dir}",
        f"--summary-file={summary_file}",
        # The tarball has no apt lists (mmdebstrap removes them).
        "--setup-commands=apt-get update",
        f"--needs-internet={needs_internet}",
    ]
    for test in include_tests:
        argv.append(f"--test-name={check_name('test name', test, TEST_NAME_RE)}")
    for test in exclude_tests:
        argv.append(f"--skip-test={check_name('test name', test, TEST_NAME_RE)}")
    for kind, seconds in (timeouts or {}).items():
        if kind not in (*TIMEOUTS, "factor"):
            raise ToolCommandError(f"unknown autopkgtest timeout {kind!r}")
        # Seconds for a timeout, a multiplier (possibly fractional) for factor.
        number_types = (int, float) if kind == "factor" else (int,)
        if (
            not isinstance(seconds, number_types)
            or isinstance(seconds, bool)
            or seconds <= 0
        ):
            raise ToolCommandError(f"timeout {kind} must be a positive number")
        argv.append(f"--timeout-{kind}={seconds}")
    for name, value in (extra_environment or {}).items():
        argv.append(f"--env={check_name('variable', name, ENV_NAME_RE)}={value}")
    argv += [str(source), *(str(b) for b in binaries)]
    argv += ["--", "unshare", "--tarball", str(environment), "--arch", architecture]
    return argv
