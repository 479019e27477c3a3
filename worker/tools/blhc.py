"""blhc: the build-log hardening check, its command line and its findings.

blhc's exit status is a bit mask (blhc(1)): 1 no compiler commands,
2 invalid arguments, 4 non-verbose build, 8 missing hardening flags,
16 hardening wrapper, 32 invalid CMake. Only 2 (and codes outside the mask)
mean blhc itself failed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from worker.tools import ToolOutputError, check_flags

ALLOWED_FLAGS = frozenset(
    ["--all", "--bindnow", "--buildd", "--color", "--debian", "--line-numbers", "--pie"]
)
EXIT_CONDITIONS = {
    1: "no-compiler-commands",
    4: "non-verbose-build",
    8: "missing-hardening-flags",
    16: "hardening-wrapper",
    32: "invalid-cmake",
}
EXIT_INVALID_ARGUMENTS = 2

_MISSING_RE = re.compile(
    r"^(?:(?P<line>\d+):)?(?P<kind>[A-Z]+FLAGS) missing "
    r"\((?P<flags>[^)]*)\): (?P<command>.*)$"
)
_BUILDD_RE = re.compile(r"^(?P<level>[IWE])-(?P<tag>[a-z0-9-]+)\|(?P<detail>.*)\|$")
_OTHER_MESSAGES = ("NONVERBOSE BUILD", "No compiler commands!", "Hardening wrapper")


@dataclass(frozen=True)
class MissingFlags:
    kind: str
    flags: list[str]
    command: str
    line: int | None


@dataclass(frozen=True)
class BlhcReport:
    conditions: list[str]
    missing: list[MissingFlags]
    # --buildd output: (tag, detail) pairs such as dpkg-buildflags-missing.
    buildd_tags: list[tuple[str, str]]
    messages: list[str]

    @property
    def clean(self) -> bool:
        return not self.missing and not any(
            tag.startswith("dpkg-buildflags-missing") for tag, _ in self.buildd_tags
        )


def exit_conditions(exit_code: int) -> list[str]:
    """The conditions an exit code reports (ToolOutputError if blhc failed)."""
    if exit_code < 0 or exit_code & EXIT_INVALID_ARGUMENTS or exit_code >= 64:
        raise ToolOutputError(f"blhc failed with exit code {exit_code}")
    return [name for bit, name in EXIT_CONDITIONS.items() if exit_code & bit]


def parse_output(text: str, exit_code: int) -> BlhcReport:
    """Read blhc's output (plain, --line-numbers or --buildd)."""
    conditions = exit_conditions(exit_code)
    missing: list[MissingFlags] = []
    buildd: list[tuple[str, str]] = []
    messages: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if (found := _MISSING_RE.match(line)) is not None:
            missing.append(
                MissingFlags(
                    kind=found["kind"],
                    flags=found["flags"].split(),
                    command=found["command"],
                    line=int(found["line"]) if found["line"] else None,
                )
            )
        elif (found := _BUILDD_RE.match(line)) is not None:
            buildd.append((found["tag"], found["detail"]))
        elif line.startswith(_OTHER_MESSAGES):
            messages.append(line)
        else:
            raise ToolOutputError(f"blhc output line {number} not understood: {line!r}")
    if "missing-hardening-flags" in conditions and not missing:
        raise ToolOutputError("blhc reported missing flags but listed none")
    return BlhcReport(conditions, missing, buildd, messages)


def blhc_command(build_log: Path, extra_flags: Sequence[str] = ()) -> list[str]:
    return [
        "blhc",
        *check_flags("blhc", list(extra_flags), ALLOWED_FLAGS),
        str(build_log),
    ]
