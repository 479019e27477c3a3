"""The lintian workflow: one lintian run per architecture, each analysis once."""

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


def _promise(analysis: str, prefix: str = "") -> dict[str, Any]:
    return {
        "action": "update-collection-with-artifacts",
        "collection": "internal@collections",
        "name_template": f"{prefix}lintian-{analysis}",
        "variables": {"architecture": analysis},
        "artifact_filters": {
            "category": "debian:lintian",
            "data__architecture": analysis,
        },
    }


def _output(source: bool, all_: bool, any_: bool) -> dict[str, bool]:
    return {
        "source_analysis": source,
        "binary_all_analysis": all_,
        "binary_any_analysis": any_,
    }


def test_exact_structure(
    db_session: Session, make_workflow: MakeWorkflow, workspace: models.Workspace
) -> None:
    source = source_package(workspace)
    amd64 = binary_package(workspace, "hello", "amd64")
    i386 = binary_package(workspace, "hello", "i386")
    data = binary_package(workspace, "hello-data", "all")
    root = make_workflow(
        "lintian",
        {
            "prefix": "qa|",
            "source_artifact": source.id,
            "binary_artifacts": [i386.id, amd64.id, data.id],
            "vendor": "debian",
            "codename": "trixie",
            "exclude_tags": ["no-manual-page"],
            "fail_on_severity": "warning",
        },
    )
    orchestrate_workflow(root)
    common = {
        "target_distribution": "debian:trixie",
        "include_tags": [],
        "exclude_tags": ["no-manual-page"],
        "fail_on_severity": "warning",
        "backend": "unshare",
    }
    assert children(root) == {
        "lintian-amd64": {
            "task": "Worker/lintian",
            "task_data": {
                "input": {
                    "source_artifact": source.id,
                    "binary_artifacts": [f"{amd64.id}@artifacts",
                                         f"{data.id}@artifacts"],
                },
                # The arch-all host also stores the source and all analyses.
                "output": _output(True, True, True),
                **common,
            },
            "workflow_data": {"display_name": "lintian amd64",
                              "step": "lintian-amd64"},
            "dependencies": [],
            "event_reactions": {
                "on_success": [_promise("source", "qa|"), _promise("all", "qa|"),
                               _promise("amd64", "qa|")],
            },
            "status": "pending",
        },
        "lintian-i386": {
            "task": "Worker/lintian",
            "task_data": {
                "input": {
                    "source_artifact": source.id,
                    "binary_artifacts": [f"{i386.id}@artifacts",
                                         f"{data.id}@artifacts"],
                },
                "output": _output(False, False, True),
                **common,
            },
            "workflow_data": {"display_name": "lintian i386",
                              "step": "lintian-i386"},
            "dependencies": [],
            "event_reactions": {"on_success": [_promise("i386", "qa|")]},
            "status": "pending",
        },
    }  # fmt: skip
    assert promises(root) == {
        f"qa|lintian-{analysis}": {
            "category": "debusine:promise",
            "promise_work_request_id": f"<lintian-{task}>",
            "promise_workflow_id": "<root>",
            "promise_category": "debian:lintian",
            "architecture": analysis,
        }
        for analysis, task in (
            ("source", "amd64"),
            ("all", "amd64"),
            ("amd64", "amd64"),
            ("i386", "i386"),
        )
    }


def test_source_only(
    db_session: Session, make_workflow: MakeWorkflow, workspace: models.Workspace
) -> None:
    """No binaries: one task checks the source of the upload given."""
    source = source_package(workspace)
    built = upload(db_session, workspace, "source", extends=[source])
    root = make_workflow(
        "lintian",
        {"source_artifact": built.id, "vendor": "debian", "codename": "sid"},
    )
    orchestrate_workflow(root)
    laid_out = children(root)
    assert list(laid_out) == ["lintian-source"]
    task_data = laid_out["lintian-source"]["task_data"]
    assert task_data["input"] == {
        "source_artifact": f"{source.id}@artifacts",
        "binary_artifacts": [],
    }
    assert task_data["output"] == _output(True, False, False)
    assert "fail_on_severity" not in task_data  # the task's default applies
    assert list(promises(root)) == ["lintian-source"]


