"""lintian: the command line, its JSON and text output, and the summary.

Lintian 2.116 writes structured output with `--exp-output format=json`
(hints grouped by input file, each with its visibility, experimental flag
and override); the text ("E: pkg: tag [pointer]") is kept as lintian.txt
and can be parsed too. A hint's severity for the summary is `overridden`
if it is overridden, `experimental` if the tag is experimental, else its
visibility (error, warning, info, pedantic, classification).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path, PurePath
from typing import Any

from worker.tools import ToolCommandError, ToolOutputError

SEVERITIES = (
    "error",
    "warning",
    "info",
    "pedantic",
    "experimental",
    "overridden",
    "classification",
)
# From the most to the least severe, for `fail_on_severity`.
FAIL_ORDER = ("error", "warning", "info", "pedantic", "experimental", "overridden")
TEXT_CODES = {
    "E": "error",
    "W": "warning",
    "I": "info",
    "P": "pedantic",
    "X": "experimental",
    "O": "overridden",
    "C": "classification",
}
TAG_RE = re.compile(r"[a-z0-9][a-z0-9+.-]*")
_TEXT_RE = re.compile(
    r"^(?P<code>[EWIPXOC]): (?P<package>[^ :]+)"
    r"(?: (?P<type>source|changes|buildinfo|udeb))?"
    r": (?P<tag>[a-z0-9][a-z0-9+.-]*)(?: (?P<rest>.*))?$"
)
# The pointer is the bracketed end of the line: "note words [path:line]".
_POINTER_RE = re.compile(r"^(?:(?P<note>.*?) )?\[(?P<pointer>[^\]]*)\]$")


@dataclass(frozen=True)
class LintianTag:
    tag: str
    severity: str
    package: str
    # source, binary, udeb, changes or buildinfo.
    package_type: str
    note: str
    pointer: str
    # The override's justification, for overridden tags.
    comment: str
    # source, all or a Debian architecture (None when unknown: text output).
    architecture: str | None = None
    filename: str | None = None


@dataclass(frozen=True)
class LintianReport:
    lintian_version: str | None
    tags: list[LintianTag]


def _input_kind(path: str, source_name: str) -> tuple[str, str, str | None]:
    """(package, package type, architecture) of a lintian input file."""
    name = PurePath(path).name
    stem, _, suffix = name.rpartition(".")
    parts = stem.split("_")
    if suffix in ("deb", "udeb") and len(parts) == 3:
        return parts[0], "binary" if suffix == "deb" else "udeb", parts[2]
    if suffix == "dsc":
        return source_name, "source", "source"
    if suffix in ("changes", "buildinfo"):
        return source_name, suffix, None
    raise ToolOutputError(f"lintian JSON: unexpected input file {path!r}")


def _pointer(hint: Mapping[str, Any]) -> str:
    item = (hint.get("pointer") or {}).get("item")
    if not item:
        return ""
    line = (hint.get("pointer") or {}).get("line_position") or 0
    return f"{item['name']}:{line}" if line else str(item["name"])


def _severity(hint: Mapping[str, Any]) -> str:
    if hint.get("override"):
        return "overridden"
    if hint.get("experimental"):
        return "experimental"
    visibility = hint.get("visibility")
    if visibility not in SEVERITIES:
        raise ToolOutputError(f"lintian JSON: unknown visibility {visibility!r}")
    return str(visibility)


def parse_json(text: str) -> LintianReport:
    """Read `lintian --exp-output format=json` output."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ToolOutputError(
            f"lintian JSON output is not valid JSON (truncated?): {error}"
        ) from None
    if not isinstance(document, dict) or not isinstance(document.get("groups"), list):
        raise ToolOutputError("lintian JSON output has no 'groups' list")
    tags: list[LintianTag] = []
    try:
        for group in document["groups"]:
            source_name = group["source_name"]
            for input_file in group["input_files"]:
                package, kind, arch = _input_kind(input_file["path"], source_name)
                for hint in input_file["hints"]:
                    if not TAG_RE.fullmatch(hint["tag"]):
                        raise ToolOutputError(
                            f"lintian JSON: invalid tag name {hint['tag']!r}"
                        )
                    tags.append(
                        LintianTag(
                            tag=hint["tag"],
                            severity=_severity(hint),
                            package=package,
                            package_type=kind,
                            note=hint.get("note") or "",
                            pointer=_pointer(hint),
                            comment=(hint.get("override") or {}).get("justification")
                            or "",
                            architecture=arch,
                            filename=PurePath(input_file["path"]).name,
                        )
                    )
    except (KeyError, TypeError) as error:
        raise ToolOutputError(
            f"lintian JSON output lacks an expected field: {error}"
        ) from None
    return LintianReport(document.get("lintian_version"), tags)


