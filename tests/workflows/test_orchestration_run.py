"""Deferred children are inserted before the first statement that could see them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import exists, inspect, select, text
from sqlalchemy.orm import Session

from debusine import models
from debusine.models import TaskType, WorkRequest
from debusine.work_requests import create_work_request
from debusine.workflows.orchestration_run import OrchestrationRun
from tests.workflows.conftest import MakeWorkflow


@pytest.fixture
def run(db_session: Session) -> Iterator[OrchestrationRun]:
    """An orchestration run, as orchestrate_workflow holds one."""
    run = OrchestrationRun.of(db_session)
    run.enter(db_session)
    yield run
    run.leave(db_session)


@pytest.fixture
def child(
    db_session: Session, make_workflow: MakeWorkflow, run: OrchestrationRun
) -> WorkRequest:
    """A workflow's child, created deferred: not inserted yet."""
    parent = make_workflow()
    child = create_work_request(
        db_session,
        workspace=parent.workspace,
        task_type=TaskType.WORKER,
        task_name="noop",
        task_data={},
        created_by=None,
        parent=parent,
        deferred=True,
    )
    run.record_created(child)
    return child


def inserted(db_session: Session, work_request_id: int) -> bool:
    # Core, on the connection: not a statement the run looks at.
    row = db_session.connection().execute(
        text("SELECT 1 FROM work_request WHERE id = :id"), {"id": work_request_id}
    )
    return row.first() is not None


def test_a_query_of_other_tables_lets_the_children_wait(
    db_session: Session, child: WorkRequest
) -> None:
    db_session.execute(select(models.Collection.id))
    db_session.execute(select(models.Workspace.name))
    assert not inserted(db_session, child.id)
    assert inspect(child).transient


def test_a_query_of_work_requests_sees_them(
    db_session: Session, child: WorkRequest
) -> None:
    found = db_session.scalars(
        select(WorkRequest.id).where(WorkRequest.parent_id == child.parent_id)
    ).all()
    assert found == [child.id]
    assert inspect(child).persistent


def test_a_query_naming_them_in_a_subquery_sees_them(
    db_session: Session, child: WorkRequest
) -> None:
    found = db_session.scalar(
        select(models.Workspace.id).where(
            exists().where(WorkRequest.id == child.id),
            models.Workspace.id == child.workspace_id,
        )
    )
    assert found == child.workspace_id


def test_a_text_statement_sees_them(db_session: Session, child: WorkRequest) -> None:
    db_session.execute(text("SELECT 1"))
    assert inserted(db_session, child.id)


def test_a_change_made_while_waiting_is_in_the_row(
    db_session: Session, child: WorkRequest
) -> None:
    db_session.execute(select(models.Collection.id))
    child.event_reactions = {"on_success": []}
    stored = db_session.scalar(
        select(WorkRequest.event_reactions).where(WorkRequest.id == child.id)
    )
    assert stored == {"on_success": []}
