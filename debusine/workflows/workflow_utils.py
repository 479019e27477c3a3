"""Utility functions for workflows: architectures, source packages, overlays.

Lookup results may be real artifacts or promises (`debusine:promise` bare
items of the internal collection); the `lookup_result_*` helpers read
either.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import object_session

from debusine.artifacts.categories import ArtifactCategory, ArtifactRelationType
from debusine.collections import ExpectType, LookupResult
from debusine.collections.workflow_internal import PROMISE
from debusine.errors import DomainError
from debusine.models import Artifact, ArtifactRelation, CollectionItemType
from debusine.workflows.base import (
    LookupMultiple,
    Workflow,
    WorkflowValidationError,
)

# An extra APT repository for a task: url, suite, components (and
# optionally signing_key), as the worker tasks take it.
ExtraRepository = dict[str, Any]

# Suites that only make sense on top of another one (vendor, overlay) -> base.
_OVERLAY_BASES = {("debian", "experimental"): "sid", ("debian", "rc-buggy"): "sid"}
_BACKPORTS_SUFFIXES = ("-backports-sloppy", "-backports")


class ArtifactHasNoArchitecture(DomainError):
    """Raised if it's not possible to determine the artifact's architecture."""


class ArtifactHasNoBinaryPackageName(DomainError):
    """Raised if it's not possible to determine the artifact's binary name."""


def _is_promise(result: LookupResult) -> bool:
    item = result.collection_item
    return (
        result.result_type == CollectionItemType.BARE
        and item is not None
        and item.category == PROMISE
    )


def _describe(result: LookupResult) -> str:
    if result.artifact is not None:
        return f"artifact {result.artifact.id} ({result.artifact.category})"
    if result.collection_item is not None:
        return f"collection item {result.collection_item.name!r}"
    return "lookup result"


def lookup_result_artifact_category(result: LookupResult) -> str:
    """Artifact category of a lookup result: an artifact's, or a promise's."""
    if result.artifact is not None:
        return result.artifact.category
    if _is_promise(result):
        assert result.collection_item is not None
        return str(result.collection_item.data["promise_category"])
    raise ValueError(f"{_describe(result)} is neither an artifact nor a promise")


def _artifact_architecture(artifact: Artifact) -> str | None:
    data = artifact.data
    match artifact.category:
        case ArtifactCategory.SOURCE_PACKAGE:
            return "source"
        case ArtifactCategory.BINARY_PACKAGE:
            value = (data.get("deb_fields") or {}).get("Architecture")
        case ArtifactCategory.UPLOAD:
            # An upload of builds for one architecture (plus source/all).
            names = str((data.get("changes_fields") or {}).get("Architecture", ""))
            concrete = [a for a in names.split() if a not in ("source", "all")]
            if len(concrete) > 1:
                return None
            value = concrete[0] if concrete else ("all" if "all" in names else None)
        case _:
            value = data.get("architecture")
    return str(value) if value else None


def lookup_result_architecture(result: LookupResult) -> str:
    """Get architecture from result of looking up an artifact (or promise)."""
    if result.artifact is not None:
        architecture = _artifact_architecture(result.artifact)
    elif _is_promise(result):
        assert result.collection_item is not None
        architecture = result.collection_item.data.get("architecture")
    else:
        architecture = None
    if not architecture:
        raise ArtifactHasNoArchitecture(
            f"Cannot determine the architecture of {_describe(result)}"
        )
    return str(architecture)


def lookup_result_binary_package_name(result: LookupResult) -> str:
    """Get binary package name from result of looking up an artifact (or promise)."""
    name: Any = None
    if result.artifact is not None:
        if result.artifact.category == ArtifactCategory.BINARY_PACKAGE:
            name = (result.artifact.data.get("deb_fields") or {}).get("Package")
    elif _is_promise(result):
        assert result.collection_item is not None
        name = result.collection_item.data.get("binary_package_name")
    if not name:
        raise ArtifactHasNoBinaryPackageName(
            f"Cannot determine the binary package name of {_describe(result)}"
        )
    return str(name)


def get_architectures(workflow: Workflow, lookup: LookupMultiple) -> set[str]:
    """Return set with all the architectures in the artifacts from the lookup."""
    return {
        lookup_result_architecture(result)
        for result in workflow.lookup_multiple(
            lookup, expect_type=ExpectType.ARTIFACT_OR_PROMISE
        )
    }


_BINARY_CATEGORIES = (
    ArtifactCategory.UPLOAD,
    ArtifactCategory.BINARY_PACKAGE,
    ArtifactCategory.BINARY_PACKAGES,
)


def get_binary_architectures(workflow: Workflow, field: str) -> set[str]:
    """The architectures (`all` included) of the binaries in `workflow.data[field]`.

    Each result must be a binary package, binary packages or upload
    artifact, or a promise of one; anything else, or a failed lookup, is a
    WorkflowValidationError naming `field`.
    """
    lookup = workflow.data[field]
    if not lookup:
        return set()
    try:
        results = workflow.lookup_multiple(
            lookup, expect_type=ExpectType.ARTIFACT_OR_PROMISE
        )
        categories = [lookup_result_artifact_category(r) for r in results]
        architectures = {lookup_result_architecture(r) for r in results}
    except (LookupError, ValueError) as exc:
        raise WorkflowValidationError(f"{field}: {exc}") from exc
    for category in categories:
        if category not in _BINARY_CATEGORIES:
            raise WorkflowValidationError(
                f"{field}: found a {category}; expected"
                f" {' or '.join(_BINARY_CATEGORIES)}"
            )
    return architectures - {"source"}


def _single_lookup_for(result: LookupResult) -> str:
    if result.artifact is not None:
        return f"{result.artifact.id}@artifacts"
    assert result.collection_item is not None
    return f"internal@collections/name:{result.collection_item.name}"


def filter_artifact_lookup_by_arch(
    workflow: Workflow, lookup: LookupMultiple, architectures: Iterable[str]
) -> LookupMultiple:
    """Filter an artifact lookup by architecture.

    The result is a list of single lookups (`NNN@artifacts`, or the
    promise's name in the internal collection), in the lookup's order.
    """
    wanted = set(architectures)
    return [
        _single_lookup_for(result)
        for result in workflow.lookup_multiple(
            lookup, expect_type=ExpectType.ARTIFACT_OR_PROMISE
        )
        if lookup_result_architecture(result) in wanted
    ]


def follow_artifact_relation(
    artifact: Artifact, relation_type: ArtifactRelationType | str, category: str
) -> Artifact:
    """Follow relations from artifact to find an artifact of category.

    Raises LookupError when there is none.
    """
    session = object_session(artifact)
    if session is None:
        raise RuntimeError(f"artifact {artifact.id} is not in a session")
    target = session.scalar(
        select(Artifact)
        .join(ArtifactRelation, ArtifactRelation.target_id == Artifact.id)
        .where(
            ArtifactRelation.artifact_id == artifact.id,
            ArtifactRelation.type == ArtifactRelationType(relation_type),
            Artifact.category == category,
        )
        .order_by(Artifact.id)
        .limit(1)
    )
    if target is None:
        raise LookupError(
            f"Artifact {artifact.id} ({artifact.category}) has no"
            f" {ArtifactRelationType(relation_type).value} relation to a"
            f" {category} artifact"
        )
    return target


def locate_debian_source_package(
    configuration_key: str, artifact: Artifact
) -> Artifact:
    """Accept a debian:upload or debian:source-package; return the source package."""
    if artifact.category == ArtifactCategory.SOURCE_PACKAGE:
        return artifact
    if artifact.category == ArtifactCategory.UPLOAD:
        try:
            return follow_artifact_relation(
                artifact, ArtifactRelationType.EXTENDS, ArtifactCategory.SOURCE_PACKAGE
            )
        except LookupError as exc:
            raise WorkflowValidationError(f"{configuration_key}: {exc}") from exc
    raise WorkflowValidationError(
        f"{configuration_key}: expected a {ArtifactCategory.SOURCE_PACKAGE} or"
        f" {ArtifactCategory.UPLOAD} artifact, got artifact {artifact.id}"
        f" ({artifact.category})"
    )


def locate_debian_source_package_lookup(
    workflow: Workflow, configuration_key: str, lookup: int | str
) -> int | str:
    """Return a lookup to a debian:source-package.

    A lookup finding a source package (or the promise of one) is returned
    as is; one finding a debian:upload becomes `NNN@artifacts` of its
    source package.
    """
    result = workflow.lookup(lookup, expect_type=ExpectType.ARTIFACT_OR_PROMISE)
    if result.artifact is None:
        category = lookup_result_artifact_category(result)
        if category != ArtifactCategory.SOURCE_PACKAGE:
            raise WorkflowValidationError(
                f"{configuration_key}: {lookup} promises a {category}, not a"
                f" {ArtifactCategory.SOURCE_PACKAGE}"
            )
        return lookup
    source = locate_debian_source_package(configuration_key, result.artifact)
    return lookup if source.id == result.artifact.id else f"{source.id}@artifacts"


def source_package(workflow: Workflow) -> Artifact:
    """Retrieve the source package artifact.

    From `data.input.source_artifact` if the workflow data has `input`,
    else `data.source_artifact`; a debian:upload gives its source package.
    """
    data = workflow.data
    if isinstance(data.get("input"), dict):
        key, lookup = "input.source_artifact", data["input"].get("source_artifact")
    else:
        key, lookup = "source_artifact", data.get("source_artifact")
    if lookup is None:
        raise WorkflowValidationError(f"{key} is required")
    result = workflow.lookup(lookup, expect_type=ExpectType.ARTIFACT)
    assert result.artifact is not None
    return locate_debian_source_package(key, result.artifact)


def _source_name(artifact: Artifact) -> str | None:
    data = artifact.data
    match artifact.category:
        case ArtifactCategory.SOURCE_PACKAGE:
            value = data.get("name")
        case ArtifactCategory.BINARY_PACKAGE | ArtifactCategory.BINARY_PACKAGES:
            value = data.get("srcpkg_name")
        case ArtifactCategory.UPLOAD:
            value = (data.get("changes_fields") or {}).get("Source")
        case _:
            value = data.get("source") or data.get("source_package_name")
    # A binary's Source may carry a version: "hello (1.0-1)".
    return str(value).split()[0] if value else None


def get_source_package_names(
    results: Sequence[LookupResult],
    *,
    configuration_key: str,
    artifact_expected_categories: Collection[str],
) -> list[str]:
    """Return a sorted list of the source package names of `results`.

    Each result must be an artifact of one of the expected categories, or a
    promise carrying `source_package_name`.
    """
    names: set[str] = set()
    expected = sorted(str(c) for c in artifact_expected_categories)
    for result in results:
        if result.artifact is not None:
            artifact = result.artifact
            if artifact.category not in artifact_expected_categories:
                raise WorkflowValidationError(
                    f"{configuration_key}: artifact {artifact.id} is a"
                    f" {artifact.category}; expected one of {', '.join(expected)}"
                )
            name = _source_name(artifact)
        elif _is_promise(result):
            assert result.collection_item is not None
            name = result.collection_item.data.get("source_package_name")
        else:
            raise WorkflowValidationError(
                f"{configuration_key}: {_describe(result)} is neither an artifact"
                " nor a promise"
            )
        if not name:
            raise WorkflowValidationError(
                f"{configuration_key}: cannot tell the source package name of"
                f" {_describe(result)}"
            )
        names.add(str(name))
    return sorted(names)


def get_available_architectures(
    workflow: Workflow, *, vendor: str, codename: str
) -> set[str]:
    """Architectures with an environment for vendor/codename, plus `all`.

    Read from `VENDOR@debian:environments`; `all` is added when any
    architecture is available (arch-independent work runs on any of them).
    """
    results = workflow.lookup_multiple(
        {"collection": f"{vendor}@debian:environments", "data__codename": codename}
    )
    architectures = {
        str(result.collection_item.data["architecture"])
        for result in results
        if result.collection_item is not None
        and result.collection_item.data.get("architecture")
    }
    if architectures:
        architectures.add("all")
    return architectures


def overlay_base_suite(vendor: str, codename: str) -> str | None:
    """The suite an overlay suite (experimental, X-backports) sits on, or None."""
    if (vendor, codename) in _OVERLAY_BASES:
        return _OVERLAY_BASES[(vendor, codename)]
    for suffix in _BACKPORTS_SUFFIXES:
        if codename.endswith(suffix) and len(codename) > len(suffix):
            base = codename[: -len(suffix)]
            return f"{base}-backports" if suffix == "-backports-sloppy" else base
    return None


def _environment_mirror(
    workflow: Workflow,
    environment: int | str,
    *,
    codename: str,
    architecture: str,
    backend: str,
    try_variant: str,
) -> str:
    if isinstance(environment, int):
        candidates: list[int | str] = [environment]
    else:
        base = f"{environment}/match:codename={codename}:architecture={architecture}"
        with_backend = f"{base}:backend={backend}" if backend != "auto" else base
        candidates = [
            f"{with_backend}:variant={try_variant}" if try_variant else with_backend,
            base,
        ]
    failure: LookupError | None = None
    for candidate in candidates:
        try:
            result = workflow.lookup(
                candidate,
                expect_type=ExpectType.ARTIFACT,
                default_category="debian:environments",
            )
        except LookupError as exc:
            failure = failure or exc
            continue
        assert result.artifact is not None
        mirror = result.artifact.data.get("mirror")
        if not mirror:
            raise WorkflowValidationError(
                f"environment: artifact {result.artifact.id} does not say which"
                " mirror it was made from"
            )
        return str(mirror)
    raise WorkflowValidationError(f"environment: {failure}")


def configure_for_overlay_suite(
    workflow: Workflow,
    *,
    extra_repositories: list[ExtraRepository] | None,
    vendor: str,
    codename: str,
    environment: int | str,
    backend: str,
    architecture: str,
    try_variant: str,
) -> list[ExtraRepository] | None:
    """Return any needed extra repository to use an overlay suite.

    For an overlay suite (e.g. debian experimental, X-backports) the task
    runs in the base suite's environment, with the overlay added as an
    extra repository from the environment's mirror. Other suites get
    `extra_repositories` back unchanged.
    """
    base = overlay_base_suite(vendor, codename)
    if base is None:
        return extra_repositories
    mirror = _environment_mirror(
        workflow,
        environment,
        codename=base,
        architecture=architecture,
        backend=backend,
        try_variant=try_variant,
    )
    repositories = list(extra_repositories or [])
    if any(
        repository.get("suite") == codename
        and str(repository.get("url", "")).rstrip("/") == mirror.rstrip("/")
        for repository in repositories
    ):
        return repositories
    repositories.append({"url": mirror, "suite": codename, "components": ["main"]})
    return repositories


__all__ = [
    "ArtifactHasNoArchitecture",
    "ArtifactHasNoBinaryPackageName",
    "ExtraRepository",
    "configure_for_overlay_suite",
    "filter_artifact_lookup_by_arch",
    "follow_artifact_relation",
    "get_architectures",
    "get_available_architectures",
    "get_binary_architectures",
    "get_source_package_names",
    "locate_debian_source_package",
    "locate_debian_source_package_lookup",
    "lookup_result_architecture",
    "lookup_result_artifact_category",
    "lookup_result_binary_package_name",
    "overlay_base_suite",
    "source_package",
]
