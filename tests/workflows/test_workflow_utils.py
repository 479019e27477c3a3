"""workflow_utils: architectures, package names, source packages, overlays."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from debusine import models
from debusine.collections import ExpectType, get_manager
from debusine.models import Artifact, ArtifactRelationType, WorkRequestStatus
from debusine.workflows import Workflow, WorkflowValidationError, get_workflow
from debusine.workflows.workflow_utils import (
    ArtifactHasNoArchitecture,
    ArtifactHasNoBinaryPackageName,
    configure_for_overlay_suite,
    filter_artifact_lookup_by_arch,
    follow_artifact_relation,
    get_architectures,
    get_available_architectures,
    get_source_package_names,
    locate_debian_source_package,
    locate_debian_source_package_lookup,
    lookup_result_architecture,
    lookup_result_artifact_category,
    lookup_result_binary_package_name,
    overlay_base_suite,
    source_package,
)
from tests import factories
from tests.workflows.conftest import MakeWorkflow


@pytest.fixture
def workflow(make_workflow: MakeWorkflow) -> Workflow:
    work_request = make_workflow("noop", {"children": 0})
    work_request.status = WorkRequestStatus.RUNNING
    return get_workflow(work_request)


def source(workspace: models.Workspace, name: str = "hello") -> Artifact:
    return factories.ArtifactFactory(
        workspace=workspace,
        category="debian:source-package",
        data={"name": name, "version": "1.0-1", "type": "dpkg", "dsc_fields": {}},
    )


def binary(
    workspace: models.Workspace, package: str, architecture: str, src: str = "hello"
) -> Artifact:
    return factories.ArtifactFactory(
        workspace=workspace,
        category="debian:binary-package",
        data={
            "srcpkg_name": src,
            "srcpkg_version": "1.0-1",
            "deb_fields": {"Package": package, "Architecture": architecture},
            "deb_control_files": [],
        },
    )


def upload(
    db_session: Session, workspace: models.Workspace, extends: Artifact | None
) -> Artifact:
    artifact = factories.ArtifactFactory(
        workspace=workspace,
        category="debian:upload",
        data={
            "type": "dpkg",
            "changes_fields": {"Source": "hello", "Architecture": "source amd64"},
        },
    )
    if extends is not None:
        db_session.add(
            models.ArtifactRelation(
                artifact=artifact, target=extends, type=ArtifactRelationType.EXTENDS
            )
        )
        db_session.flush()
    return artifact


def promise(workflow: Workflow, name: str, category: str, **data: Any) -> None:
    child = workflow.work_request_ensure_child(
        task_name="noop", task_data={}, workflow_data={"step": name}
    )
    Workflow.provides_artifact(child, category, name, data=data)


def test_lookup_result_helpers_read_artifacts_and_promises(
    workflow: Workflow, workspace: models.Workspace
) -> None:
    deb = binary(workspace, "hello-bin", "arm64")
    promise(
        workflow,
        "build-amd64",
        "debian:binary-package",
        architecture="amd64",
        binary_package_name="hello-bin",
    )
    promise(workflow, "vague", "debian:upload")
    artifact = workflow.lookup(deb.id, expect_type=ExpectType.ARTIFACT)
    promised = workflow.lookup("internal@collections/name:build-amd64")
    vague = workflow.lookup("internal@collections/name:vague")
    assert lookup_result_artifact_category(artifact) == "debian:binary-package"
    assert lookup_result_artifact_category(promised) == "debian:binary-package"
    assert lookup_result_architecture(artifact) == "arm64"
    assert lookup_result_architecture(promised) == "amd64"
    assert lookup_result_binary_package_name(artifact) == "hello-bin"
    assert lookup_result_binary_package_name(promised) == "hello-bin"
    with pytest.raises(ArtifactHasNoArchitecture, match="vague"):
        lookup_result_architecture(vague)
    with pytest.raises(ArtifactHasNoBinaryPackageName, match="vague"):
        lookup_result_binary_package_name(vague)
    src = workflow.lookup(source(workspace).id, expect_type=ExpectType.ARTIFACT)
    assert lookup_result_architecture(src) == "source"
    collection = workflow.lookup("internal@collections")
    with pytest.raises(ValueError, match="neither an artifact nor a promise"):
        lookup_result_artifact_category(collection)


def test_architectures_and_filtering(
    workflow: Workflow, workspace: models.Workspace
) -> None:
    amd64 = binary(workspace, "a", "amd64")
    all_ = binary(workspace, "b", "all")
    promise(workflow, "build-i386", "debian:binary-package", architecture="i386")
    lookup = [
        amd64.id,
        all_.id,
        {"collection": "internal@collections", "child_type": "bare"},
    ]
    assert get_architectures(workflow, lookup) == {"amd64", "all", "i386"}
    assert filter_artifact_lookup_by_arch(workflow, lookup, ["all", "i386"]) == [
        f"{all_.id}@artifacts",
        "internal@collections/name:build-i386",
    ]
    assert filter_artifact_lookup_by_arch(workflow, lookup, ["s390x"]) == []


def test_locating_the_source_package(
    db_session: Session, workflow: Workflow, workspace: models.Workspace
) -> None:
    src = source(workspace)
    up = upload(db_session, workspace, extends=src)
    orphan = upload(db_session, workspace, extends=None)
    assert follow_artifact_relation(up, "extends", "debian:source-package") == src
    with pytest.raises(LookupError, match="no relates-to relation"):
        follow_artifact_relation(up, "relates-to", "debian:source-package")
    assert locate_debian_source_package("input.source_artifact", src) == src
    assert locate_debian_source_package("input.source_artifact", up) == src
    with pytest.raises(WorkflowValidationError, match=r"^source_artifact: Artifact"):
        locate_debian_source_package("source_artifact", orphan)
    deb = binary(workspace, "a", "amd64")
    with pytest.raises(
        WorkflowValidationError, match=r"got artifact \d+ \(debian:binary-package\)"
    ):
        locate_debian_source_package("source_artifact", deb)
    key = "source_artifact"
    assert locate_debian_source_package_lookup(workflow, key, src.id) == src.id
    assert (
        locate_debian_source_package_lookup(workflow, key, f"{up.id}@artifacts")
        == f"{src.id}@artifacts"
    )
    promise(workflow, "src", "debian:source-package")
    promise(workflow, "logs", "debian:package-build-log")
    lookup = "internal@collections/name:src"
    assert locate_debian_source_package_lookup(workflow, key, lookup) == lookup
    with pytest.raises(WorkflowValidationError, match="promises a debian:package"):
        locate_debian_source_package_lookup(
            workflow, key, "internal@collections/name:logs"
        )


def test_source_package_reads_input_or_top_level(
    db_session: Session, make_workflow: MakeWorkflow, workspace: models.Workspace
) -> None:
    src = source(workspace)
    up = upload(db_session, workspace, extends=src)
    root = make_workflow("noop", {"children": 0})
    workflow = get_workflow(root)
    workflow.task_data = {"input": {"source_artifact": up.id}}
    assert source_package(workflow) == src
    workflow.task_data = {"source_artifact": f"{src.id}@artifacts"}
    assert source_package(workflow) == src
    workflow.task_data = {"input": {}}
    with pytest.raises(WorkflowValidationError, match=r"input.source_artifact is"):
        source_package(workflow)


def test_source_package_names(
    db_session: Session, workflow: Workflow, workspace: models.Workspace
) -> None:
    promise(workflow, "p", "debian:source-package", source_package_name="zlib")
    promise(workflow, "nameless", "debian:source-package")
    up = upload(db_session, workspace, extends=None)
    results = [
        workflow.lookup(source(workspace, "hello").id, expect_type="artifact"),
        workflow.lookup(
            binary(workspace, "b", "all", "bash").id, expect_type="artifact"
        ),
        workflow.lookup(up.id, expect_type="artifact"),
        workflow.lookup("internal@collections/name:p"),
    ]
    expected = {"debian:source-package", "debian:binary-package", "debian:upload"}
    assert get_source_package_names(
        results, configuration_key="packages", artifact_expected_categories=expected
    ) == ["bash", "hello", "zlib"]
    with pytest.raises(WorkflowValidationError, match=r"packages: artifact .* is a"):
        get_source_package_names(
            results,
            configuration_key="packages",
            artifact_expected_categories={"debian:source-package"},
        )
    with pytest.raises(WorkflowValidationError, match="cannot tell"):
        get_source_package_names(
            [workflow.lookup("internal@collections/name:nameless")],
            configuration_key="packages",
            artifact_expected_categories=expected,
        )


def tarball(workspace: models.Workspace, codename: str, architecture: str) -> Artifact:
    return factories.ArtifactFactory(
        workspace=workspace,
        category="debian:system-tarball",
        data={
            "filename": "system.tar.xz",
            "vendor": "debian",
            "codename": codename,
            "components": ["main"],
            "mirror": "http://mirror.example.org/debian",
            "variant": None,
            "pkglist": {},
            "architecture": architecture,
            "with_dev": True,
            "with_init": True,
        },
    )


@pytest.fixture
def environments(db_session: Session, workspace: models.Workspace) -> models.Collection:
    collection = factories.CollectionFactory(
        workspace=workspace, name="debian", category="debian:environments"
    )
    manager = get_manager(db_session, collection)
    for codename, architecture in [
        ("bookworm", "amd64"),
        ("bookworm", "arm64"),
        ("sid", "amd64"),
    ]:
        manager.add_artifact(tarball(workspace, codename, architecture))
    return collection


def test_available_architectures(
    workflow: Workflow, environments: models.Collection
) -> None:
    assert get_available_architectures(
        workflow, vendor="debian", codename="bookworm"
    ) == {"amd64", "arm64", "all"}
    assert get_available_architectures(workflow, vendor="debian", codename="sid") == {
        "amd64",
        "all",
    }
    assert get_available_architectures(workflow, vendor="debian", codename="x") == set()


def test_overlay_suites(workflow: Workflow, environments: models.Collection) -> None:
    assert overlay_base_suite("debian", "experimental") == "sid"
    assert overlay_base_suite("debian", "bookworm-backports") == "bookworm"
    assert overlay_base_suite("debian", "bookworm") is None
    common: dict[str, Any] = {
        "vendor": "debian",
        "environment": "debian",
        "backend": "unshare",
        "architecture": "amd64",
        "try_variant": "sbuild",
    }
    given = [{"url": "http://other.example.org", "suite": "x", "components": ["main"]}]
    assert (
        configure_for_overlay_suite(
            workflow, extra_repositories=given, codename="bookworm", **common
        )
        is given
    )
    experimental = {
        "url": "http://mirror.example.org/debian",
        "suite": "experimental",
        "components": ["main"],
    }
    assert configure_for_overlay_suite(
        workflow, extra_repositories=None, codename="experimental", **common
    ) == [experimental]
    # Already there: not added twice.
    assert configure_for_overlay_suite(
        workflow, extra_repositories=[experimental], codename="experimental", **common
    ) == [experimental]
    with pytest.raises(WorkflowValidationError, match=r"environment: .*no such item"):
        configure_for_overlay_suite(
            workflow,
            extra_repositories=None,
            codename="experimental",
            **{**common, "architecture": "s390x"},
        )
