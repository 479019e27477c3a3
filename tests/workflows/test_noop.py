"""The noop workflow: its exact structure, and idempotent orchestration."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from debusine.models import TaskType, WorkRequest, WorkRequestResult
from debusine.tasks import TaskDataError
from debusine.work_requests import mark_completed
from debusine.workflows import get_workflow, orchestrate_workflow
from tests.workflows.conftest import MakeWorkflow


def structure(root: WorkRequest) -> list[tuple[Any, ...]]:
    """What populate/callbacks lay out, comparable between runs."""
    session = Session.object_session(root)
    assert session is not None
    session.flush()
    session.expire(root, ["children"])
    rows = []
    for child in root.children:
        rows.append(
            (
                child.task_type.value,
                child.task_name,
                json.dumps(child.task_data, sort_keys=True),
                json.dumps(child.workflow_data, sort_keys=True),
                child.status.value,
                child.priority_base,
                tuple(sorted(d.workflow_data["step"] for d in child.dependencies)),
            )
        )
    return sorted(rows)


def test_exact_structure(db_session: Session, make_workflow: MakeWorkflow) -> None:
    root = make_workflow(
        "noop",
        {
            "children": 3,
            "failing_children": [1],
            "allow_failure": True,
            "callback": True,
        },
        priority_base=5,
    )
    orchestrate_workflow(root)
    assert structure(root) == [
        ("Internal", "workflow", "{}",
         '{"display_name": "Summary", "step": "summary", "visible": true}',
         "blocked", 5, ("noop-0", "noop-1", "noop-2")),
        ("Worker", "noop", '{"result": false}',
         '{"allow_failure": true, "display_name": "noop 1", "step": "noop-1"}',
         "pending", 5, ()),
        ("Worker", "noop", '{"result": true}',
         '{"display_name": "noop 0", "step": "noop-0"}', "pending", 5, ()),
        ("Worker", "noop", '{"result": true}',
         '{"display_name": "noop 2", "step": "noop-2"}', "pending", 5, ()),
    ]  # fmt: skip
    assert root.dynamic_task_data == {
        "subject": None,
        "parameter_summary": "3 noop children",
        "input_artifacts_ids": [],
    }
    # The children finish (one fails, allowed): the callback adds the summary.
    by_step = {c.workflow_data["step"]: c for c in root.children}
    for step, result in [("noop-0", "success"), ("noop-1", "failure")]:
        mark_completed(db_session, by_step[step], result)
    assert by_step["summary"].status.value == "blocked"
    mark_completed(db_session, by_step["noop-2"], WorkRequestResult.SUCCESS)
    assert by_step["summary"].status.value == "pending"
    orchestrate_workflow(by_step["summary"])
    summary = [row for row in structure(root) if "summary-noop" in row[3]]
    assert summary == [
        ("Worker", "noop", '{"result": true}',
         '{"display_name": "summary", "step": "summary-noop"}', "pending", 5, ()),
    ]  # fmt: skip


def test_without_allow_failure_the_failing_child_is_not_tolerated(
    make_workflow: MakeWorkflow,
) -> None:
    root = make_workflow("noop", {"children": 2, "failing_children": [0]})
    orchestrate_workflow(root)
    failing = [c for c in root.children if c.task_data == {"result": False}]
    assert [c.workflow_data for c in failing] == [
        {"display_name": "noop 0", "step": "noop-0"}
    ]


@pytest.mark.parametrize(
    ("task_data", "field"),
    [
        ({"children": -1}, "children"),
        ({"children": 10_001}, "children"),
        ({"children": 1, "failing_children": [1]}, "failing_children"),
        ({"callback": "maybe"}, "callback"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_task_data_names_the_field(
    make_workflow: MakeWorkflow, task_data: dict[str, Any], field: str
) -> None:
    with pytest.raises(TaskDataError) as excinfo:
        make_workflow("noop", task_data)
    assert list(excinfo.value.errors) == [field]


@st.composite
def noop_task_data(draw: st.DrawFn) -> dict[str, Any]:
    children = draw(st.integers(min_value=0, max_value=4))
    failing = draw(st.sets(st.integers(min_value=0, max_value=max(children - 1, 0))))
    return {
        "children": children,
        "failing_children": sorted(i for i in failing if i < children),
        "allow_failure": draw(st.booleans()),
        "callback": draw(st.booleans()),
    }


# Each operation re-runs orchestration code: populate() or a callback, from
# the same Workflow instance or from a fresh one (a later orchestration run).
OPERATIONS = st.lists(
    st.tuples(st.sampled_from(["populate", "callback"]), st.booleans()),
    min_size=1,
    max_size=6,
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(task_data=noop_task_data(), operations=OPERATIONS)
def test_populate_and_callbacks_are_idempotent(
    make_workflow: MakeWorkflow,
    task_data: dict[str, Any],
    operations: list[tuple[str, bool]],
) -> None:
    root = make_workflow("noop", task_data)
    orchestrate_workflow(root)
    workflow = get_workflow(root)
    callbacks = [
        c
        for c in root.children
        if (c.task_type, c.task_name) == (TaskType.INTERNAL, "workflow")
    ]
    for callback in callbacks:
        workflow.callback(callback)
    expected = structure(root)
    assert len(expected) == task_data["children"] + 2 * task_data["callback"]
    for operation, fresh in operations:
        if fresh:
            workflow = get_workflow(root)
        if operation == "populate":
            workflow.populate()
        else:
            for callback in callbacks:
                workflow.callback(callback)
        assert structure(root) == expected
