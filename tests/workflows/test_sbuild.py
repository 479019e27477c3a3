"""The sbuild workflow: one build per architecture, promises, build logs."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from debusine import models
from debusine.tasks import TaskDataError
from debusine.workflows import WorkflowRunError, get_workflow, orchestrate_workflow
from debusine.workflows.base import WorkflowValidationError
from debusine.workflows.sbuild import architecture_matches
from tests import factories
from tests.workflows.conftest import MakeWorkflow
from tests.workflows.structure import (
    OPERATIONS,
    children,
    promises,
    rerun,
    snapshot,
    source_package,
    upload,
)

PACKAGE_LIST = (
    "hello deb devel optional arch=any\n"
    "hello-data deb doc optional arch=all\n"
    "hello-hurd deb devel optional arch=hurd-any"
)


@pytest.fixture
def source(workspace: models.Workspace) -> models.Artifact:
    return source_package(workspace, package_list=PACKAGE_LIST)


@pytest.fixture
def build_logs(workspace: models.Workspace) -> models.Collection:
    return factories.CollectionFactory(
        workspace=workspace, name="_", category="debian:package-build-logs"
    )


def _build_log_reactions(arch: str) -> dict[str, Any]:
    data = {
        "work_request_id": f"<build-{arch}>",
        "vendor": "debian",
        "codename": "bookworm",
        "architecture": arch,
        "srcpkg_name": "hello",
        "srcpkg_version": "1.0-1",
    }
    artifacts = {
        "action": "update-collection-with-artifacts",
        "collection": "_@debian:package-build-logs",
        "variables": data,
        "artifact_filters": {"category": "debian:package-build-log"},
    }
    return {
        "on_creation": [
            {
                "action": "update-collection-with-data",
                "collection": "_@debian:package-build-logs",
                "category": "debian:package-build-log",
                "data": data,
            }
        ],
        "on_failure": [
            artifacts,
            {"action": "retry-with-delays", "delays": ["30m", "2h"]},
        ],
    }


def test_exact_structure(
    make_workflow: MakeWorkflow, source: models.Artifact, build_logs: models.Collection
) -> None:
    root = make_workflow(
        "sbuild",
        {
            "input": {"source_artifact": source.id},
            "target_distribution": "debian:bookworm",
            "architectures": ["all", "amd64", "arm64", "s390x"],
            "arch_all_host_architecture": "arm64",
            "build_profiles": ["nocheck"],
            "retry_delays": ["30m", "2h"],
            "signing_template_names": {"amd64": ["hello-signed-template"]},
        },
    )
    orchestrate_workflow(root)
    laid_out = children(root)
    assert sorted(laid_out) == [
        "build-all",
        "build-amd64",
        "build-arm64",
        "build-s390x",
    ]
    upload_promise = {
        "action": "update-collection-with-artifacts",
        "collection": "internal@collections",
        "artifact_filters": {"category": "debian:upload"},
    }
    for arch, host in [("all", "arm64"), ("amd64", "amd64"), ("arm64", "arm64")]:
        child = laid_out[f"build-{arch}"]
        assert child["task"] == "Worker/sbuild"
        assert child["task_data"] == {
            "input": {"source_artifact": source.id},
            "host_architecture": host,
            "environment": "debian/match:codename=bookworm",
            "backend": "unshare",
            "build_components": ["all"] if arch == "all" else ["any"],
            "build_profiles": ["nocheck"],
        }
        assert child["workflow_data"] == {
            "display_name": f"Build {arch}",
            "step": f"build-{arch}",
        }
        assert (child["dependencies"], child["status"]) == ([], "pending")
        reactions = _build_log_reactions(arch)
        success = [
            reactions["on_failure"][0],
            {
                **upload_promise,
                "name_template": f"build-{arch}",
                "variables": {
                    "architecture": arch,
                    "binary_names": ["hello-data"] if arch == "all" else ["hello"],
                    "source_package_name": "hello",
                },
            },
        ]
        if arch == "amd64":
            success.append(
                {
                    "action": "update-collection-with-artifacts",
                    "collection": "internal@collections",
                    "name_template": "signing-template-amd64-hello-signed-template",
                    "variables": {
                        "architecture": "amd64",
                        "binary_package_name": "hello-signed-template",
                    },
                    "artifact_filters": {
                        "category": "debian:binary-package",
                        "data__deb_fields__Package": "hello-signed-template",
                    },
                }
            )
        assert child["event_reactions"] == {**reactions, "on_success": success}
    assert promises(root) == {
        "build-all": {
            "category": "debusine:promise",
            "promise_work_request_id": "<build-all>",
            "promise_workflow_id": "<root>",
            "promise_category": "debian:upload",
            "architecture": "all",
            "binary_names": ["hello-data"],
            "source_package_name": "hello",
        },
        "build-amd64": {
            "category": "debusine:promise",
            "promise_work_request_id": "<build-amd64>",
            "promise_workflow_id": "<root>",
            "promise_category": "debian:upload",
            "architecture": "amd64",
            "binary_names": ["hello"],
            "source_package_name": "hello",
        },
        "build-arm64": {
            "category": "debusine:promise",
            "promise_work_request_id": "<build-arm64>",
            "promise_workflow_id": "<root>",
            "promise_category": "debian:upload",
            "architecture": "arm64",
            "binary_names": ["hello"],
            "source_package_name": "hello",
        },
        "build-s390x": {
            "category": "debusine:promise",
            "promise_work_request_id": "<build-s390x>",
            "promise_workflow_id": "<root>",
            "promise_category": "debian:upload",
            "architecture": "s390x",
            "binary_names": ["hello"],
            "source_package_name": "hello",
        },
        "signing-template-amd64-hello-signed-template": {
            "category": "debusine:promise",
            "promise_work_request_id": "<build-amd64>",
            "promise_workflow_id": "<root>",
            "promise_category": "debian:binary-package",
            "architecture": "amd64",
            "binary_package_name": "hello-signed-template",
        },
    }
    assert root.dynamic_task_data == {
        "subject": "hello",
        "parameter_summary": "hello_1.0-1",
        "input_artifacts_ids": [source.id],
    }


def test_builds_are_listed_in_the_build_logs_as_they_are_created(
    db_session: Session,
    make_workflow: MakeWorkflow,
    source: models.Artifact,
    build_logs: models.Collection,
) -> None:
    # The on_creation reaction is recorded after the build is created: the
    # orchestration runs it once the workflow is laid out.
    root = make_workflow(
        "sbuild",
        {
            "input": {"source_artifact": source.id},
            "target_distribution": "debian:bookworm",
            "architectures": ["all", "amd64"],
        },
    )
    orchestrate_workflow(root)
    builds = {child.workflow_data["step"]: child.id for child in root.children}
    items = db_session.scalars(
        select(models.CollectionItem).where(
            models.CollectionItem.parent_collection_id == build_logs.id,
            models.CollectionItem.removed_at.is_(None),
        )
    ).all()
    assert sorted(
        (item.child_type.value, item.data["architecture"], item.data["work_request_id"])
        for item in items
    ) == [("b", "all", builds["build-all"]), ("b", "amd64", builds["build-amd64"])]


def test_only_architectures_the_source_builds(
    make_workflow: MakeWorkflow, workspace: models.Workspace
) -> None:
    """No build log collection: no reactions; an `all`-less source."""
    source = source_package(workspace, architecture="linux-any hurd-i386")
    root = make_workflow(
        "sbuild",
        {
            "input": {"source_artifact": source.id},
            "target_distribution": "debian:trixie",
            "architectures": ["all", "amd64", "hurd-i386", "hurd-amd64"],
            "environment_variant": "buildd",
            "prefix": "signed|",
        },
    )
    orchestrate_workflow(root)
    laid_out = children(root)
    assert sorted(laid_out) == ["build-amd64", "build-hurd-i386"]
    assert laid_out["build-amd64"]["task_data"]["environment"] == (
        "debian/match:codename=trixie:variant=buildd"
    )
    assert set(laid_out["build-amd64"]["event_reactions"]) == {"on_success"}
    assert sorted(promises(root)) == ["signed|build-amd64", "signed|build-hurd-i386"]


def test_an_upload_builds_its_source(
    db_session: Session, make_workflow: MakeWorkflow, workspace: models.Workspace
) -> None:
    source = source_package(workspace)
    given_upload = upload(db_session, workspace, "source", extends=[source])
    root = make_workflow(
        "sbuild",
        {
            "input": {"source_artifact": f"{given_upload.id}@artifacts"},
            "target_distribution": "debian:bookworm",
            "architectures": ["amd64"],
        },
    )
    orchestrate_workflow(root)
    assert children(root)["build-amd64"]["task_data"]["input"] == {
        "source_artifact": f"{source.id}@artifacts"
    }


@pytest.mark.parametrize(
    ("wildcard", "arch", "matches"),
    [
        ("any", "amd64", True),
        ("any", "all", False),
        ("linux-any", "arm64", True),
        ("linux-any", "hurd-i386", False),
        ("any-i386", "hurd-i386", True),
        ("any-amd64", "i386", False),
        ("amd64", "amd64", True),
        ("amd64", "arm64", False),
    ],
)
def test_architecture_wildcards(wildcard: str, arch: str, matches: bool) -> None:
    assert architecture_matches(wildcard, arch) is matches


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"input": {}}, "input"),
        ({"target_distribution": "bookworm"}, "target_distribution"),
        ({"architectures": []}, "architectures"),
        ({"arch_all_host_architecture": "all"}, "arch_all_host_architecture"),
        ({"retry_delays": ["soon"]}, "retry_delays"),
        ({"prefix": "a/b"}, "prefix"),
        ({"signing_template_names": {"amd64": "x"}}, "signing_template_names"),
    ],
)
def test_bad_task_data_names_the_field(
    make_workflow: MakeWorkflow, change: dict[str, Any], field: str
) -> None:
    data = {
        "input": {"source_artifact": 1},
        "target_distribution": "debian:bookworm",
        "architectures": ["amd64"],
    }
    with pytest.raises(TaskDataError) as info:
        make_workflow("sbuild", {**data, **change})
    assert list(info.value.errors) == [field]


def test_bad_input_refused_naming_the_field(
    make_workflow: MakeWorkflow, workspace: models.Workspace, source: models.Artifact
) -> None:
    not_a_source = factories.ArtifactFactory(workspace=workspace)
    root = make_workflow(
        "sbuild",
        {
            "input": {"source_artifact": not_a_source.id},
            "target_distribution": "debian:bookworm",
            "architectures": ["amd64"],
        },
    )
    with pytest.raises(WorkflowValidationError, match=r"^input\.source_artifact: "):
        get_workflow(root).validate_input()
    with pytest.raises(WorkflowRunError, match=r"input\.source_artifact"):
        orchestrate_workflow(root)
    assert children(root) == {}
    arch_only = source_package(workspace, architecture="all")
    root = make_workflow(
        "sbuild",
        {
            "input": {"source_artifact": arch_only.id},
            "target_distribution": "debian:bookworm",
            "architectures": ["amd64"],
        },
    )
    with pytest.raises(WorkflowValidationError, match=r"^architectures: none of amd64"):
        get_workflow(root).validate_input()


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    architectures=st.lists(
        st.sampled_from(["all", "amd64", "arm64", "i386"]), min_size=1, unique=True
    ),
    retry=st.booleans(),
    operations=OPERATIONS,
)
def test_populate_is_idempotent(
    make_workflow: MakeWorkflow,
    source: models.Artifact,
    build_logs: models.Collection,
    architectures: list[str],
    retry: bool,
    operations: list[tuple[str, bool]],
) -> None:
    root = make_workflow(
        "sbuild",
        {
            "input": {"source_artifact": source.id},
            "target_distribution": "debian:bookworm",
            "architectures": architectures,
            "signing_template_names": {"amd64": ["hello-signed"]},
            **({"retry_delays": ["1h"]} if retry else {}),
        },
    )
    orchestrate_workflow(root)
    expected = snapshot(root)
    assert len(json.loads(expected)["children"]) == len(architectures)
    rerun(root, operations)
    assert snapshot(root) == expected
