"""The orchestrator's wait-task step, on the real database."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from marshmallow import fields
from sqlalchemy import Connection
from sqlalchemy.orm import Session, sessionmaker

from debusine import models
from debusine.models import (
    TaskType,
    WorkflowRuntimeStatus,
    WorkRequest,
    WorkRequestResult,
    WorkRequestStatus,
)
from debusine.orchestration.orchestrator import Orchestrator
from debusine.orchestration.wait_tasks import run_wait_tasks
from debusine.orchestration.workflows import run_workflow_pass
from debusine.tasks import TaskDataError, TaskDataSchema
from debusine.work_requests import add_dependency, create_work_request, mark_completed
from debusine.workflows import Workflow
from tests import factories

RUNNING = WorkRequestStatus.RUNNING
COMPLETED = WorkRequestStatus.COMPLETED
BLOCKED = WorkRequestStatus.BLOCKED
PENDING = WorkRequestStatus.PENDING


class PauseData(TaskDataSchema):
    wait = fields.String(required=True)  # confirm, auto-confirm, delay
    delay_until = fields.String(load_default=None)
    first_fails = fields.Boolean(load_default=False)


class PauseWorkflow(Workflow):
    """A noop, then a wait step, then a last noop depending on the wait."""

    TASK_NAME = "test_wait_pause"
    SCHEMA = PauseData

    def populate(self) -> None:
        first = self.work_request_ensure_child(
            task_name="noop",
            task_data={"result": not self.data["first_fails"]},
            workflow_data={"step": "first", "allow_failure": True},
        )
        if self.data["wait"] == "delay":
            name, data, needs_input = (
                "delay",
                {"delay_until": self.data["delay_until"]},
                False,
            )
        else:
            name, data, needs_input = (
                "confirm",
                {"auto_confirm_if_no_failure": self.data["wait"] == "auto-confirm"},
                True,
            )
        wait = self.work_request_ensure_child(
            task_type=TaskType.WAIT,
            task_name=name,
            task_data=data,
            workflow_data={"step": "wait", "needs_input": needs_input},
        )
        add_dependency(self.session, wait, first)
        last = self.work_request_ensure_child(
            task_name="noop", task_data={}, workflow_data={"step": "last"}
        )
        add_dependency(self.session, last, wait)


@pytest.fixture
def session_factory(connection: Connection) -> sessionmaker[Session]:
    return sessionmaker(bind=connection, join_transaction_mode="create_savepoint")


@pytest.fixture
def workspace(db_session: Session) -> models.Workspace:
    # Public: the wait tasks here have no creator, and lookups act for nobody.
    return factories.WorkspaceFactory(public=True)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def wait_task(
    db_session: Session, workspace: models.Workspace, name: str, data: dict[str, Any]
) -> WorkRequest:
    work_request = create_work_request(
        db_session,
        workspace=workspace,
        task_type=TaskType.WAIT,
        task_name=name,
        task_data=data,
        created_by=None,
    )
    db_session.flush()
    return work_request


def step(db_session: Session, factory: sessionmaker[Session], **kw: Any) -> Any:
    db_session.flush()
    report = run_wait_tasks(factory, **kw)
    db_session.expire_all()
    return report


def start_workflow(
    db_session: Session, workspace: models.Workspace, data: dict[str, Any]
) -> WorkRequest:
    workflow = create_work_request(
        db_session,
        workspace=workspace,
        task_type=TaskType.WORKFLOW,
        task_name="test_wait_pause",
        task_data=data,
        created_by=None,
    )
    db_session.flush()
    return workflow


def child(workflow: WorkRequest, name: str) -> WorkRequest:
    return next(c for c in workflow.children if c.workflow_data.get("step") == name)


def test_delay_completes_once_its_time_has_come(
    db_session: Session, session_factory: sessionmaker[Session], workspace: Any
) -> None:
    past = wait_task(
        db_session, workspace, "delay", {"delay_until": "2020-01-01T00:00:00+00:00"}
    )
    until = now() + dt.timedelta(hours=1)
    future = wait_task(
        db_session, workspace, "delay", {"delay_until": until.isoformat()}
    )
    assert past.status == future.status == PENDING

    report = step(db_session, session_factory)
    assert sorted(report.started) == sorted([past.id, future.id])
    assert report.completed == [past.id]
    assert (past.status, past.result) == (COMPLETED, WorkRequestResult.SUCCESS)
    # Waiting: running with no worker, as upstream.
    assert future.status == RUNNING
    assert future.worker_id is None
    assert future.started_at is not None

    assert step(db_session, session_factory).changed is False
    assert future.status == RUNNING

    report = step(db_session, session_factory, now=until + dt.timedelta(seconds=1))
    assert report.completed == [future.id]
    assert (future.status, future.result) == (COMPLETED, WorkRequestResult.SUCCESS)


def test_delay_needs_a_time_zone(db_session: Session, workspace: Any) -> None:
    with pytest.raises(TaskDataError) as error:
        wait_task(db_session, workspace, "delay", {"delay_until": "2030-01-01T00:00"})
    assert "delay_until" in error.value.errors


def test_externaldebsign_starts_with_its_upload_resolved(
    db_session: Session, session_factory: sessionmaker[Session], workspace: Any
) -> None:
    upload = factories.ArtifactFactory(workspace=workspace, category="debian:upload")
    found = wait_task(db_session, workspace, "externaldebsign", {"unsigned": upload.id})
    missing = wait_task(
        db_session, workspace, "externaldebsign", {"unsigned": upload.id + 1000}
    )

    report = step(db_session, session_factory)

    assert found.status == RUNNING, found.output_data
    assert found.dynamic_task_data is not None
    assert found.dynamic_task_data["unsigned_id"] == upload.id
    assert report.failed == [missing.id]
    assert (missing.status, missing.result) == (COMPLETED, WorkRequestResult.ERROR)
    assert missing.output_data is not None
    error = missing.output_data["errors"][0]
    assert error["code"] == "dynamic-data-failed"
    assert "unsigned" in error["message"]


def run_pass(db_session: Session, factory: sessionmaker[Session]) -> None:
    db_session.flush()
    run_workflow_pass(factory)
    db_session.expire_all()


def test_confirm_pauses_the_workflow_until_accepted(
    db_session: Session, session_factory: sessionmaker[Session], workspace: Any
) -> None:
    workflow = start_workflow(db_session, workspace, {"wait": "confirm"})
    run_pass(db_session, session_factory)
    first = child(workflow, "first")
    mark_completed(db_session, first, WorkRequestResult.SUCCESS)
    confirm, last = child(workflow, "wait"), child(workflow, "last")
    assert confirm.status == PENDING

    step(db_session, session_factory)
    run_pass(db_session, session_factory)
    assert confirm.status == RUNNING
    assert workflow.workflow_runtime_status == WorkflowRuntimeStatus.NEEDS_INPUT
    assert last.status == BLOCKED

    # What the confirm API does on "accept".
    mark_completed(db_session, confirm, WorkRequestResult.SUCCESS)
    db_session.flush()
    assert last.status == PENDING


@pytest.mark.parametrize(("first_fails", "confirmed"), [(False, True), (True, False)])
def test_auto_confirm_only_when_nothing_failed(
    db_session: Session,
    session_factory: sessionmaker[Session],
    workspace: Any,
    first_fails: bool,
    confirmed: bool,
) -> None:
    workflow = start_workflow(
        db_session, workspace, {"wait": "auto-confirm", "first_fails": first_fails}
    )
    run_pass(db_session, session_factory)
    first = child(workflow, "first")
    result = WorkRequestResult.FAILURE if first_fails else WorkRequestResult.SUCCESS
    mark_completed(db_session, first, result)

    step(db_session, session_factory)

    confirm = child(workflow, "wait")
    if confirmed:
        assert (confirm.status, confirm.result) == (
            COMPLETED,
            WorkRequestResult.SUCCESS,
        )
        assert confirm.output_data is not None
        assert confirm.output_data["confirmation"]["automatic"] is True
    else:
        assert confirm.status == RUNNING


def test_orchestrator_completes_a_due_delay_and_finishes_its_workflow(
    db_session: Session,
    session_factory: sessionmaker[Session],
    connection: Connection,
    workspace: Any,
) -> None:
    workflow = start_workflow(
        db_session,
        workspace,
        {"wait": "delay", "delay_until": "2020-01-01T00:00:00+00:00"},
    )
    db_session.flush()
    orchestrator = Orchestrator({}, session_factory, engine=connection.engine)
    orchestrator.run_workflows()
    db_session.expire_all()
    first = child(workflow, "first")
    mark_completed(db_session, first, WorkRequestResult.SUCCESS)
    db_session.flush()

    orchestrator.run_workflows()  # the delay starts, is due, completes
    db_session.expire_all()
    delay, last = child(workflow, "wait"), child(workflow, "last")
    assert (delay.status, delay.result) == (COMPLETED, WorkRequestResult.SUCCESS)
    assert last.status == PENDING
    # It asked for another pass at once.
    assert orchestrator._workflows_wanted.is_set()
