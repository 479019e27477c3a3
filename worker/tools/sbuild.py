"""sbuild: the build command in unshare mode and the reading of its build log.

The log's Summary section says how the build ended (`Status`, `Fail-Stage`).
A build whose build-dependencies cannot be installed fails in the
`install-deps` stage; sbuild then runs dose-distcheck (the default
`--bd-uninstallable-explainer=dose3`) and prints its YAML report, which we
keep as `bd_uninstallable` and turn into a one-line reason.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from worker.tools import (
    ARCHITECTURE_RE,
    DISTRIBUTION_RE,
    ToolCommandError,
    ToolOutputError,
    check_name,
)

PROFILE_RE = re.compile(r"[a-z0-9][a-z0-9.+-]*")
SECTION_RULE = "+" + "-" * 78 + "+"
# "Host Architecture: amd64", "Fail-Stage: build".
_SUMMARY_FIELD_RE = re.compile(r"^(?P<key>[A-Z][A-Za-z -]*): (?P<value>.*)$")


class BuildOutcome(enum.StrEnum):
    SUCCESS = "success"
    # The build-dependencies cannot be installed: the source (or the archive)
    # is at fault, not the build.
    BD_UNINSTALLABLE = "bd-uninstallable"
    BUILD_FAILURE = "build-failure"
    # Anything else sbuild reports (a failed fetch, an aborted run).
    OTHER_FAILURE = "other-failure"


@dataclass(frozen=True)
class BuildLog:
    source: str
    version: str
    architecture: str | None
    distribution: str | None
    status: str
    fail_stage: str | None
    outcome: BuildOutcome
    # dose-distcheck's report, as printed (None unless bd-uninstallable).
    bd_uninstallable: dict[str, Any] | None
    # One line a user can read: why the build did not succeed.
    reason: str | None
    summary: dict[str, str]


def _sections(text: str) -> dict[str, list[str]]:
    """Lines of each `| Title |` section of the log, by title."""
    sections: dict[str, list[str]] = {}
    lines = text.splitlines()
    current: list[str] | None = None
    index = 0
    while index < len(lines):
        line = lines[index]
        if (
            line == SECTION_RULE
            and index + 2 < len(lines)
            and lines[index + 2] == SECTION_RULE
            and lines[index + 1].startswith("| ")
        ):
            current = sections.setdefault(lines[index + 1].strip("| ").strip(), [])
            index += 3
            continue
        if current is not None:
            current.append(line)
        index += 1
    return sections


def _summary_fields(lines: list[str]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in lines:
        if line.startswith("-" * 20):
            break
        match = _SUMMARY_FIELD_RE.match(line)
        if match is not None:
            fields[match["key"]] = match["value"].strip()
    return fields


def _dose_report(text: str) -> dict[str, Any] | None:
    """dose-distcheck's YAML report printed in the log, if there is one."""
    lines = text.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line == "output-version: 1.2")
    except StopIteration:
        return None
    block: list[str] = []
    for line in lines[start:]:
        # The report ends where sbuild's own output resumes.
        if line.startswith(("+", "E: ", "I: ", "W: ")):
            break
        block.append(line)
    try:
        report = yaml.safe_load("\n".join(block))
    except yaml.YAMLError as error:
        raise ToolOutputError(
            f"sbuild log: unreadable dose-distcheck report: {error}"
        ) from None
    if not isinstance(report, dict):
        raise ToolOutputError("sbuild log: dose-distcheck report is not a mapping")
    return report


def _dose_reason(report: dict[str, Any]) -> str | None:
    reasons: list[str] = []
    for entry in report.get("report") or []:
        for reason in (entry or {}).get("reasons") or []:
            if "missing" in reason:
                dependency = reason["missing"]["pkg"].get("unsat-dependency")
                reasons.append(f"missing build-dependency {dependency}")
            elif "conflict" in reason:
                conflict = reason["conflict"]
                first = conflict.get("pkg1", {}).get("package")
                second = conflict.get("pkg2", {}).get("package")
                reasons.append(f"build-dependencies conflict: {first} and {second}")
    return "; ".join(dict.fromkeys(reasons)) or None


_APT_UNMET_RE = re.compile(r"^ sbuild-build-depends-main-dummy : (Depends: .*)$")


def _apt_reason(text: str) -> str | None:
    """apt's explanation, for logs without a dose-distcheck report."""
    found = [
        m.group(1) for line in text.splitlines() if (m := _APT_UNMET_RE.match(line))
    ]
    return "; ".join(found) or None


