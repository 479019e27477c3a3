"""The `reverse_dependencies_autopkgtest` workflow: test what depends on us.

It searches `qa_suite` for source packages, other than the one tested,
whose `Testsuite` runs autopkgtest and which either have a binary that
depends on one of the tested binaries or name one of them in
`Testsuite-Triggers`, honouring `packages_allowlist` and
`packages_denylist`. Each one gets an `autopkgtest` sub-workflow (prefix
`{prefix}{name}_{version}|`, relative priority -5) testing it with the
tested binaries as context.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from debian.deb822 import PkgRelation
from marshmallow import fields, validate
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from debusine.artifacts.categories import ArtifactCategory
from debusine.collections import ExpectType, LookupResult
from debusine.collections.base import record_items_read
from debusine.models import Artifact, Collection, CollectionItem, CollectionItemType
from debusine.tasks import TaskDataSchema
from debusine.tasks.fields import (
    LookupMultiple,
    LookupSingle,
    architecture,
    backend,
    extra_repositories,
)
from debusine.workflows.base import Workflow, WorkflowValidationError
from debusine.workflows.sub_workflows import (
    check_categories,
    drop_none,
    ensure_sub_workflow,
    is_promise,
    lookup_multiple_or_promises,
    lookup_single_or_promise,
    real_artifact_ids,
)

RELATIVE_PRIORITY = -5
_DEPENDENCY_FIELDS = ("Depends", "Pre-Depends")
_SOURCE_CATEGORIES = (ArtifactCategory.SOURCE_PACKAGE, ArtifactCategory.UPLOAD)
_BINARY_CATEGORIES = (
    ArtifactCategory.UPLOAD,
    ArtifactCategory.BINARY_PACKAGE,
    ArtifactCategory.BINARY_PACKAGES,
)


class ReverseDependenciesAutopkgtestWorkflowData(TaskDataSchema):
    prefix = fields.String(load_default="", validate=validate.Regexp(r"^[^/]*$"))
    source_artifact = LookupSingle(required=True)
    binary_artifacts = LookupMultiple(required=True)
    context_artifacts = LookupMultiple(load_default=list)
    qa_suite = LookupSingle(required=True)
    vendor = fields.String(required=True, validate=validate.Length(min=1))
    codename = fields.String(required=True, validate=validate.Length(min=1))
    backend = backend()
    extra_repositories = extra_repositories()
    architectures = fields.List(architecture(), load_default=None, allow_none=True)
    arch_all_host_architecture = architecture(load_default="amd64")
    packages_allowlist = fields.List(
        fields.String(), load_default=None, allow_none=True
    )
    packages_denylist = fields.List(fields.String(), load_default=list)
    debug_level = fields.Integer(
        strict=True, load_default=0, validate=validate.Range(min=0, max=3)
    )


@dataclass
class ReverseDependency:
    """A source package of the suite whose autopkgtests exercise our binaries."""

    name: str
    version: str
    source_artifact_id: int
    binary_artifact_ids: list[int] = field(default_factory=list)


def runs_autopkgtest(testsuite: str) -> bool:
    """Whether a `Testsuite` field names autopkgtest (or an autopkgtest-pkg-*)."""
    items = [item.strip() for item in testsuite.split(",")]
    return any(
        item == "autopkgtest" or item.startswith("autopkgtest-pkg") for item in items
    )


def relation_names(value: str) -> set[str]:
    """Package names a Depends-style field mentions, alternatives included."""
    names = set()
    for group in PkgRelation.parse_relations(value):
        for relation in group:
            names.add(str(relation["name"]))
    return names


def binary_names(result: LookupResult) -> set[str]:
    """Names of the binary packages a lookup result (artifact or promise) holds."""
    if is_promise(result):
        assert result.collection_item is not None
        names = result.collection_item.data.get("binary_names")
        if not isinstance(names, list) or not names:
            raise WorkflowValidationError(
                f"binary_artifacts: promise {result.collection_item.name!r} has no"
                " binary_names"
            )
        return {str(name) for name in names}
    assert result.artifact is not None
    data = result.artifact.data
    match result.artifact.category:
        case ArtifactCategory.UPLOAD:
            return set(
                str((data.get("changes_fields") or {}).get("Binary", "")).split()
            )
        case ArtifactCategory.BINARY_PACKAGE:
            return {str((data.get("deb_fields") or {}).get("Package", ""))} - {""}
        case _:
            return {str(name) for name in data.get("packages") or []}


def source_name(result: LookupResult) -> str | None:
    if is_promise(result):
        assert result.collection_item is not None
        value = result.collection_item.data.get("source_package_name")
        return str(value) if value else None
    assert result.artifact is not None
    data = result.artifact.data
    value = data.get("name") or (data.get("changes_fields") or {}).get("Source")
    return str(value) if value else None


def find_reverse_dependencies(
    session: Any,
    suite: Collection,
    *,
    binaries: set[str],
    exclude: Iterable[str],
    allowlist: Sequence[str] | None,
    denylist: Sequence[str],
) -> list[ReverseDependency]:
    """The suite's source packages whose autopkgtests use `binaries`, by name."""
    skipped = {*exclude, *denylist}
    allowed = set(allowlist) if allowlist is not None else None
    record_items_read(session, suite)
    items = session.scalars(
        select(CollectionItem)
        .where(
            CollectionItem.parent_collection_id == suite.id,
            CollectionItem.removed_at.is_(None),
            CollectionItem.child_type == CollectionItemType.ARTIFACT,
            CollectionItem.category.in_(
                [ArtifactCategory.SOURCE_PACKAGE, ArtifactCategory.BINARY_PACKAGE]
            ),
        )
        .options(joinedload(CollectionItem.artifact))
        .order_by(CollectionItem.id)
    )
    sources: dict[tuple[str, str], Artifact] = {}
    built: dict[tuple[str, str], list[Artifact]] = defaultdict(list)
    for item in items:
        if item.artifact is None:
            continue
        if item.category == ArtifactCategory.SOURCE_PACKAGE:
            sources[(item.data["package"], item.data["version"])] = item.artifact
        else:
            key = (item.data["srcpkg_name"], item.data["srcpkg_version"])
            built[key].append(item.artifact)
    found = []
    for (name, version), source in sorted(sources.items()):
        if name in skipped or (allowed is not None and name not in allowed):
            continue
        dsc = source.data.get("dsc_fields") or {}
        if not built[(name, version)] or not runs_autopkgtest(dsc.get("Testsuite", "")):
            continue
        triggers = relation_names(dsc.get("Testsuite-Triggers", ""))
        depends: set[str] = set()
        for binary in built[(name, version)]:
            deb = binary.data.get("deb_fields") or {}
            for relation_field in _DEPENDENCY_FIELDS:
                depends |= relation_names(deb.get(relation_field, ""))
        if binaries & (triggers | depends):
            found.append(
                ReverseDependency(
                    name,
                    version,
                    source.id,
                    [binary.id for binary in built[(name, version)]],
                )
            )
    return found