def test_arch_all_only_and_host_not_built(
    db_session: Session, make_workflow: MakeWorkflow, workspace: models.Workspace
) -> None:
    source = source_package(workspace, architecture="all")
    data = binary_package(workspace, "hello-data", "all")
    root = make_workflow(
        "lintian",
        {
            "source_artifact": source.id,
            "binary_artifacts": [data.id],
            "vendor": "debian",
            "codename": "sid",
            "arch_all_host_architecture": "arm64",
        },
    )
    orchestrate_workflow(root)
    laid_out = children(root)
    assert list(laid_out) == ["lintian-arm64"]
    assert laid_out["lintian-arm64"]["task_data"]["output"] == _output(
        True, True, False
    )
    assert sorted(promises(root)) == ["lintian-all", "lintian-source"]

    # Host amd64 is not among the built architectures: the first one
    # stores the source and all analyses.
    s390x = binary_package(workspace, "hello", "s390x")
    arm64 = binary_package(workspace, "hello", "arm64")
    root = make_workflow(
        "lintian",
        {
            "source_artifact": source.id,
            "binary_artifacts": [s390x.id, arm64.id, data.id],
            "vendor": "debian",
            "codename": "sid",
            "architectures": ["all", "s390x", "arm64"],
        },
    )
    orchestrate_workflow(root)
    outputs = {
        step: child["task_data"]["output"] for step, child in children(root).items()
    }
    assert outputs == {
        "lintian-arm64": _output(True, True, True),
        "lintian-s390x": _output(False, False, True),
    }


def test_promised_builds_are_waited_for(
    db_session: Session, make_workflow: MakeWorkflow, workspace: models.Workspace
) -> None:
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
    checks = get_workflow(root).work_request_ensure_child(
        task_type=models.TaskType.WORKFLOW,
        task_name="lintian",
        task_data={
            "source_artifact": source.id,
            "binary_artifacts": [
                "internal@collections/name:build-all",
                "internal@collections/name:build-arm64",
            ],
            "vendor": "debian",
            "codename": "bookworm",
        },
        workflow_data={"display_name": "lintian", "step": "lintian"},
    )
    checks.status = models.WorkRequestStatus.RUNNING
    get_workflow(checks).populate()
    laid_out = children(checks)
    assert list(laid_out) == ["lintian-arm64"]
    assert laid_out["lintian-arm64"]["task_data"]["output"] == _output(True, True, True)
    (child,) = checks.children
    assert sorted(d.workflow_data["step"] for d in child.dependencies) == [
        "build-all",
        "build-arm64",
    ]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"vendor": None}, "vendor"),
        ({"source_artifact": None}, "source_artifact"),
        ({"fail_on_severity": "fatal"}, "fail_on_severity"),
        ({"include_tags": ["Not A Tag"]}, "include_tags"),
        ({"prefix": "a/b"}, "prefix"),
        ({"update_everything": True}, "update_everything"),
    ],
)
def test_bad_task_data_names_the_field(
    make_workflow: MakeWorkflow, change: dict[str, Any], field: str
) -> None:
    data = {"source_artifact": 1, "vendor": "debian", "codename": "sid"}
    with pytest.raises(TaskDataError) as info:
        make_workflow("lintian", {**data, **change})
    assert list(info.value.errors) == [field]


def test_bad_input_refused_naming_the_field(
    make_workflow: MakeWorkflow, workspace: models.Workspace
) -> None:
    source = source_package(workspace)
    root = make_workflow(
        "lintian",
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
    for data, field in (
        ({"source_artifact": binary.id, "binary_artifacts": []}, "source_artifact"),
        (
            {"source_artifact": source.id, "binary_artifacts": [source.id]},
            "binary_artifacts",
        ),
    ):
        root = make_workflow("lintian", {**data, "vendor": "debian", "codename": "sid"})
        with pytest.raises(WorkflowValidationError, match=rf"^{field}: "):
            get_workflow(root).validate_input()


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    architectures=st.lists(st.sampled_from(["all", "amd64", "arm64"]), unique=True),
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
        "lintian",
        {
            "source_artifact": source.id,
            "binary_artifacts": [b.id for b in binaries],
            "vendor": "debian",
            "codename": "sid",
        },
    )
    orchestrate_workflow(root)
    expected = snapshot(root)
    laid_out = json.loads(expected)
    tasks = set(architectures) - {"all"} or ({"amd64"} if architectures else set())
    assert len(laid_out["children"]) == max(len(tasks), 1)
    # Each analysis is promised exactly once.
    assert sorted(laid_out["promises"]) == sorted(
        f"lintian-{a}" for a in ["source", *architectures]
    )
    rerun(root, operations)
    assert snapshot(root) == expected
