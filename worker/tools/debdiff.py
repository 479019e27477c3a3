"""debdiff: the command lines (two sources, two sets of binaries) and a
summary of the differences it prints.

Exit status: 0 no differences, 1 differences, anything else an error.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from worker.tools import ToolCommandError, ToolOutputError, check_flags

ALLOWED_FLAGS = frozenset(
    [
        "--dirs",
        "--nocontrol",
        "--wdiff-source-control",
        "--show-moved",
        "--diffstat",
        "--apply-patches",
        "--ignore-space",
    ]
)
_DIFF_RE = re.compile(r"^diff -\S+ (?P<old>\S+) (?P<new>\S+)$")
_CONTROL_RE = re.compile(
    r"^Control files of package (?P<package>\S+): lines which differ"
)
_FILES_ONLY_RE = re.compile(
    r"^Files in (?P<which>first|second) set of \.debs but not in"
)
_FILE_ENTRY_RE = re.compile(r"^\S{10}\s+\S+/\S+\s+(?P<path>/.*)$")


@dataclass
class DebdiffSummary:
    identical: bool
    # Source diffs: changed path -> (lines added, lines removed).
    changed_files: dict[str, tuple[int, int]] = field(default_factory=dict)
    # Binary diffs.
    files_added: list[str] = field(default_factory=list)
    files_removed: list[str] = field(default_factory=list)
    control_changes: dict[str, list[str]] = field(default_factory=dict)


def _strip_top(path: str) -> str:
    return path.split("/", 1)[1] if "/" in path else path


def parse_output(text: str, exit_code: int) -> DebdiffSummary:
    """Summarize debdiff's output (ToolOutputError if debdiff failed)."""
    if exit_code not in (0, 1):
        first = text.strip().splitlines()[:1]
        raise ToolOutputError(
            f"debdiff failed with exit code {exit_code}"
            + (f": {first[0]}" if first else "")
        )
    summary = DebdiffSummary(identical=exit_code == 0)
    current_file: str | None = None
    current_package: str | None = None
    file_list: list[str] | None = None
    for line in text.splitlines():
        if (match := _DIFF_RE.match(line)) is not None:
            current_file, current_package, file_list = (
                _strip_top(match["new"]),
                None,
                None,
            )
            summary.changed_files[current_file] = (0, 0)
        elif (match := _CONTROL_RE.match(line)) is not None:
            current_file, file_list = None, None
            current_package = match["package"]
            summary.control_changes[current_package] = []
        elif (match := _FILES_ONLY_RE.match(line)) is not None:
            current_file, current_package = None, None
            file_list = (
                summary.files_removed
                if match["which"] == "first"
                else summary.files_added
            )
        elif current_file is not None:
            if line.startswith(("+++ ", "--- ", "@@ ")):
                continue
            added, removed = summary.changed_files[current_file]
            if line.startswith("+"):
                summary.changed_files[current_file] = (added + 1, removed)
            elif line.startswith("-"):
                summary.changed_files[current_file] = (added, removed + 1)
        elif current_package is not None:
            if line.strip() and not line.startswith("---"):
                summary.control_changes[current_package].append(line)
        elif file_list is not None and (match := _FILE_ENTRY_RE.match(line)):
            file_list.append(match["path"])
    if exit_code == 1 and not (
        summary.changed_files
        or summary.files_added
        or summary.files_removed
        or summary.control_changes
    ):
        raise ToolOutputError("debdiff reported differences but none were understood")
    return summary


def source_command(
    original: Path, new: Path, extra_flags: Sequence[str] = ()
) -> list[str]:
    """debdiff between two .dsc files."""
    for path in (original, new):
        if path.suffix != ".dsc":
            raise ToolCommandError(
                f"debdiff of sources needs .dsc files, not {path.name}"
            )
    flags = check_flags("debdiff", list(extra_flags), ALLOWED_FLAGS)
    return ["debdiff", *flags, str(original), str(new)]


def binary_command(
    original: Sequence[Path], new: Sequence[Path], extra_flags: Sequence[str] = ()
) -> list[str]:
    """debdiff between two sets of .deb files."""
    if not original or not new:
        raise ToolCommandError("debdiff of binaries needs .deb files on both sides")
    for path in (*original, *new):
        if path.suffix not in (".deb", ".udeb"):
            raise ToolCommandError(
                f"debdiff of binaries needs .deb files, not {path.name}"
            )
    flags = check_flags("debdiff", list(extra_flags), ALLOWED_FLAGS)
    return [
        "debdiff",
        *flags,
        "--from",
        *(str(p) for p in original),
        "--to",
        *(str(p) for p in new),
    ]


def artifact_data(original: str, new: str) -> dict[str, str]:
    """The data of a `debian:debdiff` artifact: what was compared."""
    return {"original": original, "new": new}
