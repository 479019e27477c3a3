"""The `debdiff` workflow: what changed against the `original` suite.

`original` is a `debian:suite`. When it holds a version of the source
package, one `debdiff` compares that source with the new one
(`debdiff-source`), and one per architecture compares the binaries: the
new binaries of the architecture and `all` against the suite's binaries
of that source version for the same architectures, so a package that
moved between `all` and an architecture is still compared. Binaries that
are all `all` are compared on `arch_all_host_architecture`; an
architecture the suite has no binaries for is skipped, as is everything
for a source the suite does not have. Each `debdiff` promises its
`debian:debdiff` as `{prefix}debdiff-{source|ARCH}`.
"""

from __future__ import annotations

from typing import Any

from marshmallow import fields, validate

from debusine.artifacts.categories import ArtifactCategory
from debusine.collections import ExpectType
from debusine.models import Artifact, Collection, WorkRequest
from debusine.tasks import TaskDataSchema, TaskType
from debusine.tasks.debdiff import EXTRA_FLAGS
from debusine.tasks.fields import LookupMultiple, LookupSingle, architecture, flags
from debusine.workflows.base import Workflow, WorkflowValidationError
from debusine.workflows.workflow_utils import (
    filter_artifact_lookup_by_arch,
    get_binary_architectures,
    get_source_package_names,
    locate_debian_source_package_lookup,
)

NAME_RE = r"^[A-Za-z0-9][A-Za-z0-9.+_-]*$"
_SOURCE_CATEGORIES = (ArtifactCategory.SOURCE_PACKAGE, ArtifactCategory.UPLOAD)


class DebDiffWorkflowData(TaskDataSchema):
    prefix = fields.String(
        load_default="", validate=validate.Regexp(r"^[^/]*$", error="No '/' allowed.")
    )
    source_artifact = LookupSingle(required=True)
    binary_artifacts = LookupMultiple(load_default=list)
    # The debian:suite to compare with.
    original = LookupSingle(required=True)
    # The distribution the new package is for (shown to users).
    vendor = fields.String(
        load_default=None, allow_none=True, validate=validate.Regexp(NAME_RE)
    )
    codename = fields.String(
        load_default=None, allow_none=True, validate=validate.Regexp(NAME_RE)
    )
    architectures = fields.List(architecture(), load_default=list)
    arch_all_host_architecture = architecture(load_default="amd64")
    extra_flags = flags(EXTRA_FLAGS)


class DebDiffWorkflow(Workflow):
    """A source `debdiff` and one per architecture; see the module docstring."""

    TASK_NAME = "debdiff"
    SCHEMA = DebDiffWorkflowData

    def original_suite(self) -> Collection:
        try:
            result = self.lookup(
                self.data["original"], expect_type=ExpectType.COLLECTION
            )
        except LookupError as exc:
            raise WorkflowValidationError(f"original: {exc}") from exc
        suite = result.collection
        assert suite is not None  # a COLLECTION lookup has one
        if suite.category != "debian:suite":
            raise WorkflowValidationError(
                f"original: {suite.name}@{suite.category} is not a debian:suite"
            )
        return suite

    def source(self) -> tuple[int | str, str]:
        """The lookup of the new source package, and its name."""
        lookup = self.data["source_artifact"]
        try:
            new = locate_debian_source_package_lookup(self, "source_artifact", lookup)
            result = self.lookup(lookup, expect_type=ExpectType.ARTIFACT_OR_PROMISE)
        except LookupError as exc:
            raise WorkflowValidationError(f"source_artifact: {exc}") from exc
        (name,) = get_source_package_names(
            [result],
            configuration_key="source_artifact",
            artifact_expected_categories=_SOURCE_CATEGORIES,
        )
        return new, name

    def task_architectures(self) -> list[str]:
        found = get_binary_architectures(self, "binary_artifacts")
        concrete = found - {"all"}
        if self.data["architectures"]:
            concrete &= set(self.data["architectures"])
        if not concrete and "all" in found:
            concrete = {self.data["arch_all_host_architecture"]}
        return sorted(concrete)

    def validate_input(self) -> None:
        self.original_suite()
        self.source()
        self.task_architectures()

    def build_dynamic_data(self) -> dict[str, Any]:
        target = (
            f" for {self.data['vendor']}:{self.data['codename']}"
            if self.data["vendor"] and self.data["codename"]
            else ""
        )
        return {
            "subject": None,
            "parameter_summary": f"debdiff against {self.data['original']}{target}",
            "input_artifacts_ids": [],
        }

    def _original_source(self, suite: Collection, name: str) -> Artifact | None:
        try:
            result = self.lookup(
                f"{suite.id}@collections/source:{name}",
                expect_type=ExpectType.ARTIFACT,
            )
        except LookupError:
            return None  # a new package: nothing to compare with
        return result.artifact

    def _original_binaries(
        self, suite: Collection, source: Artifact
    ) -> dict[str, list[str]]:
        """The suite's binaries of `source` by architecture, in name order."""
        results = self.lookup_multiple(
            {
                "collection": f"{suite.id}@collections",
                "category": ArtifactCategory.BINARY_PACKAGE.value,
                "data__srcpkg_name": source.data["name"],
                "data__srcpkg_version": source.data["version"],
            },
            expect_type=ExpectType.ARTIFACT,
        )
        found = sorted(
            (r.collection_item.name, str(r.collection_item.data["architecture"]),
             r.artifact.id)
            for r in results
            if r.collection_item is not None and r.artifact is not None
        )  # fmt: skip
        by_arch: dict[str, list[str]] = {}
        for _, arch, artifact_id in found:
            by_arch.setdefault(arch, []).append(f"{artifact_id}@artifacts")
        return by_arch

    @staticmethod
    def compatible(old: dict[str, list[str]], architecture: str) -> list[str]:
        """What new binaries of `architecture` (and `all`) are compared with.

        The suite's binaries of that architecture and `all`; only the `all`
        ones if the package was all `all` there; none for an architecture
        the suite did not build the package on (a new port).
        """
        if architecture in old:
            return old[architecture] + old.get("all", [])
        if set(old) == {"all"}:
            return old["all"]
        return []

    def _debdiff(
        self, label: str, host: str, task_input: dict[str, Any]
    ) -> WorkRequest:
        child = self.work_request_ensure_child(
            task_type=TaskType.WORKER,
            task_name="debdiff",
            task_data={
                "input": task_input,
                "host_architecture": host,
                "extra_flags": self.data["extra_flags"],
            },
            workflow_data={
                "display_name": f"debdiff {label}",
                "step": f"debdiff-{label}",
            },
        )
        self.provides_artifact(
            child,
            ArtifactCategory.DEBDIFF,
            f"{self.data['prefix']}debdiff-{label}",
            data={"architecture": label},
        )
        return child

    def populate(self) -> None:
        suite = self.original_suite()
        new_source, name = self.source()
        architectures = self.task_architectures()
        original = self._original_source(suite, name)
        if original is None:
            return
        child = self._debdiff(
            "source",
            self.data["arch_all_host_architecture"],
            {"source_artifacts": [f"{original.id}@artifacts", new_source]},
        )
        self.requires_artifact(child, new_source)
        binaries = self._original_binaries(suite, original)
        for arch in architectures:
            old = self.compatible(binaries, arch)
            if not old:
                continue
            new = filter_artifact_lookup_by_arch(
                self, self.data["binary_artifacts"], (arch, "all")
            )
            child = self._debdiff(arch, arch, {"binary_artifacts": [old, new]})
            self.requires_artifact(child, new)
