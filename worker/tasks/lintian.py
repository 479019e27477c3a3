"""`lintian` on the worker: one lintian run, one `debian:lintian` per group.

Lintian checks the source (`source_artifact_id`) and the binaries
(`binary_artifacts_ids`) in one run, with JSON output. Its hints are then
split into groups: the source, the `all` binaries and each architecture's
binaries; each group asked for in `output` becomes a `debian:lintian`
artifact (lintian.txt in lintian's own text format, analysis.json) that
relates to the artifacts checked. The task fails when a hint at or above
`fail_on_severity` is found.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from debusine.artifacts.categories import ArtifactCategory
from worker.tasks.base import InputArtifact
from worker.tasks.tool_task import (
    InvalidInput,
    ToolFailed,
    ToolOutputNotUnderstood,
    ToolTask,
    debs_of,
    one_dsc,
)
from worker.tools import ToolOutputError, lintian

# Severity -> the letter lintian's text output starts a line with.
SEVERITY_CODES = {severity: code for code, severity in lintian.TEXT_CODES.items()}
# Package types lintian names after the package ("hello source: tag").
NAMED_TYPES = ("source", "changes", "buildinfo", "udeb")


def text_line(tag: lintian.LintianTag) -> str:
    """The hint as lintian's text output writes it."""
    kind = f" {tag.package_type}" if tag.package_type in NAMED_TYPES else ""
    line = f"{SEVERITY_CODES[tag.severity]}: {tag.package}{kind}: {tag.tag}"
    if tag.note:
        line += f" {tag.note}"
    if tag.pointer:
        line += f" [{tag.pointer}]"
    if tag.severity == "overridden" and tag.comment:
        return f"N: {tag.comment}\n{line}"
    return line


def deb_name_and_architecture(path: Path) -> tuple[str, str]:
    parts = path.name.rsplit(".", 1)[0].split("_")
    if len(parts) != 3:
        raise InvalidInput(f"{path.name} is not named PACKAGE_VERSION_ARCH.deb")
    return parts[0], parts[2]


class LintianTask(ToolTask):
    NAME = "lintian"
    TOOL = "lintian"

    def execute(self) -> bool:
        source: InputArtifact | None = None
        if self.dynamic_data.get("source_artifact_id") is not None:
            source = self.inputs("source_artifact_id")[0]
        binaries = (
            self.inputs("binary_artifacts_ids")
            if self.dynamic_data.get("binary_artifacts_ids")
            else []
        )
        if source is None and not binaries:
            raise InvalidInput("nothing to check: no source and no binary artifacts")

        # Group -> (files lintian checks, artifacts they come from).
        groups: dict[str, tuple[dict[str, str], list[int]]] = {}
        files: list[Path] = []
        if source is not None:
            dsc = one_dsc(source)
            files.append(dsc)
            name = str(source.data.get("name") or dsc.name.split("_")[0])
            groups["source"] = ({name: dsc.name}, [source.id])
        for artifact in binaries:
            debs = debs_of([artifact])
            if not debs:
                raise InvalidInput(
                    f"artifact {artifact.id} ({artifact.category}) holds no .deb"
                )
            for deb in debs:
                package, architecture = deb_name_and_architecture(deb)
                names, ids = groups.setdefault(architecture, ({}, []))
                names[package] = deb.name
                if artifact.id not in ids:
                    ids.append(artifact.id)
                files.append(deb)

        argv = lintian.lintian_command(
            files,
            include_tags=self.data["include_tags"],
            exclude_tags=self.data["exclude_tags"],
        )
        run = self.run_command(
            argv, cwd=self.context.work_directory, capture_stdout=True
        )
        (self.logs_directory / "lintian.json").write_text(run.stdout, encoding="utf-8")
        if run.returncode != 0:
            raise ToolFailed(
                "lintian-failed", f"lintian failed with exit status {run.returncode}"
            )
        try:
            report = lintian.parse_json(run.stdout)
        except ToolOutputError as error:
            raise ToolOutputNotUnderstood(str(error)) from None
        version = report.lintian_version or str(self.tool_version)
        distribution = self.data["target_distribution"]
        tags_by_group = lintian.split_by_architecture(report.tags)

        checked: list[lintian.LintianTag] = []
        for group, (package_filename, related) in sorted(groups.items()):
            tags = tags_by_group.get(group, [])
            checked += tags
            if not self._wanted(group):
                continue
            summary = lintian.summary(
                tags,
                lintian_version=version,
                distribution=distribution,
                package_filename=package_filename,
            )
            self._upload_group(group, tags, summary, related)
            self.log(
                f"lintian: {group}: "
                + ", ".join(
                    f"{count} {severity}"
                    for severity, count in summary["tags_count_by_severity"].items()
                    if count
                )
            )

        overall = lintian.summary(
            checked, lintian_version=version, distribution=distribution
        )
        failed = lintian.fails_on(overall, self.data["fail_on_severity"])
        if failed:
            self.log(
                f"lintian: failure: tags at or above {self.data['fail_on_severity']}"
            )
        return not failed

    def _wanted(self, group: str) -> bool:
        output: Mapping[str, bool] = self.data["output"]
        if group == "source":
            return output["source_analysis"]
        if group == "all":
            return output["binary_all_analysis"]
        return output["binary_any_analysis"]

    def _upload_group(
        self,
        group: str,
        tags: list[lintian.LintianTag],
        summary: dict[str, Any],
        related: list[int],
    ) -> int:
        directory = self.context.work_directory / "output" / group
        directory.mkdir(parents=True, exist_ok=True)
        ordered = sorted(
            tags, key=lambda t: (t.package, t.package_type, t.tag, t.note, t.pointer)
        )
        text = "".join(f"{text_line(tag)}\n" for tag in ordered)
        (directory / "lintian.txt").write_text(text, encoding="utf-8")
        (directory / "analysis.json").write_text(
            json.dumps(lintian.analysis(tags, summary), indent=2, sort_keys=True),
            encoding="utf-8",
        )
        return self.upload_artifact(
            ArtifactCategory.LINTIAN,
            {
                "lintian.txt": directory / "lintian.txt",
                "analysis.json": directory / "analysis.json",
            },
            lintian.artifact_data(group, summary),
            relations=[("relates-to", artifact_id) for artifact_id in related],
        )