def parse_text(text: str) -> list[LintianTag]:
    """Read lintian's text output; `N:` lines before an `O:` are its comment."""
    tags: list[LintianTag] = []
    notes: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if line.startswith("N:"):
            notes.append(line[2:].strip())
            continue
        match = _TEXT_RE.match(line)
        if match is None:
            raise ToolOutputError(
                f"lintian output line {number} not understood: {line!r}"
            )
        severity = TEXT_CODES[match["code"]]
        note, pointer = match["rest"] or "", ""
        if (found := _POINTER_RE.match(note)) is not None:
            note, pointer = found["note"] or "", found["pointer"]
        tags.append(
            LintianTag(
                tag=match["tag"],
                severity=severity,
                package=match["package"],
                package_type=match["type"] or "binary",
                note=note,
                pointer=pointer,
                comment=" ".join(notes) if severity == "overridden" else "",
            )
        )
        notes = []
    return tags


def _sort_key(tag: LintianTag) -> tuple[str, str, str, str, str]:
    return (tag.package, tag.package_type, tag.tag, tag.note, tag.pointer)


def summary(
    tags: Iterable[LintianTag],
    *,
    lintian_version: str,
    distribution: str | None,
    package_filename: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The `summary` of a debian:lintian artifact (and of analysis.json)."""
    tags = list(tags)
    counts = Counter(t.severity for t in tags)
    filenames = dict(package_filename or {})
    for tag in tags:
        if tag.filename and tag.package_type in ("source", "binary", "udeb"):
            filenames.setdefault(tag.package, tag.filename)
    return {
        "tags_count_by_severity": {s: counts.get(s, 0) for s in SEVERITIES},
        "package_filename": filenames,
        "tags_found": sorted({t.tag for t in tags if t.severity != "overridden"}),
        "overridden_tags_found": sorted(
            {t.tag for t in tags if t.severity == "overridden"}
        ),
        "lintian_version": lintian_version,
        "distribution": distribution,
    }


def analysis(
    tags: Iterable[LintianTag], summary_data: Mapping[str, Any]
) -> dict[str, Any]:
    """The content of analysis.json: version, summary and the sorted tags."""
    rows = []
    for tag in sorted(tags, key=_sort_key):
        row = asdict(tag)
        del row["architecture"], row["filename"], row["package_type"]
        row["explanation"] = ""
        rows.append(row)
    return {"version": "1.0", "summary": dict(summary_data), "tags": rows}


def artifact_data(architecture: str, summary_data: Mapping[str, Any]) -> dict[str, Any]:
    """The data of a `debian:lintian` artifact."""
    return {"architecture": architecture, "summary": dict(summary_data)}


def split_by_architecture(tags: Iterable[LintianTag]) -> dict[str, list[LintianTag]]:
    """Tags of the source, all and each architecture's binaries, apart.

    Tags of the .changes and .buildinfo belong to no group and are dropped.
    """
    groups: dict[str, list[LintianTag]] = {}
    for tag in tags:
        if tag.architecture is not None:
            groups.setdefault(tag.architecture, []).append(tag)
    return groups


def fails_on(summary_data: Mapping[str, Any], fail_on_severity: str) -> bool:
    """Whether a tag at or above `fail_on_severity` was found ("none": never)."""
    if fail_on_severity == "none":
        return False
    if fail_on_severity not in FAIL_ORDER:
        raise ToolCommandError(
            f"unknown fail_on_severity {fail_on_severity!r}; use one of "
            + ", ".join((*FAIL_ORDER, "none"))
        )
    counts = summary_data["tags_count_by_severity"]
    worst = FAIL_ORDER[: FAIL_ORDER.index(fail_on_severity) + 1]
    return any(counts.get(severity, 0) for severity in worst)


def lintian_command(
    files: Sequence[Path],
    *,
    json_output: bool = True,
    include_tags: Sequence[str] = (),
    exclude_tags: Sequence[str] = (),
) -> list[str]:
    """The lintian argv showing every hint (info, pedantic, experimental and
    overridden ones too); the exit code does not depend on the findings."""
    if not files:
        raise ToolCommandError("lintian: no files to check")
    for tag in (*include_tags, *exclude_tags):
        if not TAG_RE.fullmatch(tag):
            raise ToolCommandError(f"lintian: invalid tag name {tag!r}")
    argv = [
        "lintian",
        "--no-cfg",
        "--no-user-dirs",
        "--display-info",
        "--display-experimental",
        "--pedantic",
        "--show-overrides",
        "--fail-on=none",
    ]
    if json_output:
        argv += ["--exp-output", "format=json"]
    if include_tags:
        argv.append(f"--tags={','.join(include_tags)}")
    if exclude_tags:
        argv.append(f"--suppress-tags={','.join(exclude_tags)}")
    return argv + [str(f) for f in files]
