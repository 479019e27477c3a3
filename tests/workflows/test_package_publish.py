"""The package_publish workflow: one copy into the suite, logs and history too."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from debusine import models
from debusine.tasks import TaskDataError
from debusine.workflows import (
    Workflow,
    WorkflowValidationError,
    get_workflow,
    orchestrate_workflow,
)
from tests import factories
from tests.workflows.composite import OPERATIONS, rerun, source_package, tree, upload
from tests.workflows.conftest import MakeWorkflow


def singleton(workspace: models.Workspace, category: str) -> models.Collection:
    session = Session.object_session(workspace)
    assert session is not None
    existing = session.scalar(
        select(models.Collection).filter_by(
            workspace_id=workspace.id, name="_", category=category
        )
    )
    if existing is not None:
        return existing
    return factories.CollectionFactory(workspace=workspace, name="_", category=category)


def test_copies_packages_and_their_logs_and_history_to_another_workspace(
    make_workflow: MakeWorkflow, workspace: models.Workspace
) -> None:
    target_workspace = factories.WorkspaceFactory(scope=workspace.scope, public=True)
    suite = factories.CollectionFactory(
        workspace=target_workspace, name="bookworm", category="debian:suite"
    )
    logs_here = singleton(workspace, "debian:package-build-logs")
    logs_there = singleton(target_workspace, "debian:package-build-logs")
    singleton(workspace, "debusine:task-history")  # none there: not copied
    source = source_package(workspace)
    amd64 = upload(workspace, architecture="amd64", binaries="hello")
    root = make_workflow(
        "package_publish",
        {
            "source_artifact": source.id,
            "binary_artifacts": [amd64.id],
            "target_suite": f"{suite.id}@collections",
            "unembargo": True,
            "suite_variables": {"component": "contrib"},
        },
    )
    orchestrate_workflow(root)
    assert tree(root) == [
        ("copy-collection-items", "Server", "copycollectionitems",
         {"copies": [
             {"source_items": [source.id, amd64.id],
              "target_collection": f"{suite.id}@collections",
              "unembargo": True, "replace": False,
              "variables": {"component": "contrib"}},
             {"source_items": {"collection": f"{logs_here.id}@collections",
                               "lookup__same_work_request": [amd64.id]},
              "target_collection": f"{logs_there.id}@collections",
              "unembargo": True, "replace": False},
         ]},
         "pending", 0, []),
    ]  # fmt: skip
    assert root.dynamic_task_data == {
        "subject": None,
        "parameter_summary": "Publish to bookworm@debian:suite",
        "input_artifacts_ids": sorted([source.id, amd64.id]),
    }


def test_promised_binaries_make_the_copy_wait_for_their_builds(
    make_workflow: MakeWorkflow, workspace: models.Workspace
) -> None:
    suite = factories.CollectionFactory(workspace=workspace, name="sid")
    singleton(workspace, "debian:package-build-logs")  # the same one: not copied
    root = make_workflow(
        "package_publish",
        {
            "binary_artifacts": ["internal@collections/name:build-amd64"],
            "target_suite": "sid@debian:suite",
        },
    )
    root.status = models.WorkRequestStatus.RUNNING
    workflow = get_workflow(root)
    build = workflow.work_request_ensure_child(
        task_name="noop", task_data={}, workflow_data={"step": "build"}
    )
    Workflow.provides_artifact(build, "debian:upload", "build-amd64")
    workflow.populate()
    assert tree(root)[1] == (
        "copy-collection-items", "Server", "copycollectionitems",
        {"copies": [
            {"source_items": ["internal@collections/name:build-amd64"],
             "target_collection": "sid@debian:suite",
             "unembargo": False, "replace": False, "variables": None},
        ]},
        "blocked", 0, ["build"],
    )  # fmt: skip
    assert suite.category == "debian:suite"


@pytest.mark.parametrize(
    ("task_data", "field"),
    [
        ({"target_suite": "sid@debian:suite"}, "source_artifact"),
        ({"source_artifact": 1}, "target_suite"),
        ({"source_artifact": 1, "target_suite": "x", "replace": "maybe"}, "replace"),
        ({"source_artifact": 1, "target_suite": "x", "suite_variables": 3},
         "suite_variables"),
    ],
)  # fmt: skip
def test_bad_task_data_names_the_field(
    make_workflow: MakeWorkflow, task_data: dict[str, Any], field: str
) -> None:
    with pytest.raises(TaskDataError) as excinfo:
        make_workflow("package_publish", task_data)
    assert list(excinfo.value.errors) == [field]


def test_bad_inputs_are_refused_naming_the_field(
    make_workflow: MakeWorkflow, workspace: models.Workspace
) -> None:
    source = source_package(workspace)
    factories.CollectionFactory(workspace=workspace, name="sid")
    not_a_suite = factories.CollectionFactory(
        workspace=workspace, name="logs", category="debian:qa-results"
    )
    cases = [
        ({"source_artifact": source.id, "target_suite": "nope@debian:suite"},
         "target_suite: "),
        ({"source_artifact": source.id,
          "target_suite": f"{not_a_suite.id}@collections"},
         "target_suite: logs@debian:qa-results is not"),
        ({"source_artifact": source.id, "binary_artifacts": [source.id],
          "target_suite": "sid@debian:suite"}, "binary_artifacts: artifact"),
    ]  # fmt: skip
    for task_data, message in cases:
        root = make_workflow("package_publish", task_data)
        with pytest.raises(WorkflowValidationError) as excinfo:
            get_workflow(root).validate_input()
        assert str(excinfo.value).startswith(message)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    with_source=st.booleans(),
    other_logs=st.booleans(),
    operations=OPERATIONS,
)
def test_populate_is_idempotent(
    db_session: Session,
    make_workflow: MakeWorkflow,
    workspace: models.Workspace,
    with_source: bool,
    other_logs: bool,
    operations: list[tuple[str, int, bool]],
) -> None:
    target = factories.WorkspaceFactory(scope=workspace.scope, public=True)
    suite = factories.CollectionFactory(workspace=target)
    if other_logs:
        singleton(workspace, "debian:package-build-logs")
        singleton(target, "debian:package-build-logs")
    data: dict[str, Any] = {
        "binary_artifacts": [upload(workspace, architecture="amd64").id],
        "target_suite": suite.id,
    }
    if with_source:
        data["source_artifact"] = source_package(workspace).id
    root = make_workflow("package_publish", data)
    orchestrate_workflow(root)
    rerun(root, operations)
