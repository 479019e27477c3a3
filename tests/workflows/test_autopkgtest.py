"""The autopkgtest workflow: one test run per architecture of the binaries."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from debusine import models
from debusine.tasks import TaskDataError
from debusine.workflows import WorkflowRunError, get_workflow, orchestrate_workflow
from debusine.workflows.base import WorkflowValidationError
from tests.workflows.conftest import MakeWorkflow
from tests.workflows.structure import (
    OPERATIONS,
    binary_package,
    children,
    promises,
    rerun,
    snapshot,
    source_package,
    upload,
)


def _promise(arch: str, prefix: str = "") -> dict[str, Any]:
    return {
        "action": "update-collection-with-artifacts",
        "collection": "internal@collections",
        "name_template": f"{prefix}autopkgtest-{arch}",
        "variables": {"architecture": arch},
        "artifact_filters": {"category": "debian:autopkgtest"},
    }


def test_exact_structure(
    db_session: Session, make_workflow: MakeWorkflow, workspace: models.Workspace
) -> None:
    source = source_package(workspace)
    amd64 = binary_package(workspace, "hello", "amd64")
    i386 = binary_package(workspace, "hello", "i386")
    data = binary_package(workspace, "hello-data", "all")
    context = binary_package(workspace, "helper", "i386", source="helper")
    root = make_workflow(
        "autopkgtest",
        {
            "prefix": "qa|",
            "source_artifact": source.id,
            "binary_artifacts": [amd64.id, i386.id, data.id],
            "context_artifacts": [context.id],
            "vendor": "debian",
            "codename": "trixie",
            "debug_level": 1,
            "needs_internet": "skip",
            "timeout": {"global": 3600},
        },
    )
    orchestrate_workflow(root)
    laid_out = children(root)
    common = {
        "environment": "debian/match:codename=trixie",
        "backend": "unshare",
        "include_tests": [],
        "exclude_tests": [],
        "debug_level": 1,
        "extra_environment": {},
        "needs_internet": "skip",
        "timeout": {"global": 3600},
    }
    assert laid_out == {
        "autopkgtest-amd64": {
            "task": "Worker/autopkgtest",
            "task_data": {
                "input": {
                    "source_artifact": source.id,
                    "binary_artifacts": [f"{amd64.id}@artifacts",
                                         f"{data.id}@artifacts"],
                    "context_artifacts": [],
                },
                "host_architecture": "amd64",
                **common,
            },
            "workflow_data": {"display_name": "autopkgtest amd64",
                              "step": "autopkgtest-amd64"},
            "dependencies": [],
            "event_reactions": {"on_success": [_promise("amd64", "qa|")]},
            "status": "pending",
        },
        "autopkgtest-i386": {
            "task": "Worker/autopkgtest",
            "task_data": {
                "input": {
                    "source_artifact": source.id,
                    "binary_artifacts": [f"{i386.id}@artifacts",
                                         f"{data.id}@artifacts"],
                    "context_artifacts": [f"{context.id}@artifacts"],
                },
                "host_architecture": "i386",
                **common,
            },
            "workflow_data": {"display_name": "autopkgtest i386",
                              "step": "autopkgtest-i386"},
            "dependencies": [],
            "event_reactions": {"on_success": [_promise("i386", "qa|")]},
            "status": "pending",
        },
    }  # fmt: skip
    assert promises(root)["qa|autopkgtest-i386"] == {
        "category": "debusine:promise",
        "promise_work_request_id": "<autopkgtest-i386>",
        "promise_workflow_id": "<root>",
        "promise_category": "debian:autopkgtest",
        "architecture": "i386",
    }


def test_promised_builds_are_waited_for(
    db_session: Session, make_workflow: MakeWorkflow, workspace: models.Workspace
) -> None:
    """Binaries promised by an sbuild workflow: the tests depend on the builds."""
    source = source_package(workspace, architecture="any all")
    root = make_workflow(
        "sbuild",
        {
            "input": {"source_artifact": source.id},
            "target_distribution": "debian:bookworm",
            "architectures": ["all", "arm64"],
        },
    )
    orchestrate_workflow(root)
    sbuild = get_workflow(root)
    tests = sbuild.work_request_ensure_child(
        task_type=models.TaskType.WORKFLOW,
        task_name="autopkgtest",
        task_data={
            "source_artifact": source.id,
            "binary_artifacts": [
                "internal@collections/name:build-all",
                "internal@collections/name:build-arm64",
            ],
            "vendor": "debian",
            "codename": "bookworm",
        },
        workflow_data={"display_name": "tests", "step": "tests"},
    )
    tests.status = models.WorkRequestStatus.RUNNING
    get_workflow(tests).populate()
    laid_out = children(tests)
    assert list(laid_out) == ["autopkgtest-arm64"]
    assert laid_out["autopkgtest-arm64"]["task_data"]["input"]["binary_artifacts"] == [
        "internal@collections/name:build-all",
        "internal@collections/name:build-arm64",
    ]
    (child,) = tests.children
    assert sorted(d.workflow_data["step"] for d in child.dependencies) == [
        "build-all",
        "build-arm64",
    ]


def test_arch_all_binaries_run_on_the_arch_all_host(
    db_session: Session, make_workflow: MakeWorkflow, workspace: models.Workspace
) -> None:
    source = source_package(workspace, architecture="all")
    data = binary_package(workspace, "hello-data", "all")
    built = upload(db_session, workspace, "source all", extends=[source, data])
    root = make_workflow(
        "autopkgtest",
        {
            "source_artifact": f"{built.id}@artifacts",
            "binary_artifacts": [data.id],
            "vendor": "debian",
            "codename": "sid",
            "arch_all_host_architecture": "arm64",
        },
    )
    orchestrate_workflow(root)
    task_data = children(root)["autopkgtest-arm64"]["task_data"]
    assert task_data["host_architecture"] == "arm64"
    # The upload's source package is what is tested.
    assert task_data["input"]["source_artifact"] == f"{source.id}@artifacts"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"vendor": None}, "vendor"),
        ({"binary_artifacts": "all"}, "binary_artifacts"),
        ({"debug_level": 9}, "debug_level"),
        ({"needs_internet": "always"}, "needs_internet"),
        ({"timeout": {"never": 1}}, "timeout"),
        ({"enable_magic": True}, "enable_magic"),
    ],
)
def test_bad_task_data_names_the_field(
    make_workflow: MakeWorkflow, change: dict[str, Any], field: str
) -> None:
    data = {
        "source_artifact": 1,
        "binary_artifacts": [2],
        "vendor": "debian",
        "codename": "sid",
    }
    with pytest.raises(TaskDataError) as info:
        make_workflow("autopkgtest", {**data, **change})
    assert list(info.value.errors) == [field]


def test_bad_input_refused_naming_the_field(
    make_workflow: MakeWorkflow, workspace: models.Workspace
) -> None:
    source = source_package(workspace)
    root = make_workflow(
        "autopkgtest",
        {
            "source_artifact": source.id,
            "binary_artifacts": [999_999],
            "vendor": "debian",
            "codename": "sid",
        },
    )
    with pytest.raises(WorkflowValidationError, match=r"^binary_artifacts: "):
        get_workflow(root).validate_input()
    with pytest.raises(WorkflowRunError, match="binary_artifacts"):
        orchestrate_workflow(root)
    assert children(root) == {}
    binary = binary_package(workspace, "hello", "amd64")
    root = make_workflow(
        "autopkgtest",
        {
            "source_artifact": binary.id,
            "binary_artifacts": [binary.id],
            "vendor": "debian",
            "codename": "sid",
        },
    )
    with pytest.raises(WorkflowValidationError, match=r"^source_artifact: "):
        get_workflow(root).validate_input()


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    architectures=st.lists(
        st.sampled_from(["all", "amd64", "arm64"]), min_size=1, unique=True
    ),
    operations=OPERATIONS,
)
def test_populate_is_idempotent(
    make_workflow: MakeWorkflow,
    workspace: models.Workspace,
    architectures: list[str],
    operations: list[tuple[str, bool]],
) -> None:
    source = source_package(workspace)
    binaries = [binary_package(workspace, f"hello-{a}", a) for a in architectures]
    root = make_workflow(
        "autopkgtest",
        {
            "source_artifact": source.id,
            "binary_artifacts": [b.id for b in binaries],
            "vendor": "debian",
            "codename": "sid",
        },
    )
    orchestrate_workflow(root)
    expected = snapshot(root)
    concrete = set(architectures) - {"all"} or {"amd64"}
    assert len(json.loads(expected)["children"]) == len(concrete)
    rerun(root, operations)
    assert snapshot(root) == expected
