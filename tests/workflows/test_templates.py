"""Workflow templates: validation, the merge rule, starting workflows."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from debusine import models
from debusine.models import WorkRequest, WorkRequestStatus
from debusine.tasks import TaskDataError, UnknownTaskError
from debusine.workflows.templates import create_workflow, create_workflow_template


def count_work_requests(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(WorkRequest)) or 0


def test_bad_template_data_names_the_field(
    db_session: Session, workspace: models.Workspace
) -> None:
    with pytest.raises(TaskDataError) as excinfo:
        create_workflow_template(
            db_session,
            workspace=workspace,
            name="t",
            task_name="noop",
            task_data={"children": "two"},
        )
    assert list(excinfo.value.errors) == ["children"]
    with pytest.raises(UnknownTaskError, match=r"known Workflow tasks: (\w+, )*noop"):
        create_workflow_template(
            db_session, workspace=workspace, name="t", task_name="nope", task_data={}
        )


def test_template_keys_win_and_priority_applies(
    db_session: Session, workspace: models.Workspace, user: models.User
) -> None:
    template = create_workflow_template(
        db_session,
        workspace=workspace,
        name="two-noops",
        task_name="noop",
        task_data={"children": 2},
        priority=-5,
    )
    workflow = create_workflow(
        db_session, template, {"children": 9, "callback": True}, created_by=user
    )
    assert workflow.task_data == {"children": 2, "callback": True}
    assert workflow.priority_base == -5
    assert workflow.status == WorkRequestStatus.PENDING
    assert workflow.workflow_template == template
    assert workflow.workflow_data == {"workflow_template_name": "two-noops"}
    assert workflow.created_by == user
    assert workflow.internal_collection is not None
    assert workflow.internal_collection.name == f"workflow-{workflow.id}"


def test_bad_run_time_data_names_the_field_and_leaves_nothing(
    db_session: Session, workspace: models.Workspace, user: models.User
) -> None:
    template = create_workflow_template(
        db_session, workspace=workspace, name="t", task_name="noop", task_data={}
    )
    before = count_work_requests(db_session)
    with pytest.raises(TaskDataError) as excinfo:
        create_workflow(
            db_session, template, {"failing_children": [3]}, created_by=user
        )
    assert list(excinfo.value.errors) == ["failing_children"]
    with pytest.raises(TaskDataError):
        create_workflow(db_session, template, ["not", "a", "dict"], created_by=user)  # type: ignore[arg-type]
    assert count_work_requests(db_session) == before