class ReverseDependenciesAutopkgtestWorkflow(Workflow):
    """Autopkgtests of the reverse dependencies; see the module docstring."""

    TASK_NAME = "reverse_dependencies_autopkgtest"
    SCHEMA = ReverseDependenciesAutopkgtestWorkflowData

    def _source(self) -> LookupResult:
        result = lookup_single_or_promise(
            self, "source_artifact", self.data["source_artifact"]
        )
        check_categories("source_artifact", [result], _SOURCE_CATEGORIES)
        return result

    def _binaries(self) -> list[LookupResult]:
        results = lookup_multiple_or_promises(
            self, "binary_artifacts", self.data["binary_artifacts"]
        )
        check_categories("binary_artifacts", results, _BINARY_CATEGORIES)
        return results

    def _suite(self) -> Collection:
        try:
            result = self.lookup(
                self.data["qa_suite"],
                expect_type=ExpectType.COLLECTION,
                default_category="debian:suite",
            )
        except LookupError as exc:
            raise WorkflowValidationError(f"qa_suite: {exc}") from exc
        assert result.collection is not None
        if result.collection.category != "debian:suite":
            raise WorkflowValidationError(
                f"qa_suite: {result.collection.name}@{result.collection.category}"
                " is not a debian:suite collection"
            )
        return result.collection

    def validate_input(self) -> None:
        self._source()
        self._binaries()
        self._suite()
        if self.data["context_artifacts"]:
            lookup_multiple_or_promises(
                self, "context_artifacts", self.data["context_artifacts"]
            )

    def build_dynamic_data(self) -> dict[str, Any]:
        source = self._source()
        return {
            "subject": source_name(source),
            "parameter_summary": (
                f"autopkgtests of the reverse dependencies in"
                f" {self._suite().name}@debian:suite"
            ),
            "input_artifacts_ids": real_artifact_ids([source, *self._binaries()]),
        }

    def reverse_dependencies(self) -> list[ReverseDependency]:
        source, binaries = self._source(), self._binaries()
        names: set[str] = set()
        for result in binaries:
            names |= binary_names(result)
        own = source_name(source)
        return find_reverse_dependencies(
            self.session,
            self._suite(),
            binaries=names,
            exclude=[own] if own else [],
            allowlist=self.data["packages_allowlist"],
            denylist=self.data["packages_denylist"],
        )

    def _context(self) -> list[Any]:
        context: list[Any] = []
        for value in (self.data["binary_artifacts"], self.data["context_artifacts"]):
            if isinstance(value, dict):
                context.append(value)
            else:
                context += value
        return context

    def populate(self) -> None:
        context = self._context()
        for rdep in self.reverse_dependencies():
            label = f"{rdep.name}_{rdep.version}"
            ensure_sub_workflow(
                self,
                task_name="autopkgtest",
                task_data=drop_none(
                    {
                        "prefix": f"{self.data['prefix']}{label}|",
                        "source_artifact": f"{rdep.source_artifact_id}@artifacts",
                        "binary_artifacts": [
                            f"{i}@artifacts" for i in rdep.binary_artifact_ids
                        ],
                        "context_artifacts": context,
                        "vendor": self.data["vendor"],
                        "codename": self.data["codename"],
                        "backend": self.data["backend"],
                        "extra_repositories": self.data["extra_repositories"],
                        "architectures": self.data["architectures"],
                        "arch_all_host_architecture": (
                            self.data["arch_all_host_architecture"]
                        ),
                        "debug_level": self.data["debug_level"],
                    }
                ),
                workflow_data={
                    "display_name": f"autopkgtests of {label}",
                    "step": f"autopkgtest-{label}",
                },
                requires=[context] if context else [],
                relative_priority=RELATIVE_PRIORITY,
            )