def _failure_reason(sections: dict[str, list[str]], status: str, stage: str) -> str:
    # sbuild prints "E: ..." where the build stopped; the last one says why.
    errors = [
        line[3:]
        for lines in sections.values()
        for line in lines
        if line.startswith("E: ")
    ]
    detail = errors[-1] if errors else "no error message in the log"
    return f"{status} in stage {stage}: {detail}"


def parse_build_log(text: str) -> BuildLog:
    """Read an sbuild `.build` log (ToolOutputError if it is not one)."""
    if not text.startswith("sbuild "):
        raise ToolOutputError("not an sbuild build log (no 'sbuild' banner)")
    sections = _sections(text)
    if "Summary" not in sections:
        raise ToolOutputError(
            "sbuild log has no Summary section: truncated or still running"
        )
    fields = _summary_fields(sections["Summary"])
    missing = [k for k in ("Status", "Package") if k not in fields]
    if missing:
        raise ToolOutputError(f"sbuild log Summary lacks {', '.join(missing)}")
    status = fields["Status"]
    stage = fields.get("Fail-Stage")
    bd_report: dict[str, Any] | None = None
    reason: str | None = None
    if status == "successful":
        outcome = BuildOutcome.SUCCESS
    elif stage == "install-deps":
        outcome = BuildOutcome.BD_UNINSTALLABLE
        bd_report = _dose_report(text)
        reason = (_dose_reason(bd_report) if bd_report else None) or _apt_reason(text)
        reason = reason or "build-dependencies cannot be installed"
    elif stage == "build" or status in ("attempted", "failed"):
        outcome = BuildOutcome.BUILD_FAILURE
        reason = _failure_reason(sections, status, stage or "unknown")
    else:
        outcome = BuildOutcome.OTHER_FAILURE
        reason = _failure_reason(sections, status, stage or "unknown")
    version = fields.get("Version") or fields.get("Source-Version")
    if not version:
        raise ToolOutputError("sbuild log Summary lacks Version")
    return BuildLog(
        source=fields["Package"],
        version=version,
        architecture=fields.get("Host Architecture"),
        distribution=fields.get("Distribution"),
        status=status,
        fail_stage=stage,
        outcome=outcome,
        bd_uninstallable=bd_report,
        reason=reason,
        summary=fields,
    )


def package_build_log_data(log: BuildLog, filename: str) -> dict[str, Any]:
    """The data of the `debian:package-build-log` artifact of this log."""
    return {
        "source": log.source,
        "version": log.version,
        "architecture": log.architecture,
        "filename": filename,
        "bd_uninstallable": log.bd_uninstallable,
    }


def sbuild_command(
    dsc: Path,
    *,
    distribution: str,
    host_architecture: str,
    environment: Path,
    build_arch_any: bool = True,
    build_arch_all: bool = False,
    build_source: bool = False,
    build_profiles: Sequence[str] = (),
    extra_options: Sequence[str] = (),
) -> list[str]:
    """The sbuild argv building `dsc` in unshare mode from the tarball.

    sbuild's own lintian/piuparts/autopkgtest runs are off: those are
    separate tasks. The caller runs it in the directory that receives the
    build results and the `.build` log.
    """
    check_name("distribution", distribution, DISTRIBUTION_RE)
    check_name("architecture", host_architecture, ARCHITECTURE_RE)
    if not (build_arch_any or build_arch_all or build_source):
        raise ToolCommandError("sbuild: nothing to build (no any, all or source)")
    for profile in build_profiles:
        check_name("build profile", profile, PROFILE_RE)
    for option in extra_options:
        if not option.startswith("--"):
            raise ToolCommandError(f"sbuild: extra option {option!r} is not --option")
    argv = [
        "sbuild",
        "--chroot-mode=unshare",
        f"--chroot={environment}",
        f"--dist={distribution}",
        f"--arch={host_architecture}",
        "--arch-any" if build_arch_any else "--no-arch-any",
        "--arch-all" if build_arch_all else "--no-arch-all",
        "--source" if build_source else "--no-source",
        "--no-run-lintian",
        "--no-run-piuparts",
        "--no-run-autopkgtest",
        "--bd-uninstallable-explainer=dose3",
    ]
    if build_profiles:
        argv.append(f"--profiles={','.join(build_profiles)}")
    argv += list(extra_options)
    argv.append(str(dsc))
    return argv
